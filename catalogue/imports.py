"""FNAC → OMS: the catalogue import (every offer, paged and streamed) and the Mirakl reference data
(categories H11, attributes PM11, value lists VL11).

Rules:
- one product per (store, SKU), upserted in bulk, one transaction per page of up to 1,000 offers;
- on the FIRST import of a SKU the OMS takes FNAC's price and quantity; afterwards the OMS owns price and
  stock: a later import stores FNAC's values in ``fnac_price``/``fnac_quantity`` and sets ``differs_from_fnac``
  instead of overwriting (nothing is pushed back: values that came from FNAC never enqueue a push);
- duplicate SKUs: the offer with the smallest ``offer_fnac_id`` wins (see rules.duplicate_winner_key), every
  other one is reported on the run (code ``duplicate_sku``) with both offers' details;
- a full import flags the products FNAC no longer returns (``removed_on_fnac``, listing state delisted);
- the periodic refresh reads only the offers modified since its cursor (date type Modified), with an overlap,
  and does a full pass when the last one is older than ``CATALOGUE_FULL_SWEEP_HOURS``.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalogue import rules
from catalogue.models import Category, CategoryAttribute, Product, ValuesList, ValuesListValue
from fnac_connector.errors import Conflict
from fnac_connector.marketplace.errors import TooManyPages
from fnac_connector.marketplace.fnac.types import Offer
from fnac_connector.tasks import enqueue
from stores import hooks
from stores.clients import fnac_client_for, mirakl_client_for
from stores.models import Store, SyncRun
from stores.syncs import RunRecorder, cursor_get, cursor_set, lock_renew, run_create, store_lock, sync_run

log = logging.getLogger(__name__)

LOCK_NAME = "catalogue"
CURSOR_MODIFIED = "catalogue_modified"
CURSOR_FULL = "catalogue_full"
LS = Product.ListingState

# what an import may write on an existing product (price, sale_price, stock_* and is_active are the OMS's)
IMPORT_UPDATE_FIELDS = [
    "ean", "name", "description", "image_url", "images", "condition", "fnac_product_id", "fnac_offer_id",
    "product_url", "fnac_price", "fnac_quantity", "differs_from_fnac", "removed_on_fnac", "listing_state",
    "listing_message", "seen_in_run", "fnac_updated_at", "updated_at",
]
_EXISTING_FIELDS = ["id", "sku", "fnac_offer_id", "fnac_product_id", "name", "ean", "condition", "price",
                    "sale_price", "stock_on_hand", "stock_reserved", "is_active", "listing_state",
                    "listing_message", "images", "seen_in_run", "imported_at", "fnac_price", "fnac_quantity"]


def _page_size() -> int:
    return int(getattr(settings, "CATALOGUE_PAGE_SIZE", 1000))


def _overlap() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "CATALOGUE_CURSOR_OVERLAP_SECONDS", 600)))


def _full_sweep_every() -> dt.timedelta:
    return dt.timedelta(hours=float(getattr(settings, "CATALOGUE_FULL_SWEEP_HOURS", 24)))


# ================================================================ doors' entry points
def catalogue_sync_request(*, store: Store, full: bool = True, trigger: str = "") -> SyncRun:
    """Queue a catalogue sync; the run exists at once (doors answer with its id), a worker does the work."""
    if not store.is_connected:
        raise Conflict(f"Store {store.name!r} is not connected (status: {store.get_status_display()}); "
                       "connect it before syncing the catalogue.")
    kind = SyncRun.Kind.CATALOGUE_IMPORT if full else SyncRun.Kind.CATALOGUE_REFRESH
    with transaction.atomic():
        run = run_create(store=store, kind=kind, trigger=trigger, params={"full": full})
        enqueue("catalogue.tasks.catalogue_sync_task", store.pk, full=full, run_id=run.pk, trigger=trigger,
                group=f"store:{store.pk}:catalogue", task_name=f"catalogue store {store.pk} run {run.pk}")
    return run


def catalogue_sync(*, store: Store, full: bool = False, trigger: str = "", run: SyncRun | None = None) -> SyncRun:
    """Import the catalogue of one store now. ``full``: categories too, every offer, removed offers flagged;
    otherwise only offers modified since the last sync (a full pass when there was none or it is too old).
    Raises LockBusy when another sync of this store's catalogue is running."""
    with store_lock(store=store, name=LOCK_NAME) as token:
        if full:
            try:
                categories_sync(store=store, trigger=trigger)
            except Exception:  # recorded on its own run; the offers are still imported
                log.exception("categories sync failed for store %s", store.pk)
        started = timezone.now()
        last_full = cursor_get(store=store, name=CURSOR_FULL)
        cursor = cursor_get(store=store, name=CURSOR_MODIFIED)
        whole = full or cursor is None or last_full is None or started - last_full > _full_sweep_every()
        kind = SyncRun.Kind.CATALOGUE_IMPORT if whole else SyncRun.Kind.CATALOGUE_REFRESH
        if run is not None and run.kind != kind:
            SyncRun.objects.filter(pk=run.pk).update(kind=kind)
            run.kind = kind
        with sync_run(store=store, kind=kind, trigger=trigger, run=run,
                      params={"full": whole}) as recorder:
            since = None if whole else cursor - _overlap()
            _import_offers(store, recorder, since=since, renew=lambda: lock_renew(
                store=store, name=LOCK_NAME, token=token))
            if whole:
                removed = _flag_removed(store, recorder.run)
                recorder.count("removed", removed)
                cursor_set(store=store, name=CURSOR_FULL, position=started)
            cursor_set(store=store, name=CURSOR_MODIFIED, position=started)
            recorder.note(_summary(recorder, since))
            _orders_catch_up(store, recorder)
        return recorder.run


def _orders_catch_up(store: Store, recorder: RunRecorder) -> None:
    """Orders imported before their products (both imports start on connect) are linked to them now, and
    waiting orders take the stock the import brought."""
    counts = hooks.stock_arrived(store=store)  # orders: order_lines_matched, orders_promoted
    if any(counts.values()):
        for key, value in counts.items():
            recorder.count(key, value)


def _summary(recorder: RunRecorder, since: dt.datetime | None) -> str:
    c = recorder.counts
    scope = f"offers modified since {since:%Y-%m-%d %H:%M}" if since else "every offer"
    return (f"Read {recorder.run.processed} {scope}: {c.get('created', 0)} products created, "
            f"{c.get('updated', 0)} updated, {c.get('differs', 0)} differ from FNAC (price or quantity), "
            f"{c.get('duplicates', 0)} duplicate SKU offers skipped, {c.get('removed', 0)} flagged as removed.")


# ================================================================ offers
def _import_offers(store: Store, recorder: RunRecorder, *, since: dt.datetime | None, renew) -> None:
    client = fnac_client_for(store)
    try:
        pages = client.offer_pages(page_size=_page_size(), modified_since=since)
        for number, page in enumerate(pages, start=1):
            if number == 1:
                recorder.set_total(page.nb_total_result)
            counts = _upsert_page(store, recorder, page.offers)
            recorder.advance(len(page.offers), counts)
            if number % 20 == 0:
                renew()
    except TooManyPages as exc:
        # each page is committed on its own: what was read stays; the run fails (no removed-offer flagging,
        # the cursor does not move) and says which cap stopped it
        recorder.note(f"Stopped at the page cap (MARKETPLACE_MAX_PAGES = {exc.limit} pages per run): the "
                      f"{recorder.run.processed} offers read were imported, the rest of the listing was not read.")
        raise
    finally:
        client.close()


# what the product row can hold (Product.fnac_price: 10 digits, 2 decimals; quantities: an OMS stock count)
_MAX_IMPORT_PRICE = Decimal("99999999.99")


def _out_of_range(offer: Offer) -> str | None:
    if offer.quantity is not None and not 0 <= offer.quantity <= rules.MAX_STOCK_ON_HAND:
        return f"quantity {offer.quantity} is outside 0..{rules.MAX_STOCK_ON_HAND:,}"
    if offer.price is not None and (not offer.price.is_finite() or not 0 <= offer.price <= _MAX_IMPORT_PRICE):
        return f"price {offer.price} is outside 0..{_MAX_IMPORT_PRICE}"
    return None


def _offer_details(offer: Offer) -> dict:
    return {"offer_fnac_id": offer.offer_fnac_id, "product_fnac_id": offer.product_fnac_id,
            "name": offer.product_name, "ean": offer.ean, "price": str(offer.price) if offer.price is not None
            else None, "quantity": offer.quantity, "product_state": offer.product_state}


def _product_details(p: Product) -> dict:
    return {"offer_fnac_id": p.fnac_offer_id, "product_fnac_id": p.fnac_product_id, "name": p.name, "ean": p.ean,
            "price": str(p.fnac_price) if p.fnac_price is not None else None, "quantity": p.fnac_quantity,
            "product_state": p.condition}


def _report_duplicate(recorder: RunRecorder, sku: str, kept: dict, skipped: dict) -> None:
    recorder.issue("duplicate_sku",
                   f"SKU {sku} is on FNAC more than once: offer {kept['offer_fnac_id']} imported, offer "
                   f"{skipped['offer_fnac_id']} skipped (the smallest offer_fnac_id wins).",
                   reference=sku, details={"sku": sku, "kept": kept, "skipped": skipped})


def _upsert_page(store: Store, recorder: RunRecorder, offers: list[Offer]) -> dict:
    """Upsert one page in one transaction; returns the page's counts."""
    counts = {"created": 0, "updated": 0, "differs": 0, "duplicates": 0, "skipped": 0}
    run = recorder.run
    # duplicates inside the page: keep the winner
    chosen: dict[str, Offer] = {}
    for offer in offers:
        sku = (offer.offer_seller_id or "").strip()
        if not sku:
            counts["skipped"] += 1
            recorder.issue("offer_without_sku", f"FNAC offer {offer.offer_fnac_id} has no offer_seller_id (SKU); "
                           "it cannot be imported.", reference=offer.offer_fnac_id, details=_offer_details(offer))
            continue
        if len(sku) > 100:
            counts["skipped"] += 1
            recorder.issue("sku_too_long", f"SKU {sku[:40]}… is longer than 100 characters; not imported.",
                           reference=sku[:200], details=_offer_details(offer))
            continue
        problem = _out_of_range(offer)
        if problem:  # one absurd offer is reported on its own and does not fail the page or the run
            counts["skipped"] += 1
            recorder.issue("offer_out_of_range", f"FNAC offer {offer.offer_fnac_id} (SKU {sku}): {problem}; "
                           "not imported.", reference=sku, details=_offer_details(offer))
            continue
        other = chosen.get(sku)
        if other is None:
            chosen[sku] = offer
            continue
        counts["duplicates"] += 1
        winner, loser = sorted((other, offer), key=lambda o: rules.duplicate_winner_key(o.offer_fnac_id))
        chosen[sku] = winner
        _report_duplicate(recorder, sku, _offer_details(winner), _offer_details(loser))
    if not chosen:
        return counts

    now = timezone.now()
    rows: list[Product] = []
    first_import_fix: list[tuple[int, Offer]] = []
    with transaction.atomic():
        existing = {p.sku: p for p in Product.objects.select_for_update().filter(
            store=store, sku__in=list(chosen)).only(*_EXISTING_FIELDS)}
        for sku, offer in chosen.items():
            current = existing.get(sku)
            if current is not None and current.seen_in_run == run.pk:
                # a duplicate across pages: the row already holds another offer of this run
                counts["duplicates"] += 1
                if rules.duplicate_winner_key(offer.offer_fnac_id) >= rules.duplicate_winner_key(
                        current.fnac_offer_id):
                    _report_duplicate(recorder, sku, _product_details(current), _offer_details(offer))
                    continue
                _report_duplicate(recorder, sku, _offer_details(offer), _product_details(current))
                if current.imported_at and run.started_at and current.imported_at >= run.started_at:
                    first_import_fix.append((current.pk, offer))
            rows.append(_row(store, offer, current, run, now, counts))
        if rows:
            Product.objects.bulk_create(rows, batch_size=1000, update_conflicts=True,
                                        unique_fields=["store", "sku"], update_fields=IMPORT_UPDATE_FIELDS)
        for pk, offer in first_import_fix:  # the winner came later in a first import: its price and stock
            Product.objects.filter(pk=pk).update(price=offer.price, stock_on_hand=max(0, offer.quantity or 0),
                                                 differs_from_fnac=False)
    return counts


def _row(store: Store, offer: Offer, current: Product | None, run: SyncRun, now, counts: dict) -> Product:
    image = (offer.image or "")[:500]
    row = Product(
        store_id=store.pk, sku=offer.offer_seller_id.strip(), ean=(offer.ean or "")[:20],
        name=(offer.product_name or "")[:255], description=offer.description or "", image_url=image,
        condition=(offer.product_state or "11")[:2], fnac_product_id=(offer.product_fnac_id or "")[:64],
        fnac_offer_id=(offer.offer_fnac_id or "")[:64], product_url=(offer.product_url or "")[:500],
        fnac_price=offer.price, fnac_quantity=offer.quantity, removed_on_fnac=False, seen_in_run=run.pk,
        fnac_updated_at=now, updated_at=now, listing_message="",
    )
    if current is None:
        counts["created"] += 1
        row.price = offer.price
        row.stock_on_hand = max(0, offer.quantity or 0)
        row.images = [image] if image else []
        row.listing_state = LS.LIVE
        row.differs_from_fnac = False
        row.imported_at = now
        row.listing_updated_at = now
        return row
    counts["updated"] += 1
    row.ean = row.ean or current.ean
    row.name = row.name or current.name
    row.images = current.images if current.images else ([image] if image else [])
    # a batch or a product creation in progress decides the listing state itself
    if current.listing_state in (LS.PENDING, LS.CREATING):
        row.listing_state, row.listing_message = current.listing_state, current.listing_message
    else:
        row.listing_state = LS.LIVE
    current.fnac_price, current.fnac_quantity = offer.price, offer.quantity
    row.differs_from_fnac = rules.differs_from_fnac(current, store)
    if row.differs_from_fnac:
        counts["differs"] += 1
    return row


def _flag_removed(store: Store, run: SyncRun) -> int:
    """After a complete pass: products with a FNAC offer that FNAC did not return are flagged, not deleted."""
    return (Product.objects.filter(store=store, removed_on_fnac=False).exclude(fnac_offer_id="")
            .exclude(seen_in_run=run.pk).exclude(listing_state__in=[LS.PENDING, LS.CREATING])
            .update(removed_on_fnac=True, listing_state=LS.DELISTED, listing_updated_at=timezone.now(),
                    listing_message=f"No longer on FNAC (not returned by the catalogue import #{run.pk}).",
                    updated_at=timezone.now()))


# ================================================================ Mirakl reference data
def categories_sync(*, store: Store, trigger: str = "") -> SyncRun:
    """Category tree (H11), attributes (PM11) and value lists (VL11, brands included) from Mirakl.
    Reference data is shared by every store; the store only provides the credentials."""
    client = mirakl_client_for(store)
    try:
        with sync_run(store=store, kind=SyncRun.Kind.CATEGORIES, trigger=trigger) as recorder:
            hierarchies = client.hierarchies()
            attributes = client.attributes()
            values_lists = client.values_lists()
            recorder.set_total(len(hierarchies) + len(attributes) + len(values_lists))
            with transaction.atomic():
                _save_categories(hierarchies)
                _save_values_lists(values_lists)
                missing = _save_attributes(attributes)
            for attribute_code, hierarchy in missing:
                recorder.issue("unknown_hierarchy", f"Attribute {attribute_code} names hierarchy {hierarchy}, "
                               "which H11 did not return; skipped.", reference=attribute_code)
            recorder.advance(len(hierarchies) + len(attributes) + len(values_lists), {
                "categories": len(hierarchies), "attributes": len(attributes) - len(missing),
                "values_lists": len(values_lists), "values": sum(len(v.values) for v in values_lists)})
            return recorder.run
    finally:
        client.close()


def _save_categories(hierarchies) -> None:
    now = timezone.now()
    Category.objects.bulk_create(
        [Category(code=h.code, label=h.label[:255], level=h.level, parent_code=h.parent_code or "", updated_at=now)
         for h in hierarchies if h.code],
        batch_size=1000, update_conflicts=True, unique_fields=["code"],
        update_fields=["label", "level", "parent_code", "updated_at"])


def _save_values_lists(values_lists) -> None:
    ValuesList.objects.bulk_create(
        [ValuesList(code=vl.code, label=vl.label[:255]) for vl in values_lists if vl.code],
        batch_size=1000, update_conflicts=True, unique_fields=["code"], update_fields=["label"])
    ids = dict(ValuesList.objects.filter(code__in=[vl.code for vl in values_lists]).values_list("code", "id"))
    for vl in values_lists:
        if vl.code not in ids:
            continue
        codes = {v.code for v in vl.values if v.code}
        ValuesListValue.objects.filter(values_list_id=ids[vl.code]).exclude(code__in=codes).delete()
        ValuesListValue.objects.bulk_create(
            [ValuesListValue(values_list_id=ids[vl.code], code=v.code[:255], label=(v.label or v.code)[:255])
             for v in vl.values if v.code],
            batch_size=1000, update_conflicts=True, unique_fields=["values_list", "code"], update_fields=["label"])


def _save_attributes(attributes) -> list[tuple[str, str]]:
    """Replaces the attribute set (it is reference data; products keep their values in a JSON field)."""
    category_ids = dict(Category.objects.values_list("code", "id"))
    rows, missing, seen = [], [], set()
    for a in attributes:
        if a.hierarchy_code and a.hierarchy_code not in category_ids:
            missing.append((a.code, a.hierarchy_code))
            continue
        key = (a.hierarchy_code, a.code)
        if key in seen:
            continue
        seen.add(key)
        rows.append(CategoryAttribute(
            category_id=category_ids.get(a.hierarchy_code) if a.hierarchy_code else None, code=a.code[:100],
            label=a.label[:255], type=(a.type or "TEXT")[:40], required=a.required,
            values_list_code=(a.values_list or "")[:100], variant=a.variant, description=a.description or ""))
    CategoryAttribute.objects.all().delete()
    CategoryAttribute.objects.bulk_create(rows, batch_size=1000)
    return missing
