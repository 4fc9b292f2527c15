"""Store use cases: create, update, connect, disconnect, schedules."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from django.db import IntegrityError, connections, transaction
from django.utils import timezone
from django_q.models import Schedule

from fnac_connector.errors import Conflict, InvalidInput, ServiceError
from fnac_connector.marketplace.errors import (
    AuthError,
    BadResponse,
    MarketplaceError,
    RateLimited,
    Rejected,
    Unavailable,
)
from stores import hooks
from stores.clients import StoreTokenStore, fnac_client_for, mirakl_client_for
from stores.endpoints import LABELS, SECRET_OF_URL, URL_FIELDS, store_url_problems
from stores.models import Store, SyncRun, shop_id_owner, shop_id_taken_message
from stores.syncs import runs_mark_stale as runs_mark_stale  # the stale-run job's door calls it here
from stores.syncs import sync_run
from stores.validators import credential_problems

log = logging.getLogger(__name__)

EDITABLE_FIELDS = {
    "name", "partner_id", "shop_id", "fnac_base_url", "mirakl_base_url",
    "sync_catalogue_enabled", "sync_orders_enabled", "sync_order_status_enabled", "sync_stock_enabled",
    "sync_prices_enabled", "orders_interval_minutes", "status_interval_minutes", "catalogue_interval_minutes",
    "acceptance_mode", "uncovered_policy", "safety_stock", "price_field", "price_rounding", "shipping_mode",
    "default_carrier_code", "carrier_adapter", "sender_name", "sender_address1", "sender_zipcode",
    "sender_city", "sender_country", "sender_phone", "wms_enabled", "wms_webhook_url",
    "answer_within_hours",
    "tracking_stuck_days",
}
SECRET_FIELDS = {"fnac_key", "mirakl_api_key", "wms_secret"}
# changing these changes the quantity or price FNAC must show for every product
PUSH_FIELDS = ("safety_stock", "price_field", "price_rounding")
# changing these makes the stored connection meaningless
CONNECTION_FIELDS = {"partner_id", "shop_id", "fnac_base_url", "mirakl_base_url", "fnac_key", "mirakl_api_key"}
# where keys go and the keys themselves: changing them needs stores.change_store_credentials (checked by the doors)
CREDENTIAL_FIELDS = {"fnac_base_url", "mirakl_base_url", "wms_webhook_url", *SECRET_FIELDS}
CREDENTIALS_PERMISSION = "stores.change_store_credentials"


class ConnectFailed(ServiceError):
    code = "connect_failed"
    http_status = 400


@dataclass
class CheckResult:
    ok: bool
    message: str


def credential_fields_changed(*, store: Store | None, data: dict) -> set[str]:
    """The fields of CREDENTIAL_FIELDS that ``data`` would change: a secret given (not empty), a URL that differs
    from the stored one (from the default for a new store)."""
    changed = set()
    for field in CREDENTIAL_FIELDS & set(data):
        value = (data[field] or "").strip() if isinstance(data[field], str) else data[field]
        if field in SECRET_FIELDS:
            if value:
                changed.add(field)
            continue
        current = getattr(store, field) if store is not None and store.pk else Store._meta.get_field(field).default
        if value != (current or ""):
            changed.add(field)
    return changed


def _check_urls(values: dict) -> None:
    errors = store_url_problems(values)
    if errors:
        raise InvalidInput(" ".join(m for messages in errors.values() for m in messages), details=errors)


def _check_shop_id(shop_id: str, *, exclude_pk) -> None:
    """One store per FNAC shop: a second one would import every order and product twice."""
    owner = shop_id_owner(shop_id, exclude_pk=exclude_pk)
    if owner is not None:
        message = shop_id_taken_message(shop_id, owner)
        raise InvalidInput(message, code="shop_id_taken", details={"shop_id": [message]})


def _save_guarded(store: Store) -> None:
    """Save; the Shop ID constraint met by a concurrent save is the same clear refusal as the check before."""
    try:
        with transaction.atomic():
            store.save()
    except IntegrityError:
        _check_shop_id(store.shop_id, exclude_pk=store.pk)
        raise


def store_create(*, name: str, partner_id: str, shop_id: str, fnac_key: str = "", mirakl_api_key: str = "",
                 users=(), **options) -> Store:
    unknown = set(options) - EDITABLE_FIELDS - {"wms_secret"}
    if unknown:
        raise InvalidInput(f"unknown store fields: {', '.join(sorted(unknown))}")
    if Store.objects.filter(name=name).exists():
        raise InvalidInput(f"a store named {name!r} already exists", details={"name": ["already exists"]})
    _check_urls({f: options.get(f, Store._meta.get_field(f).default) for f in URL_FIELDS.values()})
    _check_shop_id(shop_id, exclude_pk=None)
    store = Store(name=name, partner_id=partner_id.strip(), shop_id=shop_id.strip(),
                  fnac_key=fnac_key.strip(), mirakl_api_key=mirakl_api_key.strip(), **options)
    store.full_clean(exclude=["users"])
    _save_guarded(store)
    if users:
        store.users.set(users)
    return store


def store_update(*, store: Store, data: dict) -> Store:
    unknown = set(data) - EDITABLE_FIELDS - SECRET_FIELDS
    if unknown:
        raise InvalidInput(f"unknown or read-only store fields: {', '.join(sorted(unknown))}")
    stored = Store.objects.filter(pk=store.pk).values(*SECRET_OF_URL).first() if store.pk else None
    moved = [f for f in SECRET_OF_URL if stored is not None and f in data
             and (data[f] or "").strip() != (stored[f] or "")]
    _check_urls({f: data[f] for f in moved})  # a URL kept as it is is checked again before each call
    for field, value in data.items():
        if field in SECRET_FIELDS and not value:
            continue  # an empty secret in a form means "keep the stored one"
        setattr(store, field, value.strip() if isinstance(value, str) and field != "name" else value)
    cleared = []
    for url_field in moved:
        # a key is never sent to a host it was not entered for: the new host gets only keys entered with it
        secret = SECRET_OF_URL[url_field]
        if not (data.get(secret) or "").strip():
            setattr(store, secret, "")
            cleared.append(url_field)
        if url_field == "fnac_base_url":
            store.fnac_token, store.fnac_token_validity = "", None
    _check_shop_id(store.shop_id, exclude_pk=store.pk)
    store.full_clean(exclude=["users"])
    touched_connection = bool(CONNECTION_FIELDS & {f for f, v in data.items() if v not in ("", None)})
    before = Store.objects.filter(pk=store.pk).values(*PUSH_FIELDS).first() if store.pk else None
    with transaction.atomic():
        _save_guarded(store)
        if before and any(before[f] != getattr(store, f) for f in PUSH_FIELDS):
            # what FNAC may sell or the price it shows changed for every product: push them all again
            hooks.offers_changed(store_id=store.pk, product_ids=None, reason="store_settings")
        if touched_connection and store.status == Store.Status.CONNECTED:
            # credentials or endpoints changed: the store must be connected again to prove them
            store.status = Store.Status.NOT_CONNECTED
            store.last_error = "Connection settings changed: connect again to validate them."
            store.fnac_token, store.fnac_token_validity = "", None
            store.save(update_fields=["status", "last_error", "fnac_token", "fnac_token_validity"])
            transaction.on_commit(lambda: store_schedules_remove(store=store))
        else:
            transaction.on_commit(lambda: store.is_connected and store_schedules_ensure(store=store))
        if cleared:
            store.last_error = " ".join(
                f"The {LABELS[kind]} changed: the stored {Store._meta.get_field(SECRET_OF_URL[field]).verbose_name} "
                "was cleared so it is never sent to the new address; enter it again"
                + (" and connect." if kind != "wms" else ".")
                for kind, field in URL_FIELDS.items() if field in cleared)
            store.save(update_fields=["last_error"])
    return store


def _fnac_check(store: Store, key: str) -> CheckResult:
    if not (store.partner_id and store.shop_id):
        return CheckResult(False, "FNAC: Partner ID, Shop ID and Key are all required.")
    if not key:
        return CheckResult(False, "FNAC: no key is stored (a key is cleared when the FNAC API URL changes): "
                                  "enter the FNAC key and connect again.")
    token_store = StoreTokenStore(store)
    try:
        client = fnac_client_for(store, key=key, token_store=_MemoryTokenStore())
        token = client.auth()
    except AuthError as exc:
        code = f" ({exc.code})" if getattr(exc, "code", "") else ""
        return CheckResult(False, f"FNAC refused the credentials{code}: {exc.message or exc}. "
                                  "Check the Partner ID, Shop ID and Key.")
    except (Unavailable, RateLimited) as exc:
        return CheckResult(False, f"FNAC is unreachable at {store.fnac_base_url}: {exc.message or exc}")
    except BadResponse as exc:
        return CheckResult(False, f"FNAC answered something that is not its API at {store.fnac_base_url}: "
                                  f"{exc.message or exc}. Check the FNAC API URL.")
    except Rejected as exc:
        return CheckResult(False, f"FNAC rejected the authentication: {exc}")
    except MarketplaceError as exc:
        return CheckResult(False, f"FNAC: {exc}")
    token_store.set(token)
    return CheckResult(True, "FNAC credentials accepted.")


def _mirakl_check(store: Store, key: str) -> tuple[CheckResult, str]:
    if not key:
        return CheckResult(False, "Mirakl: no API key is stored (a key is cleared when the Mirakl API URL "
                                  "changes): enter the Mirakl API key and connect again."), ""
    try:
        client = mirakl_client_for(store, api_key=key)
        account = client.account()
    except AuthError as exc:
        return CheckResult(False, f"Mirakl refused the API key (HTTP {exc.status_code or 401}). "
                                  "Check the Mirakl API key."), ""
    except (Unavailable, RateLimited) as exc:
        return CheckResult(False, f"Mirakl is unreachable at {store.mirakl_base_url}: {exc.message or exc}"), ""
    except BadResponse as exc:
        return CheckResult(False, f"Mirakl answered something that is not its API at {store.mirakl_base_url}: "
                                  f"{exc.message or exc}. Check the Mirakl API URL."), ""
    except MarketplaceError as exc:
        return CheckResult(False, f"Mirakl: {exc}"), ""
    if account.shop_state and account.shop_state.upper() not in ("OPEN",):
        return CheckResult(False, f"Mirakl: the shop {account.shop_name!r} is {account.shop_state}."), ""
    return CheckResult(True, "Mirakl API key accepted."), account.shop_name


class _MemoryTokenStore:
    def __init__(self):
        self.token = None

    def get(self):
        return self.token

    def set(self, token):
        self.token = token


def store_connect(*, store: Store, fnac_key: str | None = None, mirakl_api_key: str | None = None,
                  trigger: str = "admin") -> Store:
    """Validate both credential sets live; connected only when both pass. Keys given here replace the
    stored ones only when they pass. Raises ConnectFailed naming which check failed and why."""
    fnac_key = (fnac_key or "").strip() or store.fnac_key
    mirakl_api_key = (mirakl_api_key or "").strip() or store.mirakl_api_key
    problems = credential_problems({"partner_id": store.partner_id, "shop_id": store.shop_id,
                                    "fnac_key": fnac_key, "mirakl_api_key": mirakl_api_key})
    if problems:  # nothing is sent: such a value breaks the XML or the HTTP header it travels in
        raise ConnectFailed("Cannot connect: " + "; ".join(f"{f}: {m[0]}" for f, m in problems.items()),
                            details=problems)
    with sync_run(store=store, kind=SyncRun.Kind.CONNECT, trigger=trigger) as run:
        fnac = _fnac_check(store, fnac_key)
        mirakl, shop_name = _mirakl_check(store, mirakl_api_key)
        run.count("fnac_ok" if fnac.ok else "fnac_failed")
        run.count("mirakl_ok" if mirakl.ok else "mirakl_failed")
        for name, check in (("fnac", fnac), ("mirakl", mirakl)):
            if not check.ok:
                run.issue(f"{name}_check_failed", check.message, reference=name)
        if fnac.ok and mirakl.ok:
            run.note(" ".join(c.message for c in (fnac, mirakl)))
        else:  # a refused connect is a failed run, with the reason first (not "succeeded with errors")
            run.fail(" ".join(c.message for c in (fnac, mirakl) if not c.ok)
                     + "".join(f" ({c.message})" for c in (fnac, mirakl) if c.ok))

    failures = {name: check.message for name, check in (("fnac", fnac), ("mirakl", mirakl)) if not check.ok}
    now = timezone.now()
    with transaction.atomic():
        store = Store.objects.select_for_update().get(pk=store.pk)
        if fnac.ok:
            store.fnac_key = fnac_key
        if mirakl.ok:
            store.mirakl_api_key = mirakl_api_key
            store.mirakl_shop_name = shop_name
        if failures:
            store.status = Store.Status.FAILED
            store.last_error = " ".join(failures.values())
            store.save()
        else:
            was_connected = store.status == Store.Status.CONNECTED
            store.status = Store.Status.CONNECTED
            store.last_error = ""
            store.connected_at = now
            store.save()
            transaction.on_commit(lambda: _after_connect(store, trigger, first=not was_connected))
    if failures:
        log.info("store %s connect failed: %s", store.pk, ", ".join(failures))
        raise ConnectFailed(store.last_error, details=failures)
    log.info("store %s connected", store.pk)
    return store


def _after_connect(store: Store, trigger: str, first: bool) -> None:
    store_schedules_ensure(store=store)
    global_schedules_ensure()
    for hook in hooks.connect_hooks():
        try:
            hook(store, trigger)
        except Exception:  # one capability failing must not hide the others' initial imports
            log.exception("connect hook %s failed for store %s", getattr(hook, "__name__", hook), store.pk)


def store_disconnect(*, store: Store, reason: str = "") -> Store:
    """Stop every periodic job of a connected store and forget its FNAC token; ``reason`` (why, in the words of
    who did it) is kept on the store. Orders, products and settings stay; connecting again resumes."""
    store.refresh_from_db()
    if store.status != Store.Status.CONNECTED:
        raise Conflict(f"store {store.name!r} is not connected (status: {store.get_status_display()})")
    reason = (reason or "").strip()
    if len(reason) > 1000:
        raise InvalidInput("The reason is longer than 1,000 characters.", details={"reason": ["too long"]})
    with transaction.atomic():
        store.status = Store.Status.DISCONNECTED
        store.disconnected_at = timezone.now()
        store.disconnect_reason = reason
        store.fnac_token, store.fnac_token_validity = "", None
        store.save(update_fields=["status", "disconnected_at", "disconnect_reason", "fnac_token",
                                  "fnac_token_validity", "updated_at"])
        transaction.on_commit(lambda: store_schedules_remove(store=store))
    return store


def first_run_after(store_id: int, job: str, minutes: int) -> dt.timedelta:
    """When a new periodic job first runs: between a quarter of its interval and one interval from now, at a place
    fixed by the store and the job. Stores connected together (a bulk onboarding, 200 stores restored at once) then
    do not all fire at the same minute forever after; ``bench/scale.py`` measured what that burst cost (issue 14).
    Never sooner than a quarter interval: the connect hooks have just started the initial imports."""
    digest = hashlib.blake2b(f"{store_id}:{job}".encode(), digest_size=8).digest()
    place = int.from_bytes(digest, "big") / 2**64  # in [0, 1), the same for this store and job on every machine
    return dt.timedelta(minutes=minutes * (0.25 + 0.75 * place))


def store_schedules_ensure(*, store: Store) -> list[Schedule]:
    """Create or update the periodic jobs of a connected store; drop the ones switched off. Idempotent. A new
    job's first run is spread over its interval (:func:`first_run_after`)."""
    result = []
    for spec in hooks.schedule_specs():
        name = hooks.schedule_name(store.pk, spec.job)
        if not spec.enabled(store):
            Schedule.objects.filter(name=name).delete()
            continue
        minutes = max(1, int(spec.minutes(store)))
        schedule, created = Schedule.objects.get_or_create(
            name=name,
            defaults=dict(func=spec.func, args=repr(store.pk), schedule_type=Schedule.MINUTES, minutes=minutes,
                          repeats=-1, next_run=timezone.now() + first_run_after(store.pk, spec.job, minutes)),
        )
        if not created and (schedule.minutes != minutes or schedule.func != spec.func):
            schedule.minutes, schedule.func, schedule.args = minutes, spec.func, repr(store.pk)
            schedule.save(update_fields=["minutes", "func", "args"])
        result.append(schedule)
    return result


def store_schedules_remove(*, store: Store) -> int:
    deleted, _ = Schedule.objects.filter(name__startswith=f"store:{store.pk}:").delete()
    return deleted


def global_schedules_ensure(*, using: str = "default") -> list[Schedule]:
    """Create or update the installation-wide periodic jobs (``hooks.global_schedule``). Idempotent: run after
    every ``migrate`` and on each connect. Does nothing while django-q's tables do not exist yet."""
    if Schedule._meta.db_table not in connections[using].introspection.table_names():
        return []
    result = []
    for spec in hooks.global_schedule_specs():
        minutes = max(1, int(spec.minutes()))
        schedule, created = Schedule.objects.using(using).get_or_create(
            name=hooks.global_schedule_name(spec.job),
            defaults=dict(func=spec.func, args="", schedule_type=Schedule.MINUTES, minutes=minutes, repeats=-1,
                          next_run=timezone.now() + dt.timedelta(minutes=minutes)),
        )
        if not created and (schedule.minutes != minutes or schedule.func != spec.func
                            or schedule.schedule_type != Schedule.MINUTES or schedule.repeats != -1):
            schedule.minutes, schedule.func, schedule.schedule_type, schedule.repeats = \
                minutes, spec.func, Schedule.MINUTES, -1
            schedule.save(using=using, update_fields=["minutes", "func", "schedule_type", "repeats"])
        result.append(schedule)
    return result


def global_schedules_on_migrate(sender, using: str = "default", **kwargs) -> None:
    """``post_migrate`` receiver (connected in ``StoresConfig.ready``)."""
    global_schedules_ensure(using=using)
