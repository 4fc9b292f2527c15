"""OMS → FNAC: listing products (offers_update followed with batch_status), creating unknown products through
Mirakl (P41 followed with P42, rejected lines read with P44), deleting offers, deactivating / activating,
and editing products.

Listing flow of a product: not_listed → pending (batch sent) → live | rejected (FNAC's message kept); when
FNAC answers ERR_026 (EAN unknown) → creating (Mirakl import) → pending (listed again once created) → live,
or rejected with Mirakl's error line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule

from catalogue import rules
from catalogue.models import ListingJob, Product
from catalogue.validation import CatalogueContext, product_validate
from fnac_connector.errors import Conflict, InvalidInput
from fnac_connector.marketplace.errors import MarketplaceError, RateLimited
from fnac_connector.marketplace.fnac import limits
from fnac_connector.marketplace.fnac.client import offers_update_isolating
from fnac_connector.marketplace.fnac.limits import MAX_OFFERS_PER_UPDATE, PRODUCT_NOT_FOUND
from fnac_connector.marketplace.fnac.types import BatchStatus, OfferUpdate
from fnac_connector.tasks import enqueue
from stores import hooks
from stores.clients import fnac_client_for, mirakl_client_for
from stores.models import Store, SyncIssue, SyncRun
from stores.syncs import run_create, sync_run

log = logging.getLogger(__name__)
LS = Product.ListingState


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ================================================================ inventory (through stores.hooks)
def record_change(store_id: int, product_ids: Iterable[int], reason: str) -> None:
    """These products' offers must be pushed again (inventory's outbox, in the caller's transaction)."""
    ids = list(product_ids)
    if ids:
        hooks.offers_changed(store_id=store_id, product_ids=ids, reason=reason)


# ================================================================ create / edit
def _require_connected(store: Store) -> None:
    if not store.is_connected:
        raise Conflict(f"Store {store.name!r} is not connected (status: {store.get_status_display()}); "
                       "connect it first.")


def product_create(*, store: Store, data: dict, trigger: str = "admin", list_on_fnac: bool = True,
                   ctx: CatalogueContext | None = None) -> Product:
    """Create a (non-variation) product and list it on FNAC. Raises InvalidInput with per-field errors."""
    ctx = ctx or CatalogueContext.load()
    cleaned, errors = product_validate(data, ctx)
    if cleaned.get("sku") and Product.objects.filter(store=store, sku=cleaned["sku"]).exists():
        errors["sku"] = f"{cleaned['sku']!r} already exists in store {store.name}"
    if errors:
        raise InvalidInput("The product is not valid: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
                           details=errors)
    if list_on_fnac:
        _require_connected(store)
    with transaction.atomic():
        images = cleaned.get("images", [])
        product = Product.objects.create(
            store=store, sku=cleaned["sku"], ean=cleaned["ean"], name=cleaned["name"], brand=cleaned["brand"],
            category=cleaned["category"], condition=cleaned.get("condition", "11"), price=cleaned["price"],
            sale_price=cleaned.get("sale_price"), stock_on_hand=cleaned["quantity"],
            description=cleaned.get("description", ""), images=images, image_url=images[0] if images else "",
            attributes=cleaned.get("attributes", {}), listing_state=LS.NOT_LISTED)
        if list_on_fnac:
            products_list_request(store=store, product_ids=[product.pk], trigger=trigger)
    product.refresh_from_db()
    return product


CONTENT_FIELDS = ("name", "brand", "description", "images", "condition", "attributes", "category", "ean")


def product_update(*, product: Product, data: dict, trigger: str = "api") -> Product:
    """Edit a product: content fields are re-listed on FNAC when the product is live; price and stock go
    through the inventory capability; ``is_active`` deactivates / activates."""
    allowed = set(CONTENT_FIELDS) | {"price", "sale_price", "quantity", "is_active", "title"}
    unknown = set(data) - allowed
    if unknown:
        raise InvalidInput(f"read-only or unknown product fields: {', '.join(sorted(unknown))}",
                           details={k: "read-only or unknown" for k in unknown})
    content = {k: v for k, v in data.items() if k not in ("is_active",)}
    cleaned, errors = product_validate(content, CatalogueContext.load(), partial=True, current=product)
    if "ean" in cleaned and cleaned["ean"] != product.ean and product.listing_state == LS.LIVE:
        errors["ean"] = "the EAN of a live offer cannot change; delete the offer and list the product again"
    if errors:
        raise InvalidInput("The product is not valid: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
                           details=errors)
    with transaction.atomic():
        changed_content = []
        for key in CONTENT_FIELDS:
            if key in cleaned and getattr(product, key) != cleaned[key]:
                setattr(product, key, cleaned[key])
                changed_content.append(key)
        if "images" in changed_content:
            product.image_url = product.images[0] if product.images else ""
            changed_content.append("image_url")
        if changed_content:
            product.save(update_fields=[*changed_content, "updated_at"])
        new_price = cleaned.get("price") if cleaned.get("price") != product.price else None
        new_sale = cleaned.get("sale_price") if cleaned.get("sale_price") != product.sale_price else None
        new_qty = cleaned.get("quantity") if cleaned.get("quantity") != product.stock_on_hand else None
        if new_price is not None or new_sale is not None or new_qty is not None:
            hooks.price_stock_write(product=product, price=new_price, sale_price=new_sale, quantity=new_qty,
                                    source=f"catalogue:{trigger}")
        if "is_active" in data and bool(data["is_active"]) != product.is_active:
            (products_activate if data["is_active"] else products_deactivate)(
                products=Product.objects.filter(pk=product.pk), trigger=trigger)
        relist = {"description", "images", "condition"} & set(changed_content)
        if relist and product.listing_state == LS.LIVE and product.store.is_connected:
            products_list_request(store=product.store, product_ids=[product.pk], trigger=trigger)
    product.refresh_from_db()
    return product


# ================================================================ listing
def _store_product_ids(store: Store, product_ids: Sequence[int], *, none: str) -> list[int]:
    """The ids among ``product_ids`` of products of ``store``, which must be connected; none: InvalidInput."""
    _require_connected(store)
    ids = list(Product.objects.filter(store=store, pk__in=list(product_ids)).values_list("pk", flat=True))
    if not ids:
        raise InvalidInput(none)
    return ids


def products_list_request(*, store: Store, product_ids: Sequence[int], trigger: str = "") -> SyncRun:
    """Queue the listing of these products (offers_update with EAN, SKU, price, condition, quantity,
    description, pictures). The run exists at once; a worker sends and follows the batches."""
    ids = _store_product_ids(store, product_ids, none="No product of this store to list.")
    with transaction.atomic():
        run = run_create(store=store, kind=SyncRun.Kind.PRODUCT_LISTING, trigger=trigger,
                         params={"purpose": ListingJob.Purpose.LIST, "product_ids": ids})
        Product.objects.filter(pk__in=ids).exclude(listing_state=LS.LIVE).update(
            listing_state=LS.PENDING, listing_message="Queued for listing on FNAC.",
            listing_updated_at=timezone.now())
        enqueue("catalogue.tasks.products_send_task", run.pk, group=f"store:{store.pk}:listing",
                task_name=f"listing store {store.pk} run {run.pk}")
    return run


def products_delete_request(*, store: Store, product_ids: Sequence[int], trigger: str = "",
                            reason: str = "") -> SyncRun:
    """Queue the deletion of these products' offers on FNAC (treatment delete). The OMS records stay,
    marked delisted once FNAC confirms. ``reason`` (why the seller deletes them) is kept on the run."""
    ids = _store_product_ids(store, product_ids, none="No product of this store to delete on FNAC.")
    params = {"purpose": ListingJob.Purpose.DELETE, "product_ids": ids}
    if reason.strip():
        params["reason"] = reason.strip()[:500]
    with transaction.atomic():
        run = run_create(store=store, kind=SyncRun.Kind.PRODUCT_LISTING, trigger=trigger, params=params)
        enqueue("catalogue.tasks.products_send_task", run.pk, group=f"store:{store.pk}:listing",
                task_name=f"offer delete store {store.pk} run {run.pk}")
    return run


def _fnac_has_offer(product: Product) -> bool:
    """FNAC already has this SKU's offer (FNAC named its id and it was not deleted since): it is changed by
    offer_reference (the SKU) alone. FNAC's offers carry no EAN (offers_query does not send it), so an imported
    offer may have none."""
    return bool(product.fnac_offer_id) and not product.removed_on_fnac


def _offer_for(product: Product, store: Store) -> OfferUpdate:
    """The offer as sent: product_reference (the EAN) only to create an offer FNAC does not have yet."""
    return OfferUpdate(
        sku=product.sku, product_reference="" if _fnac_has_offer(product) else product.ean,
        product_reference_type="Ean",
        price=rules.fnac_price_for(product, store), product_state=product.condition or "11",
        quantity=rules.fnac_quantity_for(product, store),
        description=(product.description or "")[:limits.MAX_OFFER_TEXT] or None,
        pictures=[u for u in (product.images or ([product.image_url] if product.image_url else []))
                  if u][:limits.MAX_PICTURES],
    )


def _local_problem(product: Product, store: Store) -> str:
    """What FNAC would refuse for sure; caught before sending so the rest of the batch goes through."""
    if not product.ean and not _fnac_has_offer(product):
        return "no EAN: FNAC creates a new offer from the product's EAN"
    price = rules.fnac_price_for(product, store)
    if price is None:
        return "no price"
    if not limits.MIN_PRICE <= price <= limits.MAX_PRICE:
        return f"price {price} out of FNAC's range ({limits.MIN_PRICE} to {limits.MAX_PRICE} EUR)"
    if (product.condition or "11") not in rules.CONDITIONS:
        return f"unknown condition {product.condition!r}"
    if len(product.sku) > limits.MAX_OFFER_TEXT:
        return f"SKU longer than {limits.MAX_OFFER_TEXT} characters"
    return ""


def products_send(*, run: SyncRun) -> list[ListingJob]:
    """Send a queued listing or deletion (the task body): offers_update per 10,000 products, one ListingJob per
    batch, each followed by its own task."""
    store = run.store
    purpose = run.params.get("purpose", ListingJob.Purpose.LIST)
    ids = list(run.params.get("product_ids") or [])
    jobs: list[ListingJob] = []
    with sync_run(store=store, kind=SyncRun.Kind.PRODUCT_LISTING, run=run) as recorder:
        recorder.set_total(len(ids))
        client = fnac_client_for(store)
        try:
            for chunk_ids in _chunks(ids, _batch_size()):
                products = list(Product.objects.filter(store=store, pk__in=list(chunk_ids)).select_related("store"))
                offers, sent = [], {}
                for product in products:
                    if purpose == ListingJob.Purpose.DELETE:
                        offers.append(OfferUpdate(sku=product.sku, treatment="delete"))
                        continue
                    problem = _local_problem(product, store)
                    if problem:
                        _reject(product, f"Not sent to FNAC: {problem}.")
                        recorder.issue("offer_invalid", problem, reference=product.sku)
                        continue
                    offer = _offer_for(product, store)
                    offers.append(offer)
                    sent[product.sku] = [str(offer.price), offer.quantity]
                if not offers:
                    recorder.advance(len(products))
                    continue
                try:
                    outcome = offers_update_isolating(client, offers)
                except (MarketplaceError, ValueError) as exc:
                    _send_failed(products, purpose, exc)
                    recorder.issue("send_failed", f"offers_update failed: {exc}",
                                   details={"product_ids": [p.pk for p in products]})
                    recorder.advance(len(products))
                    continue
                by_sku = {p.sku: p for p in products}
                _refused_whole(outcome.refused, by_sku, purpose, recorder)
                if outcome.error is not None:
                    unsent = [by_sku[o.sku] for o in outcome.unsent]
                    _send_failed(unsent, purpose, outcome.error)
                    recorder.issue("send_failed", f"offers_update failed: {outcome.error}",
                                   details={"product_ids": [p.pk for p in unsent]})
                for batch_id, batch_offers in outcome.batches:
                    skus = {o.sku for o in batch_offers}
                    job = ListingJob.objects.create(
                        store=store, run=run, kind=ListingJob.Kind.OFFERS_UPDATE, purpose=purpose,
                        external_id=batch_id, status="SENT", product_ids=[by_sku[s].pk for s in skus],
                        result={"sent": {s: v for s, v in sent.items() if s in skus}})
                    if purpose == ListingJob.Purpose.LIST:
                        Product.objects.filter(pk__in=job.product_ids).update(
                            listing_state=LS.PENDING, listing_message=f"FNAC batch {batch_id} sent; waiting for FNAC.",
                            listing_updated_at=timezone.now())
                    jobs.append(job)
                    enqueue("catalogue.tasks.listing_job_follow_task", job.pk, group=f"store:{store.pk}:listing",
                            task_name=f"follow {job.kind} {job.external_id}")
                recorder.advance(len(products), {"sent": len(offers) - len(outcome.refused) - len(outcome.unsent),
                                                 "batches": len(outcome.batches), "calls": outcome.calls,
                                                 "refused_by_fnac": len(outcome.refused)})
        finally:
            client.close()
        recorder.note(f"{len(jobs)} batch(es) sent to FNAC: " + ", ".join(j.external_id for j in jobs))
    return jobs


def _batch_size() -> int:
    return min(MAX_OFFERS_PER_UPDATE, int(getattr(settings, "CATALOGUE_OFFERS_PER_BATCH", MAX_OFFERS_PER_UPDATE)))


def _reject(product: Product, message: str) -> None:
    Product.objects.filter(pk=product.pk).update(listing_state=LS.REJECTED, listing_message=message[:2000],
                                                 listing_updated_at=timezone.now())


def _refused_whole(refused: dict, by_sku: dict[str, Product], purpose: str, recorder) -> None:
    """Offers FNAC refused even when sent alone (the call that carried them was refused whole): only these are
    rejected, with FNAC's message; the rest of their batch was sent without them."""
    for sku, error in refused.items():
        text = f"{error.code}: {error.message}" if error.code else error.message
        if purpose == ListingJob.Purpose.LIST:
            _reject(by_sku[sku], f"Rejected by FNAC: {text}")
        else:
            Product.objects.filter(pk=by_sku[sku].pk).update(
                listing_message=f"FNAC refused to delete the offer: {text}"[:2000], listing_updated_at=timezone.now())
        recorder.issue("offer_rejected", text, reference=sku, details={"refused_whole_call": True})


def _send_failed(products: list[Product], purpose: str, exc: Exception) -> None:
    message = f"Could not send to FNAC: {exc}. Try again later."
    for product in products:
        if purpose == ListingJob.Purpose.LIST:
            state = product.listing_state if product.listing_state in (LS.LIVE, LS.DELISTED) else LS.NOT_LISTED
            Product.objects.filter(pk=product.pk).update(listing_state=state, listing_message=message,
                                                         listing_updated_at=timezone.now())
        else:
            Product.objects.filter(pk=product.pk).update(listing_message=message)


# ================================================================ following
def listing_job_poll(*, job: ListingJob) -> bool:
    """Ask the marketplace once; apply the outcome when final. Returns True when the job is final."""
    if job.is_final:
        return True
    job.polls += 1
    if job.kind == ListingJob.Kind.OFFERS_UPDATE:
        client = fnac_client_for(job.store)
        try:
            status = client.batch_status(job.external_id)
        finally:
            client.close()
        job.status = status.status
        if not status.is_final:
            job.save(update_fields=["polls", "status"])
            return False
        _apply_batch(job, status)
        return True
    return _poll_import(job)


def _p42_interval() -> float:
    return float(getattr(settings, "CATALOGUE_P42_MIN_INTERVAL_SECONDS", 60))


def listing_job_next_poll_at(*, job_id: int) -> dt.datetime | None:
    """When the job may be asked again: Mirakl allows P42 once a minute per import (and a 429 names its own
    wait); None when any time is fine (FNAC batches, a final or unknown job)."""
    job = ListingJob.objects.filter(pk=job_id, is_final=False).first()
    return _next_poll_at(job) if job else None


def _next_poll_at(job: ListingJob) -> dt.datetime | None:
    value = (job.result or {}).get("next_poll_at") if job.kind == ListingJob.Kind.MIRAKL_IMPORT else None
    return dt.datetime.fromisoformat(value) if value else None


def _poll_import(job: ListingJob) -> bool:
    """One P42 at most once a minute; when final, read the reports that say why lines were refused: P47 (could
    not be transformed) and P44 (refused at integration)."""
    now = timezone.now()
    not_before = _next_poll_at(job)
    if not_before is not None and not_before > now:
        return False  # too early for Mirakl: not asked, not counted
    client = mirakl_client_for(job.store)
    try:
        try:
            status = client.product_import_status(job.external_id)
        except RateLimited as exc:  # Mirakl says when: come back then
            wait = max(exc.retry_after or _p42_interval(), 1)
            job.result = {**(job.result or {}), "next_poll_at": (now + dt.timedelta(seconds=wait)).isoformat()}
            job.save(update_fields=["polls", "result"])
            return False
        job.status = status.status
        job.result = {**(job.result or {}),
                      "next_poll_at": (now + dt.timedelta(seconds=_p42_interval())).isoformat()}
        if not status.is_final:
            job.save(update_fields=["polls", "status", "result"])
            return False
        lines = []
        if status.has_transformation_error_report:
            lines += [("transformation", line)
                      for line in client.product_import_transformation_error_report(job.external_id)]
        if status.has_error_report:
            lines += [("integration", line) for line in client.product_import_error_report(job.external_id)]
    finally:
        client.close()
    _apply_import(job, status, lines)
    return True


def listing_job_follow(*, job_id: int, inline_seconds: float | None = None) -> bool:
    """Poll a job until final for at most ``inline_seconds`` (backing off); True when final."""
    inline = float(getattr(settings, "CATALOGUE_FOLLOW_INLINE_SECONDS", 20) if inline_seconds is None
                   else inline_seconds)
    deadline = time.monotonic() + inline
    delay = 0.25
    while True:
        job = ListingJob.objects.select_related("store").get(pk=job_id)
        if listing_job_poll(job=job):
            return True
        if job.kind == ListingJob.Kind.MIRAKL_IMPORT:  # next P42 a minute later at the soonest: not inline
            return False
        if time.monotonic() + delay > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 3.0)


def listing_job_give_up(*, job_id: int) -> None:
    job = ListingJob.objects.get(pk=job_id)
    if job.is_final:
        return
    message = (f"FNAC did not finish {job.get_kind_display()} {job.external_id} in time (last status "
               f"{job.status or 'unknown'}); list the product again to retry.")
    with transaction.atomic():
        job.is_final, job.finished_at, job.message = True, timezone.now(), message
        job.save(update_fields=["is_final", "finished_at", "message"])
        Product.objects.filter(pk__in=job.product_ids, listing_state__in=[LS.PENDING, LS.CREATING]).update(
            listing_state=LS.REJECTED, listing_message=message, listing_updated_at=timezone.now())


def _run_issue(job: ListingJob, code: str, message: str, reference: str, details: dict) -> None:
    if job.run_id:
        SyncIssue.objects.create(run_id=job.run_id, code=code, message=message, reference=reference[:200],
                                 details=details)


def _run_count(job: ListingJob, counts: dict) -> None:
    if not job.run_id:
        return
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().get(pk=job.run_id)
        merged = dict(run.counts or {})
        for key, value in counts.items():
            if value:
                merged[key] = merged.get(key, 0) + value
        errors = counts.get("rejected", 0)
        state = run.state
        if errors and state == SyncRun.State.SUCCEEDED:
            state = SyncRun.State.PARTIAL
        SyncRun.objects.filter(pk=run.pk).update(counts=merged, error_count=run.error_count + errors, state=state)


def _apply_batch(job: ListingJob, status: BatchStatus) -> None:
    now = timezone.now()
    products = {p.sku: p for p in Product.objects.filter(pk__in=job.product_ids)}
    results = status.results_for(products)
    sent = (job.result or {}).get("sent", {})
    outcome, unknown_ean, without_ids = {}, [], []
    counts = {"live": 0, "rejected": 0, "deleted": 0, "to_create": 0}
    gone = set()
    if job.purpose == ListingJob.Purpose.DELETE:
        gone = _offers_gone(job.store, [sku for sku, r in results.items() if not r.ok])
    with transaction.atomic():
        for sku, product in products.items():
            result = results[sku]
            codes = {e.code for e in result.errors}
            ok = result.ok
            text = result.message
            outcome[sku] = {"status": result.status, "message": text}
            if job.purpose == ListingJob.Purpose.DELETE:
                if ok or sku in gone:
                    Product.objects.filter(pk=product.pk).update(
                        listing_state=LS.DELISTED, removed_on_fnac=True, listing_updated_at=now,
                        listing_message=f"Offer deleted on FNAC (batch {job.external_id})."
                        + (f" FNAC: {text}" if text else ""))
                    counts["deleted"] += 1
                else:
                    Product.objects.filter(pk=product.pk).update(
                        listing_message=f"FNAC refused to delete the offer: {text}", listing_updated_at=now)
                    counts["rejected"] += 1
                    _run_issue(job, "delete_rejected", text, sku, {"batch_id": job.external_id})
                continue
            if ok:
                price, quantity = sent.get(sku, [None, None])
                Product.objects.filter(pk=product.pk).update(
                    listing_state=LS.LIVE, listing_message=f"FNAC: {text}" if text else "", listing_updated_at=now,
                    fnac_offer_id=result.offer_fnac_id or product.fnac_offer_id,
                    fnac_product_id=result.product_fnac_id or product.fnac_product_id, removed_on_fnac=False,
                    fnac_price=price if price is not None else product.fnac_price,
                    fnac_quantity=quantity if quantity is not None else product.fnac_quantity,
                    differs_from_fnac=False)
                counts["live"] += 1
                if not (result.offer_fnac_id or product.fnac_offer_id):
                    without_ids.append(sku)
            elif PRODUCT_NOT_FOUND in codes:
                unknown_ean.append(product)
                counts["to_create"] += 1
            else:
                _reject(product, f"Rejected by FNAC: {text}")
                counts["rejected"] += 1
                _run_issue(job, "offer_rejected", text, sku, {"batch_id": job.external_id, "status": result.status})
        job.is_final, job.finished_at = True, now
        job.result = {**(job.result or {}), "outcome": outcome}
        job.message = f"{status.status}: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        job.save(update_fields=["is_final", "finished_at", "result", "message", "status", "polls"])
        _run_count(job, counts)
    if without_ids:
        _learn_offer_ids(job.store, without_ids)
    if unknown_ean:
        products_create_on_mirakl(store=job.store, products=unknown_ean, run_id=job.run_id)


OFFER_IDS_PER_QUERY = 100


def _offers_gone(store: Store, skus: list[str]) -> set[str]:
    """Of SKUs whose deletion FNAC refused, those FNAC no longer lists (already deleted: the goal is reached).
    Read with offers_query rather than from the refusal's code, which is not known for FNAC. Empty when FNAC
    cannot be asked (the refusals then stand)."""
    if not skus:
        return set()
    listed: set[str] = set()
    client = fnac_client_for(store)
    try:
        for chunk in _chunks(skus, OFFER_IDS_PER_QUERY):
            page = client.offers_query_page(skus=list(chunk), page_size=OFFER_IDS_PER_QUERY)
            listed.update(o.offer_seller_id for o in page.offers)
    except MarketplaceError as exc:
        log.warning("store %s: could not check %d refused offer deletion(s): %s", store.pk, len(skus), exc)
        return set()
    finally:
        client.close()
    return set(skus) - listed


def _learn_offer_ids(store: Store, skus: list[str]) -> None:
    """FNAC's ids of offers that went live in a batch that named none (an OK batch has no per-offer lines), read
    with offers_query by SKU. Best effort: the offers are live either way, and the offers import fills the ids
    in later when this lookup fails."""
    client = fnac_client_for(store)
    try:
        for chunk in _chunks(skus, OFFER_IDS_PER_QUERY):
            page = client.offers_query_page(skus=list(chunk), page_size=OFFER_IDS_PER_QUERY)
            for offer in page.offers:
                if offer.offer_seller_id in chunk and offer.offer_fnac_id:
                    Product.objects.filter(store=store, sku=offer.offer_seller_id, fnac_offer_id="").update(
                        fnac_offer_id=offer.offer_fnac_id,
                        fnac_product_id=offer.product_fnac_id or F("fnac_product_id"))
    except MarketplaceError as exc:
        log.warning("store %s: could not read FNAC's ids of %d new offer(s): %s", store.pk, len(skus), exc)
    finally:
        client.close()


# ================================================================ Mirakl product creation
# Which PM11 attribute carries each Product field. Operators name them differently (FNAC Darty's sandbox says
# ``title``, other Mirakl operators ``name`` or ``product_title``): the first of these codes the operator's PM11
# lists wins; a HIERARCHY attribute carries the category and the first MEDIA attribute the main image when no
# name matches. A field the operator has no attribute for is not sent.
FIELD_CODES: dict[str, tuple[str, ...]] = {
    "category": ("category", "category_code", "categorie", "hierarchy"),
    "ean": ("ean", "ean13", "gtin", "product_id", "product-id"),
    "title": ("title", "name", "product_title", "product_name", "titre"),
    "brand": ("brand", "marque", "brand_name"),
    "description": ("description", "long_description", "product_description"),
    "main_image": ("main_image", "image_1", "media_1", "main_picture", "image"),
}
FIELD_TYPES = {"category": "HIERARCHY", "main_image": "MEDIA"}


def product_import_columns(products: Sequence[Product], ctx: CatalogueContext) -> list[tuple[str, str]]:
    """The P41 header as (PM11 attribute code, Product field or "" for an entry of Product.attributes): the
    Product fields first, under the operator's codes, then every other attribute of the products' categories."""
    attributes: dict[str, str] = {}  # code -> type, in PM11 order
    for product in products:
        for attr in ctx.attributes_for(product.category.code if product.category_id else ""):
            attributes.setdefault(attr.code, (attr.type or "").upper())
    columns: list[tuple[str, str]] = []
    taken: set[str] = set()
    for field_name, aliases in FIELD_CODES.items():
        lowered = {code.lower(): code for code in attributes if code not in taken}
        code = next((lowered[a] for a in aliases if a in lowered), None)
        if code is None and field_name in FIELD_TYPES:
            code = next((c for c, kind in attributes.items() if kind == FIELD_TYPES[field_name] and c not in taken),
                        None)
        if code is not None:
            columns.append((code, field_name))
            taken.add(code)
    columns += [(code, "") for code in attributes if code not in taken]
    return columns


def product_import_csv(products: Sequence[Product], ctx: CatalogueContext) -> bytes:
    """P41 CSV (';' separated): a header of the operator's attribute codes (PM11), one line per product."""
    columns = product_import_columns(products, ctx)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow([code for code, _field in columns])
    for p in products:
        fields = {"category": p.category.code if p.category_id else "", "ean": p.ean, "title": p.name,
                  "brand": p.brand, "description": p.description,
                  "main_image": p.images[0] if p.images else p.image_url}
        writer.writerow([fields[field_name] if field_name else str((p.attributes or {}).get(code, ""))
                         for code, field_name in columns])
    return out.getvalue().encode("utf-8")


def _p41_interval() -> float:
    return float(getattr(settings, "CATALOGUE_P41_MIN_INTERVAL_SECONDS", 900))


def _next_p41_slot(store: Store):
    """When the store's last product import was too recent (Mirakl allows P41 every 15 minutes per seller),
    the time of the next allowed one; None when one may be sent now."""
    last = (ListingJob.objects.filter(store=store, kind=ListingJob.Kind.MIRAKL_IMPORT)
            .order_by("-created_at").values_list("created_at", flat=True).first())
    if last is None:
        return None
    slot = last + dt.timedelta(seconds=_p41_interval())
    return slot if slot > timezone.now() else None


def _wait_for_slot(store: Store, products: Sequence[Product], slot) -> None:
    """Keep the products for the next import slot (one import then carries all of them)."""
    Product.objects.filter(pk__in=[p.pk for p in products]).update(
        awaiting_creation_slot=True, listing_state=LS.CREATING, listing_updated_at=timezone.now(),
        listing_message=f"FNAC does not know the EAN: the product will be created in the FNAC catalogue by the "
                        f"next Mirakl import, at {timezone.localtime(slot):%H:%M} (Mirakl allows one product "
                        "import every 15 minutes).")
    name = f"catalogue:p41:{store.pk}"
    schedule, created = Schedule.objects.get_or_create(
        name=name, defaults=dict(func="catalogue.tasks.mirakl_create_waiting_task", args=repr(store.pk),
                                 schedule_type=Schedule.ONCE, repeats=-1, next_run=slot))
    if not created and (schedule.next_run is None or schedule.next_run > slot):
        Schedule.objects.filter(pk=schedule.pk).update(next_run=slot)


def products_create_waiting(*, store: Store) -> ListingJob | None:
    """Send, in one Mirakl import, every product of the store that waited for an import slot."""
    with transaction.atomic():
        ids = list(Product.objects.select_for_update().filter(store=store, awaiting_creation_slot=True)
                   .values_list("id", flat=True))
        Product.objects.filter(pk__in=ids).update(awaiting_creation_slot=False)
    if not ids:
        return None
    return products_create_on_mirakl(store=store, products=list(Product.objects.filter(pk__in=ids)))


def products_create_on_mirakl(*, store: Store, products: Sequence[Product],
                              run_id: int | None = None) -> ListingJob | None:
    """Create products FNAC does not know (ERR_026) with a Mirakl P41 import; listed again once created."""
    products = list(Product.objects.filter(pk__in=[p.pk for p in products]).select_related("category"))
    without_category = [p for p in products if not p.category_id]
    for p in without_category:
        _reject(p, "FNAC does not know this EAN (ERR_026) and the product has no category, so it cannot be "
                   "created through Mirakl. Set its category and list it again.")
    products = [p for p in products if p.category_id]
    if not products:
        return None
    slot = _next_p41_slot(store)
    if slot is not None:
        _wait_for_slot(store, products, slot)
        return None
    client = mirakl_client_for(store)
    try:
        import_id = client.product_import(product_import_csv(products, CatalogueContext.load()),
                                          filename=f"products-store{store.pk}-{int(time.time())}.csv")
    except RateLimited as exc:  # Mirakl's own limit: wait for the slot it names, lose nothing
        _wait_for_slot(store, products, timezone.now() + dt.timedelta(seconds=exc.retry_after or _p41_interval()))
        return None
    except MarketplaceError as exc:
        for p in products:
            _reject(p, f"FNAC does not know this EAN (ERR_026) and the Mirakl product creation failed: {exc}")
        return None
    finally:
        client.close()
    with transaction.atomic():
        job = ListingJob.objects.create(store=store, run_id=run_id, kind=ListingJob.Kind.MIRAKL_IMPORT,
                                        external_id=import_id, status="WAITING", product_ids=[p.pk for p in products])
        Product.objects.filter(pk__in=job.product_ids).update(
            listing_state=LS.CREATING, listing_updated_at=timezone.now(),
            listing_message=f"FNAC does not know the EAN: product being created in the FNAC catalogue "
                            f"(Mirakl import {import_id}).")
        enqueue("catalogue.tasks.listing_job_follow_task", job.pk, group=f"store:{store.pk}:listing",
                task_name=f"follow mirakl import {import_id}")
    return job


_IMPORT_ENDINGS = {
    "FAILED": "the import failed; list the product again to retry",
    "CANCELLED": "the import was cancelled; list the product again to retry",
    "TRANSFORMATION_FAILED": "the file could not be transformed into the operator's format",
}


def _apply_import(job: ListingJob, status, lines) -> None:
    now = timezone.now()
    products = list(Product.objects.filter(pk__in=job.product_ids))
    by_ean = {p.ean: p for p in products}
    rejected: dict[int, str] = {}
    report = []
    for report_kind, line in lines:
        ean = (line.values.get("ean") or "").strip()
        product = by_ean.get(ean)
        text = " | ".join(line.errors) or "rejected"
        report.append({"line": line.line_number, "ean": ean, "sku": product.sku if product else "",
                       "errors": line.errors, "report": report_kind})
        if product is not None:
            where = f"line {line.line_number}" if line.line_number else "its line"
            what = ("could not transform the product line" if report_kind == "transformation"
                    else "rejected the product creation")
            rejected[product.pk] = f"Mirakl {what} ({where} of import {job.external_id}): {text}"
    if not status.succeeded:
        reason = status.reason_status or _IMPORT_ENDINGS.get(status.status, status.status)
        for p in products:
            rejected.setdefault(p.pk, f"Mirakl product import {job.external_id} ended {status.status}: {reason}")
    with transaction.atomic():
        for pk, message in rejected.items():
            Product.objects.filter(pk=pk).update(listing_state=LS.REJECTED, listing_message=message[:2000],
                                                 listing_updated_at=now)
            sku = next((p.sku for p in products if p.pk == pk), "")
            _run_issue(job, "product_creation_rejected", message, sku, {"import_id": job.external_id})
        job.is_final, job.finished_at = True, now
        job.result = {"error_lines": report, "created": [p.pk for p in products if p.pk not in rejected]}
        job.message = f"{status.status}: {len(products) - len(rejected)} created, {len(rejected)} rejected"
        job.save(update_fields=["is_final", "finished_at", "result", "message", "status", "polls"])
        _run_count(job, {"created_on_mirakl": len(products) - len(rejected), "rejected": len(rejected)})
        created = [p.pk for p in products if p.pk not in rejected]
        if created:
            products_list_request(store=job.store, product_ids=created, trigger="mirakl_created")


# ================================================================ lifecycle
def products_deactivate(*, products, trigger: str = "admin") -> int:
    """Deactivated: quantity 0 on FNAC (the inventory push reads ``is_active``), stock pushes held."""
    return _set_active(products, False, trigger)


def products_activate(*, products, trigger: str = "admin") -> int:
    """Activated: the current stock is pushed again."""
    return _set_active(products, True, trigger)


def _set_active(products, active: bool, trigger: str) -> int:
    with transaction.atomic():
        rows = list(products.exclude(is_active=active).values_list("pk", "store_id"))
        if not rows:
            return 0
        Product.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            is_active=active, updated_at=timezone.now(),
            push_state=Product.PushState.PENDING if active else Product.PushState.HELD)
        by_store: dict[int, list[int]] = {}
        for pk, store_id in rows:
            by_store.setdefault(store_id, []).append(pk)
        for store_id, ids in by_store.items():
            record_change(store_id, ids, f"{'activated' if active else 'deactivated'}:{trigger}")
    return len(rows)
