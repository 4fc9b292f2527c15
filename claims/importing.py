"""The import of FNAC incidents (buyer claims): pages read with ``incidents_query`` by update date since the last
cursor (90 days on connect, plus every claim still open), each page upserted in bulk and committed on its own.

A claim that waits for the seller raises its order's flag (a reason line starting with ``CLAIM_FLAG_PREFIX``); the
reason goes when no open claim of the order waits any more. A claim whose order is not imported yet is kept and
linked when the order arrives (end of every sync).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from claims.models import Claim, ClaimLine
from fnac_connector.errors import Conflict
from fnac_connector.marketplace.errors import TooManyPages
from fnac_connector.marketplace.fnac.incidents import Incident, MalformedIncident
from fnac_connector.tasks import enqueue
from orders.models import Order, OrderLine
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import RunRecorder, cursor_get, cursor_set, lock_renew, locked_run, run_create

log = logging.getLogger(__name__)

LOCK_NAME = "claims"
CURSOR = "claims_updated"
INITIAL_DAYS = 90
OVERLAP = dt.timedelta(minutes=10)
CLAIM_FLAG_PREFIX = "Claim: "
CLAIM_FLAG_REASON = CLAIM_FLAG_PREFIX + "a buyer claim (FNAC incident) waits for your answer"
CLAIM_FIELDS = ["order", "marketplace_order_id", "status", "waiting_for_seller", "message", "opened_by", "closed_by",
                "closed_status", "main_type", "opened_at", "fnac_updated_at", "closed_at", "raw_xml", "last_sync_run",
                "synced_at"]
LINE_FIELDS = ["order_line", "type", "status", "opened_at", "fnac_updated_at", "refunded_product", "refunded_shipping",
               "refunded_fees", "refunded_at"]


def _page_size() -> int:
    return int(getattr(settings, "CLAIMS_PAGE_SIZE", 100))


def claims_sync(*, store: Store, trigger: str = "", run: SyncRun | None = None, initial: bool = False,
                client=None) -> SyncRun:
    """Import the store's claims changed since the cursor (``initial``: the last 90 days and every open claim).
    Raises LockBusy when another claims sync holds the store (the run is recorded as skipped)."""
    with locked_run(store=store, kind=SyncRun.Kind.CLAIMS_IMPORT, lock_name=LOCK_NAME, trigger=trigger, run=run,
                    params={"initial": initial}) as (rec, token):
        client = client or fnac_client_for(store)
        now = timezone.now()  # before fetching: the cursor never runs ahead of what was read
        cursor = None if initial else cursor_get(store=store, name=CURSOR)
        since = cursor - OVERLAP if cursor else now - dt.timedelta(days=INITIAL_DAYS)
        rec.note(f"Claims updated since {since.isoformat(timespec='seconds')}"
                 + ("" if cursor else ", and every claim still open"))
        seen: set[str] = set()
        try:
            _read(store, client.incident_pages(page_size=_page_size(), date_type="UpdatedAt", since=since),
                  rec, token, seen)
            if cursor is None:
                _read(store, client.incident_pages(page_size=_page_size(), status="OPENED"), rec, token, seen)
        except TooManyPages:
            rec.note(rec.run.message + "\nStopped at the page cap: the claims read were imported, the cursor did "
                                       "not move.")
            raise
        cursor_set(store=store, name=CURSOR, position=now)
        linked = claims_link_orders(store=store)
        if linked:
            rec.count("linked_to_orders", linked)
        rec.advance(0)
    return rec.run


def _read(store: Store, pages, rec: RunRecorder, token: str, seen: set[str]) -> None:
    first = True
    for page in pages:
        if first and rec.run.total is None:
            rec.set_total(page.nb_total_result)
        first = False
        fresh = [i for i in page.incidents if isinstance(i, MalformedIncident) or i.incident_id not in seen]
        seen.update(i.incident_id for i in fresh if isinstance(i, Incident))
        claims_import_page(store=store, items=fresh, rec=rec)
        lock_renew(store=store, name=LOCK_NAME, token=token)


def claims_import_page(*, store: Store, items: list, rec: RunRecorder | None = None) -> int:
    """Upsert one page of incidents in a fixed number of queries; returns how many claims were written."""
    now = timezone.now()
    incidents: dict[str, Incident] = {}
    for item in items:
        if isinstance(item, MalformedIncident):
            if rec is not None:
                rec.issue("malformed_incident", f"Incident {item.incident_id or '?'} could not be read: {item.reason}",
                          reference=item.incident_id, raw=item.raw_xml[:20000])
            continue
        incidents[item.incident_id] = item
    if not incidents:
        if rec is not None:
            rec.advance(len(items))
        return 0
    existing = dict(Claim.objects.filter(store=store, incident_id__in=list(incidents))
                    .values_list("incident_id", "fnac_updated_at"))
    # older data never overwrites newer (an overlap window or a late page reads a claim again)
    fresh = {iid: inc for iid, inc in incidents.items()
             if not (existing.get(iid) and inc.updated_at and inc.updated_at < existing[iid])}
    orders = dict(Order.objects.filter(store=store, marketplace_order_id__in={i.order_id for i in fresh.values()})
                  .values_list("marketplace_order_id", "pk"))
    order_lines = {(order_id, detail_id): pk for order_id, detail_id, pk in OrderLine.objects.filter(
        order_id__in=list(orders.values())).values_list("order_id", "order_detail_id", "pk")}
    run = rec.run if rec is not None else None
    claims = [Claim(
        store=store, incident_id=inc.incident_id, order_id=orders.get(inc.order_id),
        marketplace_order_id=inc.order_id[:32], status=inc.status[:20], waiting_for_seller=inc.waiting_for_seller_answer
        and inc.status == Claim.Status.OPENED, message=inc.message, opened_by=inc.opened_by[:20],
        closed_by=inc.closed_by[:20], closed_status=inc.closed_status,
        main_type=inc.lines[0].type if inc.lines else None, opened_at=inc.created_at, fnac_updated_at=inc.updated_at,
        closed_at=inc.closed_at, raw_xml=inc.raw_xml, last_sync_run=run, synced_at=now) for inc in fresh.values()]
    with transaction.atomic():
        Claim.objects.bulk_create(claims, update_conflicts=True, unique_fields=["store", "incident_id"],
                                  update_fields=CLAIM_FIELDS, batch_size=500)
        ids = dict(Claim.objects.filter(store=store, incident_id__in=list(fresh)).values_list("incident_id", "pk"))
        lines = []
        for inc in fresh.values():
            order_pk = orders.get(inc.order_id)
            for line in inc.lines:
                refunds = line.refunds
                lines.append(ClaimLine(
                    claim_id=ids[inc.incident_id], order_detail_id=line.order_detail_id,
                    order_line_id=order_lines.get((order_pk, line.order_detail_id)), type=line.type,
                    status=line.status[:20], opened_at=line.created_at, fnac_updated_at=line.updated_at,
                    refunded_product=sum((r.product_amount for r in refunds), 0),
                    refunded_shipping=sum((r.shipping_amount for r in refunds), 0),
                    refunded_fees=sum((r.fee_ht_amount for r in refunds), 0),
                    refunded_at=max((r.created_at for r in refunds if r.created_at), default=None)))
        ClaimLine.objects.bulk_create(lines, update_conflicts=True, unique_fields=["claim", "order_detail_id"],
                                      update_fields=LINE_FIELDS, batch_size=500)
        orders_flags_refresh(order_ids={pk for pk in orders.values()})
    if rec is not None:
        rec.count("claims", len(fresh))
        rec.count("waiting_for_seller", sum(1 for c in claims if c.waiting_for_seller))
        rec.count("without_order", sum(1 for c in claims if c.order_id is None))
        if len(fresh) < len(incidents):
            rec.count("older_than_stored", len(incidents) - len(fresh))
        rec.advance(len(items))
    return len(fresh)


def orders_flags_refresh(*, order_ids) -> int:
    """Raise the flag of the orders among ``order_ids`` with an open claim waiting for the seller, lower the claim
    reason of the others (their other reasons stay). Three queries whatever the number of orders."""
    order_ids = [pk for pk in order_ids if pk]
    if not order_ids:
        return 0
    waiting = set(Claim.objects.filter(order_id__in=order_ids, status=Claim.Status.OPENED, waiting_for_seller=True)
                  .values_list("order_id", flat=True))
    changed = []
    for order in Order.objects.filter(pk__in=order_ids).only("pk", "flagged", "flag_reason"):
        reasons = [r for r in (order.flag_reason or "").split("\n") if r and not r.startswith(CLAIM_FLAG_PREFIX)]
        if order.pk in waiting:
            reasons.append(CLAIM_FLAG_REASON)
        text = "\n".join(reasons)
        if text != order.flag_reason or order.flagged != bool(reasons):
            order.flag_reason, order.flagged, order.updated_at = text, bool(reasons), timezone.now()
            changed.append(order)
    Order.objects.bulk_update(changed, ["flag_reason", "flagged", "updated_at"], batch_size=500)
    return len(changed)


def claims_link_orders(*, store: Store) -> int:
    """Link the claims kept without their order to the order, now that it is imported (one UPDATE)."""
    orphans = Claim.objects.filter(store=store, order__isnull=True)
    match = Order.objects.filter(store=store, marketplace_order_id=OuterRef("marketplace_order_id")).values("pk")[:1]
    ids = list(orphans.filter(marketplace_order_id__in=Order.objects.filter(store=store).values(
        "marketplace_order_id")).values_list("pk", flat=True))
    if not ids:
        return 0
    Claim.objects.filter(pk__in=ids).update(order_id=Subquery(match))
    lines = ClaimLine.objects.filter(claim_id__in=ids, order_line__isnull=True)
    line_match = OrderLine.objects.filter(order_id=OuterRef("claim__order_id"),
                                          order_detail_id=OuterRef("order_detail_id")).values("pk")[:1]
    found = list(lines.annotate(found=Subquery(line_match)).exclude(found=None).only("pk"))
    for line in found:
        line.order_line_id = line.found
    ClaimLine.objects.bulk_update(found, ["order_line"], batch_size=500)
    orders_flags_refresh(order_ids=set(Claim.objects.filter(pk__in=ids).values_list("order_id", flat=True)))
    return len(ids)


# ================================================================ queued syncs (what the doors start)
def claims_sync_request(*, store: Store, trigger: str = "", initial: bool = False) -> SyncRun:
    """Queue a claims import; the run row exists at once (doors answer with its id), the work runs in a worker."""
    if not store.is_connected:
        raise Conflict(f"Store {store.name!r} is not connected (status: {store.get_status_display()}); "
                       "connect it before importing claims.")
    with transaction.atomic():
        run = run_create(store=store, kind=SyncRun.Kind.CLAIMS_IMPORT, trigger=trigger, params={"initial": initial})
        enqueue("claims.tasks.claims_sync_task_queued", store.pk, run_id=run.pk, trigger=trigger, initial=initial,
                group=f"store:{store.pk}:claims", task_name=f"claims store {store.pk} run {run.pk}")
    return run

