"""Store use cases: create, update, connect, disconnect, schedules."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
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
from stores.models import Store, SyncRun
from stores.syncs import sync_run

log = logging.getLogger(__name__)

EDITABLE_FIELDS = {
    "name", "partner_id", "shop_id", "fnac_base_url", "mirakl_base_url",
    "sync_catalogue_enabled", "sync_orders_enabled", "sync_order_status_enabled", "sync_stock_enabled",
    "sync_prices_enabled", "orders_interval_minutes", "status_interval_minutes", "catalogue_interval_minutes",
    "acceptance_mode", "uncovered_policy", "safety_stock", "price_field", "price_rounding", "shipping_mode",
    "default_carrier_code", "carrier_adapter", "sender_name", "sender_address1", "sender_zipcode",
    "sender_city", "sender_country", "sender_phone", "wms_enabled", "wms_webhook_url",
}
SECRET_FIELDS = {"fnac_key", "mirakl_api_key", "wms_secret"}
# changing these changes the quantity or price FNAC must show for every product
PUSH_FIELDS = ("safety_stock", "price_field", "price_rounding")
# changing these makes the stored connection meaningless
CONNECTION_FIELDS = {"partner_id", "shop_id", "fnac_base_url", "mirakl_base_url", "fnac_key", "mirakl_api_key"}


class ConnectFailed(ServiceError):
    code = "connect_failed"
    http_status = 400


@dataclass
class CheckResult:
    ok: bool
    message: str


def store_create(*, name: str, partner_id: str, shop_id: str, fnac_key: str = "", mirakl_api_key: str = "",
                 users=(), **options) -> Store:
    unknown = set(options) - EDITABLE_FIELDS - {"wms_secret"}
    if unknown:
        raise InvalidInput(f"unknown store fields: {', '.join(sorted(unknown))}")
    if Store.objects.filter(name=name).exists():
        raise InvalidInput(f"a store named {name!r} already exists", details={"name": ["already exists"]})
    store = Store(name=name, partner_id=partner_id.strip(), shop_id=shop_id.strip(),
                  fnac_key=fnac_key.strip(), mirakl_api_key=mirakl_api_key.strip(), **options)
    store.full_clean(exclude=["users"])
    store.save()
    if users:
        store.users.set(users)
    return store


def store_update(*, store: Store, data: dict) -> Store:
    unknown = set(data) - EDITABLE_FIELDS - SECRET_FIELDS
    if unknown:
        raise InvalidInput(f"unknown or read-only store fields: {', '.join(sorted(unknown))}")
    for field, value in data.items():
        if field in SECRET_FIELDS and not value:
            continue  # an empty secret in a form means "keep the stored one"
        setattr(store, field, value.strip() if isinstance(value, str) and field != "name" else value)
    store.full_clean(exclude=["users"])
    touched_connection = bool(CONNECTION_FIELDS & {f for f, v in data.items() if v not in ("", None)})
    before = Store.objects.filter(pk=store.pk).values(*PUSH_FIELDS).first() if store.pk else None
    with transaction.atomic():
        store.save()
        if before and any(before[f] != getattr(store, f) for f in PUSH_FIELDS):
            # what FNAC may sell or the price it shows changed for every product: push them all again
            from catalogue.models import Product
            from inventory.services import products_mark_changed

            ids = list(Product.objects.filter(store=store, is_active=True).values_list("id", flat=True))
            products_mark_changed(store=store, product_ids=ids, reason="store_settings")
        if touched_connection and store.status == Store.Status.CONNECTED:
            # credentials or endpoints changed: the store must be connected again to prove them
            store.status = Store.Status.NOT_CONNECTED
            store.last_error = "Connection settings changed: connect again to validate them."
            store.fnac_token, store.fnac_token_validity = "", None
            store.save(update_fields=["status", "last_error", "fnac_token", "fnac_token_validity"])
            transaction.on_commit(lambda: store_schedules_remove(store=store))
        else:
            transaction.on_commit(lambda: store.is_connected and store_schedules_ensure(store=store))
    return store


def _fnac_check(store: Store, key: str) -> CheckResult:
    if not (store.partner_id and store.shop_id and key):
        return CheckResult(False, "FNAC: Partner ID, Shop ID and Key are all required.")
    token_store = StoreTokenStore(store)
    client = fnac_client_for(store, key=key, token_store=_MemoryTokenStore())
    try:
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
        return CheckResult(False, "Mirakl: the API key is required."), ""
    client = mirakl_client_for(store, api_key=key)
    try:
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
    with sync_run(store=store, kind=SyncRun.Kind.CONNECT, trigger=trigger) as run:
        fnac = _fnac_check(store, fnac_key)
        mirakl, shop_name = _mirakl_check(store, mirakl_api_key)
        run.count("fnac_ok" if fnac.ok else "fnac_failed")
        run.count("mirakl_ok" if mirakl.ok else "mirakl_failed")
        for name, check in (("fnac", fnac), ("mirakl", mirakl)):
            if not check.ok:
                run.issue(f"{name}_check_failed", check.message, reference=name)
        run.note(" ".join(c.message for c in (fnac, mirakl)))

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
    for hook in hooks.connect_hooks():
        try:
            hook(store, trigger)
        except Exception:  # one capability failing must not hide the others' initial imports
            log.exception("connect hook %s failed for store %s", getattr(hook, "__name__", hook), store.pk)


def store_disconnect(*, store: Store) -> Store:
    store.refresh_from_db()
    if store.status != Store.Status.CONNECTED:
        raise Conflict(f"store {store.name!r} is not connected (status: {store.get_status_display()})")
    with transaction.atomic():
        store.status = Store.Status.DISCONNECTED
        store.disconnected_at = timezone.now()
        store.fnac_token, store.fnac_token_validity = "", None
        store.save(update_fields=["status", "disconnected_at", "fnac_token", "fnac_token_validity", "updated_at"])
        transaction.on_commit(lambda: store_schedules_remove(store=store))
    return store


def store_schedules_ensure(*, store: Store) -> list[Schedule]:
    """Create or update the periodic jobs of a connected store; drop the ones switched off. Idempotent."""
    result = []
    for spec in hooks.schedule_specs():
        name = hooks.schedule_name(store.pk, spec.job)
        if not spec.enabled(store):
            Schedule.objects.filter(name=name).delete()
            continue
        minutes = max(1, int(spec.minutes(store)))
        schedule, created = Schedule.objects.get_or_create(
            name=name,
            # first run one interval from now: the connect hooks have just started the initial imports
            defaults=dict(func=spec.func, args=repr(store.pk), schedule_type=Schedule.MINUTES, minutes=minutes,
                          repeats=-1, next_run=timezone.now() + dt.timedelta(minutes=minutes)),
        )
        if not created and (schedule.minutes != minutes or schedule.func != spec.func):
            schedule.minutes, schedule.func, schedule.args = minutes, spec.func, repr(store.pk)
            schedule.save(update_fields=["minutes", "func", "args"])
        result.append(schedule)
    return result


def store_schedules_remove(*, store: Store) -> int:
    deleted, _ = Schedule.objects.filter(name__startswith=f"store:{store.pk}:").delete()
    return deleted
