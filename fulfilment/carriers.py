"""FNAC carrier codes (carriers_query), kept per store: seeded on connect, refreshed on demand."""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.errors import MarketplaceError
from fnac_connector.tasks import enqueue
from fulfilment.models import Carrier
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import sync_run


def carriers_refresh(*, store: Store, trigger: str = "", client=None) -> SyncRun:
    """Upsert every carrier FNAC lists; carriers it no longer lists stay, marked inactive."""
    if not store.is_connected:
        raise Conflict(f"Store {store.name!r} is not connected (status: {store.get_status_display()}); "
                       "connect it before refreshing carriers.")
    with sync_run(store=store, kind=SyncRun.Kind.CARRIERS, trigger=trigger) as rec:
        client = client or fnac_client_for(store)
        try:
            listed = client.carriers_query()
        except MarketplaceError as exc:
            raise MarketplaceFailure(f"FNAC carriers_query failed for store {store.name!r}: {exc}") from exc
        now = timezone.now()
        rows = {c.code: Carrier(store=store, code=c.code[:100], name=c.name[:200], is_global=c.is_global,
                                active=True, refreshed_at=now) for c in listed}
        with transaction.atomic():
            Carrier.objects.bulk_create(list(rows.values()), batch_size=500, update_conflicts=True,
                                        unique_fields=["store", "code"],
                                        update_fields=["name", "is_global", "active", "refreshed_at"])
            gone = Carrier.objects.filter(store=store, active=True).exclude(code__in=list(rows)).update(
                active=False, refreshed_at=now)
        rec.set_total(len(rows))
        rec.advance(len(rows), counts={"carriers": len(rows), "no_longer_listed": gone})
        rec.note(f"{len(rows)} carriers listed by FNAC")
    return rec.run


def carriers_refresh_request(*, store: Store, trigger: str = "") -> None:
    """Queue a refresh (the connect hook and the admin use it)."""
    enqueue("fulfilment.tasks.carriers_refresh_task", store.pk, trigger=trigger,
            group=f"store:{store.pk}:carriers", task_name=f"carriers store {store.pk}")


def carriers_for_store(store: Store) -> QuerySet[Carrier]:
    return Carrier.objects.filter(store=store, active=True).order_by("code")


FREE_TEXT_HINT = ("for a carrier FNAC does not list, send its name as free text on purpose (ship form: \"Other "
                  "carrier\"; API 'carrier_free_text': true; command --free-text-carrier; self ship only)")


def carrier_code_validate(*, store: Store, code: str) -> str:
    """The FNAC carrier code as FNAC spells it, or InvalidInput naming the codes FNAC lists.

    FNAC itself takes any text in ``tracking_company`` (its sandbox accepted "Track Inc."), so a mistyped code
    would be accepted silently and the buyer would get no carrier; this is the product's own check, made before
    anything moves."""
    code = (code or "").strip()
    known = list(carriers_for_store(store).values_list("code", flat=True))
    if not known:
        raise InvalidInput(f"Store {store.name!r} has no FNAC carrier list yet: refresh the carriers "
                           "(admin action 'Refresh FNAC carriers' or `manage.py refresh_carriers`).",
                           details={"carrier_code": ["no carrier list"]})
    for candidate in known:
        if candidate.upper() == code.upper():
            return candidate
    raise InvalidInput(f"Carrier code {code!r} is not one FNAC lists for store {store.name!r}; "
                       f"use one of: {', '.join(known)} ({FREE_TEXT_HINT}).",
                       details={"carrier_code": [f"unknown code {code!r}"]})


def carrier_free_text_validate(*, store: Store, text: str) -> str:
    """A carrier the seller typed as free text on purpose: sent to FNAC as typed (at most 100 characters), except
    that a code or name FNAC lists becomes FNAC's code (so FNAC can link the tracking)."""
    text = " ".join((text or "").split())
    if not text:
        raise InvalidInput("Type the carrier's name to send it as free text.",
                           details={"carrier_code": ["empty free-text carrier"]})
    if len(text) > 100:
        raise InvalidInput(f"Carrier name {text[:20]!r}... is longer than FNAC's 100 characters.",
                           details={"carrier_code": ["at most 100 characters"]})
    for code, name in carriers_for_store(store).values_list("code", "name"):
        if text.upper() in (code.upper(), name.upper()):
            return code
    return text
