"""Parcel tracking: ask the carriers what happened to the parcels FNAC confirmed, keep their events, mark the order
delivered when the carrier says so, and flag parcels that stopped moving.

- ``shipments_to_track``: the parcels a periodic run checks: confirmed to FNAC, not delivered, not cancelled, not
  too old, not checked in the last ``FULFILMENT_TRACKING_RECHECK_MINUTES``; oldest-checked first.
- ``shipments_track``: one tracking run of a store (a ``SyncRun`` of kind "tracking", under the store's "tracking"
  lock): parcels grouped by carrier adapter (``fulfilment.adapters.adapter_for_shipment``), asked
  ``max_tracking_batch`` numbers per call with a pause between calls, at most ``FULFILMENT_TRACKING_MAX_PER_RUN``
  parcels a run. Each answered call is applied in one transaction (events bulk-inserted, idempotent on
  shipment + time + carrier code; shipments bulk-updated). A call the carrier refuses or fails as a whole applies
  nothing: its parcels stay as they were (checked first next time) and the run ends Failed with the carrier's reason.
- Delivered: the order goes In transit -> Complete ("delivered") once every live parcel of it is delivered and no line
  is left to ship. FNAC's own states win: an order FNAC already marked Received (Complete), Not received, refunded...
  is never moved by a carrier event, and the FNAC state is never written here.
- Stuck: a parcel with no carrier event for the store's ``tracking_stuck_days`` (counted from its last event, else
  from FNAC's confirmation) gets ``stuck_since`` and its order a flag reason; the next event clears both. A delivery
  problem or a return (the carrier's exception / returned events) flags the order too.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from fnac_connector.carriers import CarrierError, TrackingResult
from fnac_connector.carriers import TrackingStatus as CarrierStatus
from fnac_connector.carriers.registry import UnknownCarrier
from fnac_connector.errors import Conflict
from fulfilment.adapters import adapter_for_shipment
from fulfilment.models import Shipment, ShipmentLine, TrackingEvent, TrackingStatus
from fulfilment.shipping import SHIPPABLE_LINE_STATE
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.status import order_flag, order_transition
from stores.models import Store, SyncRun
from stores.syncs import LockBusy, locked_run

log = logging.getLogger(__name__)

S = OrderStatus
FLAG_PREFIX = "Tracking: "
LOCK_NAME = "tracking"
PROBLEM_STATUSES = (TrackingStatus.EXCEPTION, TrackingStatus.RETURNED)
SHIPMENT_FIELDS = ["tracking_status", "last_tracked_at", "last_event_at", "delivered_at", "stuck_since",
                   "tracking_error"]


def _setting(name: str, default):
    return getattr(settings, name, default)


def recheck_after() -> dt.timedelta:
    return dt.timedelta(minutes=float(_setting("FULFILMENT_TRACKING_RECHECK_MINUTES", 30)))


def max_age() -> dt.timedelta:
    return dt.timedelta(days=float(_setting("FULFILMENT_TRACKING_MAX_AGE_DAYS", 45)))


# ---------------------------------------------------------------- which parcels
def trackable_q(*, now: dt.datetime) -> Q:
    """Confirmed to FNAC (so not cancelled), not delivered yet, confirmed within FULFILMENT_TRACKING_MAX_AGE_DAYS."""
    return (Q(state=Shipment.State.CONFIRMED, delivered_at__isnull=True)
            & (Q(confirmed_at__isnull=True) | Q(confirmed_at__gte=now - max_age())))


def shipments_to_track(*, store: Store, now: dt.datetime | None = None, limit: int | None = None) -> QuerySet:
    now = now or timezone.now()
    limit = limit or int(_setting("FULFILMENT_TRACKING_MAX_PER_RUN", 500))
    due = Q(last_tracked_at__isnull=True) | Q(last_tracked_at__lte=now - recheck_after())
    return (Shipment.objects.filter(store=store).filter(trackable_q(now=now) & due)
            .select_related("store").defer("label_pdf", "label_data")
            .order_by(F("last_tracked_at").asc(nulls_first=True), "id")[:limit])


def stuck_q() -> Q:
    """Parcels flagged stuck and still worth a look (not delivered, not cancelled)."""
    return Q(stuck_since__isnull=False, delivered_at__isnull=True, state=Shipment.State.CONFIRMED)


# ---------------------------------------------------------------- the run
def shipments_track(*, store: Store, shipments: Sequence[Shipment] | None = None, trigger: str = "schedule",
                    now: dt.datetime | None = None, limit: int | None = None,
                    sleep: Callable[[float], object] = time.sleep) -> SyncRun:
    """One tracking run of ``store`` (``shipments``: only these, e.g. "check now"; else ``shipments_to_track``).
    ``now`` is the time the run judges "stuck" by (tests move it). Raises LockBusy when a run is going on."""
    pause = float(_setting("FULFILMENT_TRACKING_PAUSE_SECONDS", 1.0))
    params = {"shipments": [s.pk for s in shipments][:200]} if shipments is not None else {}
    with locked_run(store=store, kind=SyncRun.Kind.TRACKING, lock_name=LOCK_NAME, trigger=trigger,
                    params=params) as (rec, _token):
        now = now or timezone.now()
        if shipments is None:
            todo = list(shipments_to_track(store=store, now=now, limit=limit))
        else:
            todo = list(Shipment.objects.filter(pk__in=[s.pk for s in shipments], store=store)
                        .filter(trackable_q(now=now)).select_related("store").defer("label_pdf", "label_data")
                        .order_by("id"))
        rec.set_total(len(todo))
        groups, unsupported = _by_adapter(todo)
        if unsupported:
            _record_unsupported(unsupported, now=now)
            rec.advance(len(unsupported), counts={"not_trackable": len(unsupported)})
        failures: list[str] = []
        calls = 0
        for adapter, items in groups:
            by_number: dict[str, list[Shipment]] = defaultdict(list)
            for shipment in items:
                by_number[shipment.tracking_number].append(shipment)
            numbers = list(by_number)
            size = max(1, int(adapter.max_tracking_batch or 1))
            for start in range(0, len(numbers), size):
                batch = numbers[start:start + size]
                if calls and pause > 0:
                    sleep(pause)  # paced: carriers' tracking APIs have quotas
                calls += 1
                try:
                    results = _checked(adapter.track(batch), batch, adapter.name)
                except CarrierError as exc:
                    left = sum(len(by_number[n]) for n in numbers[start:])
                    kind = "retryable" if exc.retryable else "final"
                    reason = (f"Carrier {adapter.name!r} failed the tracking call ({kind}): {exc}; {left} parcel(s) "
                              "not checked, tried again next run.")
                    failures.append(reason)
                    rec.issue("tracking_failed", reason, reference=adapter.name,
                              details={"code": exc.code, "retryable": exc.retryable, "numbers": batch})
                    rec.advance(left, counts={"not_checked": left})
                    break  # this carrier's other parcels wait for the next run
                counts = _apply(store, results, by_number, now=now)
                rec.advance(sum(len(by_number[n]) for n in batch), counts=counts)
        if calls:
            rec.count("carrier_calls", calls)
        if failures:
            rec.fail(" ".join(failures))
    return rec.run


def shipments_track_now(*, shipments: Sequence[Shipment], trigger: str,
                        now: dt.datetime | None = None) -> list[SyncRun]:
    """The doors' "check tracking now" (admin, API, command): one run per store, of just these parcels. A run
    already going on for a store is a Conflict (try again in a moment), not a failure."""
    per_store: dict[int, list[Shipment]] = defaultdict(list)
    for shipment in shipments:
        per_store[shipment.store_id].append(shipment)
    runs = []
    for items in per_store.values():
        store = Store.objects.get(pk=items[0].store_id)
        try:
            runs.append(shipments_track(store=store, shipments=items, trigger=trigger, now=now))
        except LockBusy as exc:
            raise Conflict(f"Tracking is already being checked for store {store.name!r}: try again in a minute "
                           f"({exc}).") from None
    return runs


# ---------------------------------------------------------------- helpers
def _by_adapter(shipments: Iterable[Shipment]):
    """[(adapter, shipments)] for the parcels whose adapter tracks, and [(shipment, why not)] for the others."""
    groups: dict[int, tuple] = {}
    unsupported: list[tuple[Shipment, str]] = []
    for shipment in shipments:
        try:
            adapter = adapter_for_shipment(shipment)
        except UnknownCarrier as exc:
            unsupported.append((shipment, f"No carrier adapter to track it: {exc}"))
            continue
        if "tracking" not in adapter.capabilities:
            unsupported.append((shipment, f"Carrier adapter {adapter.name!r} does not offer tracking: follow it on "
                                          "the carrier's site."))
            continue
        groups.setdefault(id(adapter), (adapter, []))[1].append(shipment)
    return list(groups.values()), unsupported


def _record_unsupported(items: list[tuple[Shipment, str]], *, now: dt.datetime) -> None:
    for shipment, why in items:
        shipment.tracking_error, shipment.last_tracked_at = why[:2000], now
    Shipment.objects.bulk_update([s for s, _ in items], ["tracking_error", "last_tracked_at"], batch_size=500)


def _checked(results, numbers: list[str], carrier: str) -> list[TrackingResult]:
    """The adapter's answer, or CarrierError when it breaks the interface (then nothing of it is applied)."""
    results = list(results)
    if [r.tracking_number for r in results] != numbers:
        raise CarrierError(f"the answer does not match the numbers asked ({len(results)} results for "
                           f"{len(numbers)} numbers)", code="BAD_ANSWER")
    for result in results:
        for event in result.events:
            if event.status not in CarrierStatus.ALL or event.at is None or timezone.is_naive(event.at):
                raise CarrierError(f"{carrier} sent an unreadable event for {result.tracking_number} "
                                   f"({event.status!r} at {event.at!r})", code="BAD_ANSWER")
    return results


def _apply(store: Store, results: list[TrackingResult], by_number: dict[str, list[Shipment]], *,
           now: dt.datetime) -> dict[str, int]:
    """One answered call, in one transaction: new events, the parcels' state, the orders' flags and deliveries."""
    counts: dict[str, int] = defaultdict(int)
    stuck_after = dt.timedelta(days=store.tracking_stuck_days)
    changed: list[Shipment] = []
    newly_delivered: set[int] = set()
    news: dict[int, list[tuple[str, str]]] = defaultdict(list)  # order id -> [(number, reason or "" to clear)]
    with transaction.atomic():
        ids = [s.pk for r in results for s in by_number[r.tracking_number]]
        before = TrackingEvent.objects.filter(shipment_id__in=ids).count()
        rows = []
        for result in results:
            for shipment in by_number[result.tracking_number]:
                rows.extend(TrackingEvent(shipment=shipment, order_id=shipment.order_id, at=e.at, status=e.status,
                                          code=e.code[:40], description=e.description[:300], location=e.location[:200])
                            for e in result.events)
        TrackingEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        counts["events_new"] = TrackingEvent.objects.filter(shipment_id__in=ids).count() - before

        for result in results:
            latest = max(result.events, key=lambda e: e.at) if result.events else None
            delivered = next((e for e in result.events if e.status == CarrierStatus.DELIVERED), None)
            for shipment in by_number[result.tracking_number]:
                was_stuck, was_status = shipment.stuck_since is not None, shipment.tracking_status
                shipment.last_tracked_at = now
                shipment.tracking_error = result.error[:2000]
                if latest is not None and (shipment.last_event_at is None or latest.at >= shipment.last_event_at):
                    shipment.last_event_at, shipment.tracking_status = latest.at, latest.status
                if delivered is not None and shipment.delivered_at is None:
                    shipment.delivered_at = delivered.at
                    shipment.tracking_status = TrackingStatus.DELIVERED
                    newly_delivered.add(shipment.order_id)
                    counts["delivered"] += 1
                since = shipment.last_event_at or shipment.confirmed_at or shipment.created_at
                if shipment.delivered_at is None and now - since >= stuck_after:
                    shipment.stuck_since = shipment.stuck_since or since + stuck_after
                else:
                    shipment.stuck_since = None
                counts["errors" if result.error else "checked"] += 1
                number = shipment.tracking_number
                if shipment.stuck_since and not was_stuck:
                    counts["stuck"] += 1
                    if shipment.last_event_at:
                        last = f"last event {timezone.localtime(shipment.last_event_at):%d/%m/%Y %H:%M}"
                    else:
                        last = f"no event at all: {result.error}" if result.error else "no event at all"
                    news[shipment.order_id].append((number, f"parcel {number} has had no carrier event for "
                                                            f"{store.tracking_stuck_days} days ({last})."))
                elif shipment.tracking_status in PROBLEM_STATUSES and shipment.tracking_status != was_status:
                    counts["problems"] += 1
                    news[shipment.order_id].append((number, f"parcel {number}: {latest.description or latest.status} "
                                                            f"(carrier event {latest.code or latest.status})."))
                elif (was_stuck and not shipment.stuck_since) or (
                        was_status in PROBLEM_STATUSES and shipment.tracking_status not in PROBLEM_STATUSES):
                    news[shipment.order_id].append((number, ""))
                changed.append(shipment)
        Shipment.objects.bulk_update(changed, SHIPMENT_FIELDS, batch_size=500)
        for order_id, items in news.items():
            _flag(order_id, items)
        if newly_delivered:
            counts["orders_delivered"] = _deliver_orders(newly_delivered)
    return {k: v for k, v in counts.items() if v}


def _flag(order_id: int, items: list[tuple[str, str]]) -> None:
    """Replace the order's tracking reasons of these parcels: a new reason, or none when the parcel recovered."""
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        return
    numbers = {number for number, _ in items}
    kept = [r for r in (order.flag_reason or "").split("\n")
            if r and not any(r.startswith(f"{FLAG_PREFIX}parcel {n} ") or r.startswith(f"{FLAG_PREFIX}parcel {n}:")
                             for n in numbers)]
    new = [FLAG_PREFIX + reason for _, reason in items if reason]
    if new:
        order.flag_reason = "\n".join(kept)
        for reason in new:
            order_flag(order=order, reason=reason)
    elif "\n".join(kept) != (order.flag_reason or ""):
        Order.objects.filter(pk=order.pk).update(flagged=bool(kept), flag_reason="\n".join(kept),
                                                 updated_at=timezone.now())


def _deliver_orders(order_ids: set[int]) -> int:
    """In transit -> Complete for the orders whose every live parcel is delivered and nothing is left to ship."""
    not_delivered = set(Shipment.objects.filter(order_id__in=order_ids, state=Shipment.State.CONFIRMED,
                                                delivered_at__isnull=True).values_list("order_id", flat=True))
    unconfirmed = set(ShipmentLine.objects.filter(shipment__order_id__in=order_ids, cancelled=False)
                      .exclude(shipment__state=Shipment.State.CONFIRMED).values_list("shipment__order_id", flat=True))
    open_lines = set(OrderLine.objects.filter(order_id__in=order_ids, state=SHIPPABLE_LINE_STATE)
                     .values_list("order_id", flat=True))
    done = 0
    ready = order_ids - not_delivered - unconfirmed - open_lines
    last_parcel = {s.order_id: s for s in Shipment.objects.filter(order_id__in=ready, state=Shipment.State.CONFIRMED)
                   .only("order_id", "carrier_code", "tracking_number", "delivered_at").order_by("delivered_at")}
    # locked: an FNAC status read (Received, NotReceived...) landing meanwhile waits, and then wins
    for order in Order.objects.select_for_update().filter(pk__in=ready, status=S.IN_TRANSIT).order_by("pk"):
        last = last_parcel[order.pk]
        order_transition(order=order, to_status=S.COMPLETE, source=OrderStatusChange.Source.SYSTEM,
                         note=f"Delivered according to the carrier ({last.carrier_code} {last.tracking_number}, "
                              f"{timezone.localtime(last.delivered_at):%d/%m/%Y %H:%M}); FNAC's Received may follow.")
        done += 1
    return done
