"""Offers reconciliation: what FNAC shows against what the product believes was pushed, and repair of the drift.

A push can land without the connector knowing (an answer lost after the write), and a value can change on FNAC
behind the connector's back. Per store, a periodic job reads FNAC's offers (``offers_query`` by Modified date
since the last reconciliation, with an overlap; every offer once a day or on demand) and compares each offer's
quantity and price with the product's last pushed values (``pushed_quantity``, ``pushed_price``). A product
whose push is still under way (a pending or claimed outbox row) or finished after the page was read is not
judged; one never pushed is left to the daily full push. A drifted SKU is repaired by recording a forced
change in the outbox (``inventory.outbox.record_changes``): the normal drain sends its current absolute values.
Each pass is a sync run (``offers_reconcile``) with counts (checked, drifted, repaired...) and one issue per
drifted SKU saying what FNAC showed and what was pushed.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalogue import rules
from catalogue.models import Product
from fnac_connector.errors import Conflict
from fnac_connector.marketplace.fnac.types import Offer
from fnac_connector.tasks import enqueue
from inventory.models import OfferChange
from inventory.outbox import record_changes
from inventory.push import PUSHABLE_LISTING_STATES
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import RunRecorder, cursor_get, cursor_set, run_create, store_lock, sync_run

log = logging.getLogger(__name__)

LOCK_NAME = "offers_reconcile"
CURSOR_MODIFIED = "offers_reconcile"  # Modified date of the last complete pass
CURSOR_FULL = "offers_reconcile_full"  # start of the last complete pass over every offer
PAGE_SIZE = 1000
REASON = "reconcile_drift"


def interval_minutes() -> int:
    return int(getattr(settings, "INVENTORY_RECONCILE_MINUTES", 15))


def _overlap() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "INVENTORY_RECONCILE_OVERLAP_SECONDS", 600)))


def _full_every() -> dt.timedelta:
    return dt.timedelta(hours=float(getattr(settings, "INVENTORY_RECONCILE_FULL_HOURS", 24)))


@dataclass
class _Drift:
    product_id: int
    sku: str
    fnac_quantity: int | None
    fnac_price: object
    pushed_quantity: int | None
    pushed_price: object

    def describe(self) -> str:
        parts = []
        if self.fnac_quantity != self.pushed_quantity:
            parts.append(f"quantity {_show(self.fnac_quantity)} (pushed {_show(self.pushed_quantity)})")
        if self.fnac_price != self.pushed_price:
            parts.append(f"price {_show(self.fnac_price)} (pushed {_show(self.pushed_price)})")
        return ", ".join(parts)


def _show(value) -> str:
    return "none" if value is None else str(value)


# ================================================================ doors' entry points
def offers_reconcile_request(*, store: Store, full: bool = False, trigger: str = "") -> SyncRun:
    """Queue a reconciliation; the run exists at once (a door answers with its id), a worker does the work."""
    if not store.is_connected:
        raise Conflict(f"store {store.name!r} is not connected: connect it before reconciling its offers")
    with transaction.atomic():
        run = run_create(store=store, kind=SyncRun.Kind.OFFERS_RECONCILE, trigger=trigger, params={"full": full})
        enqueue("inventory.tasks.offers_reconcile_task", store.pk, full=full, run_id=run.pk, trigger=trigger,
                task_name=f"offers reconcile {store.pk}")
    return run


def offers_reconcile(*, store: Store, full: bool = False, trigger: str = "", run: SyncRun | None = None,
                     client=None) -> SyncRun:
    """Compare FNAC's offers with what each product believes was pushed; queue a forced push of the current
    values for every drifted SKU. ``full``: every offer (also when the last full pass is older than
    ``INVENTORY_RECONCILE_FULL_HOURS`` or there was none); otherwise offers modified since the last pass minus an
    overlap. Raises LockBusy when a reconciliation of this store is running; Conflict when it is not connected."""
    store = Store.objects.get(pk=store.pk)
    with sync_run(store=store, kind=SyncRun.Kind.OFFERS_RECONCILE, trigger=trigger, run=run,
                  params={"full": full}) as rec:
        if not store.is_connected:
            raise Conflict(f"store {store.name!r} is not connected")
        if not (store.sync_stock_enabled or store.sync_prices_enabled):
            rec.note("Stock push and price push are both switched off for this store: nothing to compare.")
            return rec.run
        with store_lock(store=store, name=LOCK_NAME):
            started = timezone.now()  # before reading: the cursor never runs ahead of what was read
            cursor = cursor_get(store=store, name=CURSOR_MODIFIED)
            last_full = cursor_get(store=store, name=CURSOR_FULL)
            whole = full or cursor is None or last_full is None or started - last_full > _full_every()
            since = None if whole else cursor - _overlap()
            rec.run.params = {"full": whole, **({"since": since.isoformat()} if since else {})}
            SyncRun.objects.filter(pk=rec.run.pk).update(params=rec.run.params)
            own_client = client is None
            client = client or fnac_client_for(store)
            try:
                pages = client.offer_pages(page_size=PAGE_SIZE, modified_since=since)
                first = True
                while True:
                    read_at = timezone.now()  # FNAC's answer shows the offers as they were at or after this
                    page = next(pages, None)
                    if page is None:
                        break
                    if first:
                        rec.set_total(page.nb_total_result)
                        first = False
                    _reconcile_page(store, rec, page.offers, read_at=read_at)
                    rec.advance(len(page.offers))
            finally:
                if own_client:
                    client.close()
            cursor_set(store=store, name=CURSOR_MODIFIED, position=started)
            if whole:
                cursor_set(store=store, name=CURSOR_FULL, position=started)
            for key in ("checked", "drifted", "repaired"):
                rec.counts.setdefault(key, 0)
            rec.note(_summary(rec, since))
    return rec.run


def _summary(rec: RunRecorder, since: dt.datetime | None) -> str:
    c = rec.counts
    scope = f"offers modified on FNAC since {since:%Y-%m-%d %H:%M}" if since else "every offer on FNAC"
    text = (f"Read {rec.run.processed} {scope}: {c.get('checked', 0)} compared with the last push, "
            f"{c.get('drifted', 0)} drifted, {c.get('repaired', 0)} queued for a push of their current values")
    skipped = [f"{c[k]} {label}" for k, label in (("in_flight", "with a push under way"),
                                                   ("never_pushed", "never pushed"),
                                                   ("not_pushable", "not pushable"),
                                                   ("unknown_sku", "unknown in the OMS")) if c.get(k)]
    return text + (f"; not judged: {', '.join(skipped)}." if skipped else ".")


# ================================================================ one page
def _pick(offers: list[Offer]) -> dict[str, Offer]:
    """One offer per SKU (a SKU listed twice: the catalogue import's rule, the smallest offer_fnac_id)."""
    chosen: dict[str, Offer] = {}
    for offer in offers:
        sku = (offer.offer_seller_id or "").strip()
        if not sku:
            continue
        other = chosen.get(sku)
        if other is None or rules.duplicate_winner_key(offer.offer_fnac_id) < rules.duplicate_winner_key(
                other.offer_fnac_id):
            chosen[sku] = offer
    return chosen


def _reconcile_page(store: Store, rec: RunRecorder, offers: list[Offer], *, read_at: dt.datetime) -> None:
    by_sku = _pick(offers)
    if not by_sku:
        return
    products = list(Product.objects.filter(store=store, sku__in=list(by_sku)).only(
        "id", "sku", "listing_state", "fnac_offer_id", "removed_on_fnac", "pushed_quantity", "pushed_price",
        "pushed_at"))
    # read after the products: a change committed in between shows here as a pending row
    in_flight = set(OfferChange.objects.filter(product_id__in=[p.pk for p in products]).filter(
        Q(version__gt=F("done_version")) | Q(claim_token__gt="")).values_list("product_id", flat=True))
    rec.count("unknown_sku", len(by_sku) - len(products))
    drifts: list[_Drift] = []
    for product in products:
        offer = by_sku[product.sku]
        if not ((product.listing_state in PUSHABLE_LISTING_STATES or product.fnac_offer_id)
                and not product.removed_on_fnac):
            rec.count("not_pushable")
            continue
        if product.pk in in_flight or (product.pushed_at is not None and product.pushed_at >= read_at):
            rec.count("in_flight")  # its push will set FNAC, or FNAC was read before the push answered
            continue
        if product.pushed_at is None:
            rec.count("never_pushed")  # the daily full push sends it
            continue
        rec.count("checked")
        quantity_drift = store.sync_stock_enabled and product.pushed_quantity is not None \
            and offer.quantity != product.pushed_quantity
        price_drift = store.sync_prices_enabled and product.pushed_price is not None \
            and offer.price != product.pushed_price
        if quantity_drift or price_drift:
            drifts.append(_Drift(product.pk, product.sku,
                                 offer.quantity if quantity_drift else product.pushed_quantity,
                                 offer.price if price_drift else product.pushed_price,
                                 product.pushed_quantity, product.pushed_price))
    if not drifts:
        return
    _repair(store, rec, drifts)


def _repair(store: Store, rec: RunRecorder, drifts: list[_Drift]) -> None:
    """Record what FNAC showed and queue a forced push of each drifted product's current values (one
    transaction: the outbox rows and the products' messages move together)."""
    now = timezone.now()
    with transaction.atomic():
        for drift in drifts:
            Product.objects.filter(pk=drift.product_id).update(
                fnac_quantity=drift.fnac_quantity, fnac_price=drift.fnac_price, fnac_updated_at=now,
                push_message=f"Drift found by the offers reconciliation: FNAC showed {drift.describe()}; "
                             "the current values are pushed again."[:2000])
        record_changes(store_id=store.pk, product_ids=[d.product_id for d in drifts], reason=REASON, force=True)
    for drift in drifts:
        rec.issue("offer_drift", f"FNAC showed {drift.describe()}: the current values are pushed again.",
                  reference=drift.sku, details={
                      "fnac_quantity": drift.fnac_quantity, "fnac_price": _show(drift.fnac_price),
                      "pushed_quantity": drift.pushed_quantity, "pushed_price": _show(drift.pushed_price)})
    rec.count("drifted", len(drifts))
    rec.count("repaired", len(drifts))
    log.warning("offers reconciliation of store %s: %d drifted SKU(s) queued for a push", store.pk, len(drifts))
