"""Events the warehouse reports (``picked``, ``packed``, for an order or some of its lines).

Idempotent: each event is stored once per (store, event_id); the same id again is answered "duplicate" and
changes nothing. Tolerant of order: an event that brings nothing new (a late ``picked`` after ``packed``, an
event for lines already shipped) is recorded as ignored, with the reason.

- An event for the whole order (no ``lines``), or one that completes every open line, moves the order to
  Ready to Ship (through Picked/Packed, for the history) and starts the shipping steps.
- An event for some lines records their progress; with ``"ship": true`` those lines ship now, on their own
  (a split shipment), and the rest ships later.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from fnac_connector.choices import choice_label
from fnac_connector.errors import InvalidInput
from fnac_connector.tasks import enqueue
from fulfilment.models import ShipmentLine, WmsEvent
from fulfilment.signing import parse_sent_at
from orders.models import Order, OrderStatus, OrderStatusChange
from orders.status import CANCELLED_STATUSES, order_transition
from stores.models import Store

log = logging.getLogger(__name__)

S = OrderStatus
Source = OrderStatusChange.Source
RANK = {WmsEvent.Kind.PICKED: 1, WmsEvent.Kind.PACKED: 2}
WORKING_STATUSES = (S.NEW, S.RFP, S.PICKED, S.PACKED, S.READY_TO_SHIP)


def wms_event_validate(event) -> dict:
    """The event's fields, or InvalidInput saying which field is wrong."""
    if not isinstance(event, dict):
        raise InvalidInput("each event must be a JSON object")
    errors = {}
    event_id = str(event.get("event_id") or "").strip()
    if not event_id or len(event_id) > 100:
        errors["event_id"] = ["required, at most 100 characters"]
    kind = event.get("type")
    if kind not in WmsEvent.Kind.values:
        errors["type"] = [f"must be one of {', '.join(WmsEvent.Kind.values)}, got {kind!r}"]
    order_ref = str(event.get("order_id") or "").strip()
    if not order_ref or len(order_ref) > 32:
        errors["order_id"] = ["required: the FNAC order id (at most 32 characters)"]
    lines = event.get("lines") or []
    if not isinstance(lines, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in lines):
        errors["lines"] = ["must be a list of order_detail_ids (integers)"]
    ship = event.get("ship", False)
    if not isinstance(ship, bool):
        errors["ship"] = ["must be true or false"]
    occurred_at = None
    if event.get("occurred_at") not in (None, ""):
        occurred_at = parse_sent_at(event.get("occurred_at"))
        if occurred_at is None:
            errors["occurred_at"] = ["must be an ISO-8601 date-time"]
    if errors:
        where = f"event {event_id!r}" if event_id else "event"
        raise InvalidInput(f"Invalid {where}: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items()),
                           details=errors)
    return {"event_id": event_id, "kind": kind, "order_ref": order_ref, "lines": list(dict.fromkeys(lines)),
            "ship": ship, "occurred_at": occurred_at}


def wms_events_receive(*, store: Store, events: list) -> list[dict]:
    """Apply each event on its own; the answer has one result per event, in order."""
    results = []
    for event in events:
        try:
            data = wms_event_validate(event)
        except InvalidInput as exc:
            results.append({"event_id": str(event.get("event_id", "")) if isinstance(event, dict) else "",
                            "status": "rejected", "detail": str(exc), "errors": exc.details})
            continue
        results.append(wms_event_receive(store=store, payload=event, **data))
    return results


def wms_event_receive(*, store: Store, event_id: str, kind: str, order_ref: str, lines: list[int],
                      ship: bool = False, occurred_at=None, payload: dict | None = None) -> dict:
    existing = WmsEvent.objects.filter(store=store, event_id=event_id).first()
    if existing is not None:
        return _duplicate(existing)
    try:
        with transaction.atomic():
            row = WmsEvent.objects.create(store=store, event_id=event_id, kind=kind, order_ref=order_ref,
                                          lines=lines, occurred_at=occurred_at, payload=payload or {})
            outcome, note, ship_lines = _apply(row, store=store, kind=kind, order_ref=order_ref, lines=lines,
                                               ship=ship)
            row.outcome, row.note = outcome, note
            row.save(update_fields=["outcome", "note", "order", "lines"])
            if ship_lines is not False:
                enqueue("fulfilment.tasks.order_ship_task", row.order_id, lines=ship_lines, event_pk=row.pk,
                        group=f"store:{store.pk}:ship", task_name=f"ship order {row.order_id} (wms {row.pk})")
    except IntegrityError:  # the same event_id arrived twice at the same time: the other one won
        existing = WmsEvent.objects.filter(store=store, event_id=event_id).first()
        if existing is None:
            raise
        return _duplicate(existing)
    status = Order.objects.filter(pk=row.order_id).values_list("status", flat=True).first() if row.order_id else None
    return {"event_id": event_id, "status": outcome, "detail": note, "order_status": status}


def _duplicate(existing: WmsEvent) -> dict:
    WmsEvent.objects.filter(pk=existing.pk).update(duplicates=F("duplicates") + 1)
    return {"event_id": existing.event_id, "status": "duplicate",
            "detail": f"Event {existing.event_id} was already received ({existing.get_outcome_display()}); "
                      "nothing changed.",
            "order_status": existing.order.status if existing.order_id else None}


def _apply(row: WmsEvent, *, store: Store, kind: str, order_ref: str, lines: list[int], ship: bool):
    """(outcome, note, lines to ship: False for none, None for every open line, or a list of detail ids)."""
    order = Order.objects.select_for_update().filter(store=store, marketplace_order_id=order_ref).first()
    if order is None:
        return WmsEvent.Outcome.REJECTED, f"Unknown order {order_ref} for store {store.name!r}.", False
    row.order = order
    all_lines = list(order.lines.all())
    by_detail = {line.order_detail_id: line for line in all_lines}
    unknown = [i for i in lines if i not in by_detail]
    if unknown:
        return (WmsEvent.Outcome.REJECTED, f"Order {order_ref} has no line(s) {unknown}; its lines are "
                                           f"{sorted(by_detail)}.", False)
    if order.status not in WORKING_STATUSES:
        why = "it is cancelled: stop work on it" if order.status in CANCELLED_STATUSES else \
            "it is already past the warehouse"
        return (WmsEvent.Outcome.IGNORED, f"Late or stray {kind} event: order {order_ref} is "
                                          f"{choice_label(S, order.status)}, {why}; nothing changed.", False)
    live = set(ShipmentLine.objects.filter(order_line__order=order, cancelled=False)
               .values_list("order_line_id", flat=True))
    open_lines = [line for line in all_lines if line.state == "ToShip" and line.pk not in live]
    progress = _progress(order, all_lines, exclude=row.pk)
    rank = RANK[kind]
    event_lines = [by_detail[i] for i in lines] if lines else open_lines
    new = [line for line in event_lines if line in open_lines and progress.get(line.pk, 0) < rank]
    if not new:
        done = ", ".join(sorted({_progress_word(progress.get(line.pk, 0), line.pk in live) for line in event_lines}))
        return (WmsEvent.Outcome.IGNORED, f"Late or repeated {kind} event: the line(s) are already "
                                          f"{done or 'shipped'}; nothing changed.", False)
    row.lines = [line.order_detail_id for line in new] if lines else []
    for line in new:
        progress[line.pk] = rank
    complete = all(progress.get(line.pk, 0) >= 1 for line in open_lines)
    if ship or complete:
        _advance(order, kind)
        targets = [line.order_detail_id for line in new] if (ship and not complete) else None
        what = f"line(s) {targets} ship now" if targets else "Ready to Ship, shipping every open line"
        return WmsEvent.Outcome.APPLIED, f"{kind.capitalize()}: {what}.", targets
    if order.status == S.NEW:
        order_transition(order=order, to_status=S.RFP, source=Source.WAREHOUSE, note="The warehouse started work")
    return (WmsEvent.Outcome.APPLIED, f"{kind.capitalize()} line(s) {[line.order_detail_id for line in new]}; "
                                      "waiting for the other lines.", False)


def _progress_word(rank: int, shipped: bool) -> str:
    return "shipped" if shipped else {2: "packed", 1: "picked"}.get(rank, "not open")


def _progress(order: Order, all_lines, exclude: int | None = None) -> dict[int, int]:
    """Line pk -> highest warehouse step already applied (1 picked, 2 packed)."""
    by_detail = {line.order_detail_id: line.pk for line in all_lines}
    progress: dict[int, int] = {}
    rows = WmsEvent.objects.filter(order=order, outcome=WmsEvent.Outcome.APPLIED).exclude(pk=exclude)
    for kind, lines in rows.values_list("kind", "lines"):
        targets = [by_detail[i] for i in lines if i in by_detail] if lines else list(by_detail.values())
        for pk in targets:
            progress[pk] = max(progress.get(pk, 0), RANK.get(kind, 0))
    return progress


def _advance(order: Order, kind: str) -> None:
    """Walk the warehouse statuses up to Ready to Ship, one recorded step at a time."""
    step = S.PICKED if kind == WmsEvent.Kind.PICKED else S.PACKED
    paths = {
        S.NEW: [S.RFP, step, S.READY_TO_SHIP],
        S.RFP: [step, S.READY_TO_SHIP],
        S.PICKED: [S.PACKED, S.READY_TO_SHIP] if kind == WmsEvent.Kind.PACKED else [S.READY_TO_SHIP],
        S.PACKED: [S.READY_TO_SHIP],
    }
    for target in paths.get(order.status, []):
        order_transition(order=order, to_status=target, source=Source.WAREHOUSE, note=f"WMS {kind} event")
