"""The order status rules, as data, and the one function that changes an order's OMS status.

- ``MAPPING``: FNAC state -> OMS status rows (shown read-only in the admin).
- ``TRANSITIONS``: the allowed OMS moves. Anything else is refused with ``IllegalTransition``.
- ``order_transition``: applies one move, writes an ``OrderStatusChange`` row, releases reserved stock
  when the order ends cancelled or refused.
- ``oms_status_for_fnac``: what an incoming FNAC state means for an order in a given OMS status
  (warehouse progress is never rolled back by a re-read; a cancellation after packing is flagged, not
  applied).
- ``order_apply_fnac_state``: the marketplace door to the two above (used by the import and status sync).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from fnac_connector.choices import choice_label
from fnac_connector.errors import Conflict
from orders.models import Order, OrderStatus, OrderStatusChange
from orders.reservations import order_consume, order_release, order_reserve

S = OrderStatus
Source = OrderStatusChange.Source


class IllegalTransition(Conflict):
    """An OMS status move the rules do not allow; the message says from, to and why."""

    code = "illegal_transition"


# ---------------------------------------------------------------- groups of statuses
# Statuses the warehouse is working on: a FNAC ToShip re-read never moves them back to New.
WAREHOUSE_STATUSES = frozenset({S.RFP, S.PICKED, S.PACKED, S.READY_TO_SHIP})
# Before the warehouse started: a cancellation applies at once.
CANCEL_NOW_STATUSES = frozenset({S.AWAITING_ACCEPTANCE, S.AWAITING_PAYMENT, S.NEW, S.PARTIAL})
# The warehouse started but has not packed: cancellation goes through "in process".
CANCEL_IN_PROCESS_STATUSES = frozenset({S.RFP, S.PICKED})
# No cancellation once packed (or later): a FNAC cancellation is flagged for a person instead.
NO_CANCEL_STATUSES = frozenset({S.PACKED, S.READY_TO_SHIP, S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED})
CANCELLED_STATUSES = frozenset({S.CANCELED, S.CANCEL_IN_PROCESS, S.CANCELLED_BY_SELLER,
                                S.CANCELLED_BY_SELLER_INPROCESS})
# Entering one of these releases the stock the order had reserved.
RELEASE_STOCK_STATUSES = frozenset({S.CANCELED, S.CANCELLED_BY_SELLER, S.REFUSED, S.REFUNDED})
# Orders whose stock is (or should be) reserved.
RESERVING_STATUSES = frozenset({S.NEW, S.PARTIAL, S.RFP, S.PICKED, S.PACKED, S.READY_TO_SHIP,
                                S.CANCEL_IN_PROCESS, S.CANCELLED_BY_SELLER_INPROCESS})
FINAL_STATUSES = frozenset({S.COMPLETE, S.CANCELED, S.CANCELLED_BY_SELLER, S.REFUSED, S.REFUNDED})


# ---------------------------------------------------------------- FNAC -> OMS mapping (the table of the issue)
@dataclass(frozen=True)
class MappingRow:
    oms_status: str
    fnac_state: str  # "" when FNAC has no state for it
    rule: str


MAPPING: tuple[MappingRow, ...] = (
    MappingRow(S.AWAITING_ACCEPTANCE, "Created", "new FNAC order waiting for the seller to accept it"),
    MappingRow(S.AWAITING_PAYMENT, "Accepted", "accepted by the seller, not yet paid"),
    MappingRow(S.NEW, "ToShip", "paid; all lines can be reserved from stock"),
    MappingRow(S.PARTIAL, "ToShip", "paid; some line is out of stock (or its SKU unknown): the order waits and "
                                    "moves to New by itself when stock arrives, oldest first"),
    MappingRow(S.RFP, "ToShip", "released to the warehouse (ready for pick/pack)"),
    MappingRow(S.PICKED, "ToShip", "picked by the warehouse"),
    MappingRow(S.PACKED, "ToShip", "packed by the warehouse; no cancellation from now on"),
    MappingRow(S.READY_TO_SHIP, "", "packed, waiting for the carrier (no FNAC state)"),
    MappingRow(S.IN_TRANSIT, "Shipped", "shipped, in transit"),
    MappingRow(S.COMPLETE, "Received", "delivered (final): FNAC says Received, or the carrier's tracking says every "
                                       "parcel of an In transit order is delivered"),
    MappingRow(S.NOT_RECEIVED, "NotReceived", "the buyer says the parcel did not arrive"),
    MappingRow(S.CANCELED, "Cancelled", "cancelled on FNAC before the warehouse started (stock released)"),
    MappingRow(S.CANCEL_IN_PROCESS, "Cancelled", "cancelled on FNAC while the warehouse still has to stop work "
                                                 "on it (RFP or Picked); Cancelled once the warehouse confirms"),
    MappingRow(S.CANCELLED_BY_SELLER, "", "seller-side cancellation (not pushed to FNAC by the reference "
                                          "connectors; stock released)"),
    MappingRow(S.CANCELLED_BY_SELLER_INPROCESS, "", "seller-side cancellation while the warehouse is working "
                                                    "on the order"),
    MappingRow(S.REFUSED, "Refused", "refused by the seller (or FNAC)"),
    MappingRow(S.REFUNDED, "Refunded", "refunded to the buyer"),
    MappingRow(S.ERROR, "Error", "FNAC reports the order in error"),
)

# The plain FNAC state -> OMS status for an order met for the first time (New may become Partial when
# its stock cannot be reserved).
FNAC_TO_OMS: dict[str, str] = {
    "Created": S.AWAITING_ACCEPTANCE,
    "Accepted": S.AWAITING_PAYMENT,
    "Refused": S.REFUSED,
    "ToShip": S.NEW,
    "Shipped": S.IN_TRANSIT,
    "NotReceived": S.NOT_RECEIVED,
    "Received": S.COMPLETE,
    "Cancelled": S.CANCELED,
    "Refunded": S.REFUNDED,
    "Error": S.ERROR,
}

# ---------------------------------------------------------------- allowed OMS transitions
_TRANSITIONS: dict[str, set[str]] = {
    S.AWAITING_ACCEPTANCE: {S.AWAITING_PAYMENT, S.NEW, S.PARTIAL, S.REFUSED, S.CANCELED, S.CANCELLED_BY_SELLER,
                            S.IN_TRANSIT, S.COMPLETE, S.ERROR},
    S.AWAITING_PAYMENT: {S.NEW, S.PARTIAL, S.REFUSED, S.CANCELED, S.CANCELLED_BY_SELLER, S.IN_TRANSIT,
                         S.COMPLETE, S.ERROR},
    S.NEW: {S.PARTIAL, S.RFP, S.READY_TO_SHIP, S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED, S.CANCELED,
            S.CANCELLED_BY_SELLER, S.REFUNDED, S.ERROR},
    S.PARTIAL: {S.NEW, S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED, S.CANCELED, S.CANCELLED_BY_SELLER, S.REFUNDED,
                S.ERROR},
    S.RFP: {S.PICKED, S.PACKED, S.READY_TO_SHIP, S.NEW, S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED,
            S.CANCEL_IN_PROCESS, S.CANCELLED_BY_SELLER_INPROCESS, S.REFUNDED, S.ERROR},
    S.PICKED: {S.PACKED, S.READY_TO_SHIP, S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED, S.CANCEL_IN_PROCESS,
               S.CANCELLED_BY_SELLER_INPROCESS, S.REFUNDED, S.ERROR},
    S.PACKED: {S.READY_TO_SHIP, S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED, S.REFUNDED, S.ERROR},
    S.READY_TO_SHIP: {S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED, S.REFUNDED, S.ERROR},
    S.IN_TRANSIT: {S.COMPLETE, S.NOT_RECEIVED, S.REFUNDED, S.ERROR},
    S.NOT_RECEIVED: {S.COMPLETE, S.IN_TRANSIT, S.REFUNDED, S.ERROR},
    S.COMPLETE: {S.REFUNDED, S.NOT_RECEIVED},
    S.CANCEL_IN_PROCESS: {S.CANCELED, S.REFUNDED},
    S.CANCELLED_BY_SELLER_INPROCESS: {S.CANCELLED_BY_SELLER, S.REFUNDED},
    S.CANCELED: {S.REFUNDED},
    S.CANCELLED_BY_SELLER: {S.REFUNDED, S.CANCELED},
    S.REFUSED: {S.CANCELED},
    S.REFUNDED: set(),
    S.ERROR: {s for s in S.values if s != S.ERROR},  # a person or FNAC may resolve an error to anything
}
TRANSITIONS: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in _TRANSITIONS.items()}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def _why_not(from_status: str, to_status: str) -> str:
    if to_status not in S.values:
        return f"'{to_status}' is not an OMS status"
    if to_status in CANCELLED_STATUSES and from_status in NO_CANCEL_STATUSES:
        return "an order can no longer be cancelled once it is packed or ready to ship"
    if from_status in FINAL_STATUSES and not TRANSITIONS.get(from_status):
        return f"'{from_status}' is final"
    allowed = sorted(TRANSITIONS.get(from_status, ()))
    return "allowed from here: " + (", ".join(allowed) if allowed else "nothing")


_label = functools.partial(choice_label, S, empty="-")  # a status's label in messages


def order_transition(*, order: Order, to_status: str, source: str, user=None, note: str = "") -> Order:
    """Move ``order`` to ``to_status`` if the rules allow it and record who/what did it.

    Moving to the status the order already has is a no-op (no audit row). The order row is locked for
    the check, so two concurrent moves cannot both pass on a stale status.
    """
    if source not in Source.values:
        raise ValueError(f"unknown status change source {source!r}")
    with transaction.atomic():
        current = Order.objects.select_for_update().filter(pk=order.pk).values_list("status", flat=True).first()
        if current is None:
            raise Conflict(f"Order {order} does not exist (any more).")
        order.status = current
        if current == to_status:
            return order
        if not can_transition(current, to_status):
            raise IllegalTransition(
                f"Order {order.marketplace_order_id}: cannot change status from {_label(current)} to "
                f"{_label(to_status)}: {_why_not(current, to_status)}.",
                details={"order": order.pk, "from": current, "to": to_status})
        now = timezone.now()
        Order.objects.filter(pk=order.pk).update(status=to_status, updated_at=now)
        order.status, order.updated_at = to_status, now
        OrderStatusChange.objects.create(order=order, from_status=current, to_status=to_status, source=source,
                                         user=user if (user is not None and user.is_authenticated) else None,
                                         note=note[:2000])
        if to_status in RELEASE_STOCK_STATUSES:
            order_release(order=order)
    return order


def order_flag(*, order: Order, reason: str) -> Order:
    """Flag the order for a person (kept reasons are not repeated). Reasons are kept one per line, so a reason is
    written on one line (an FNAC message with line breaks would otherwise split into lines that lose the prefix
    ``fulfilment`` clears its own reasons by)."""
    reason = " ".join((reason or "").split())
    reasons = [r for r in (order.flag_reason or "").split("\n") if r]
    if reason not in reasons:
        reasons.append(reason)
    order.flagged, order.flag_reason = True, "\n".join(reasons)
    Order.objects.filter(pk=order.pk).update(flagged=True, flag_reason=order.flag_reason, updated_at=timezone.now())
    return order


def order_unflag(*, order: Order) -> Order:
    order.flagged, order.flag_reason = False, ""
    Order.objects.filter(pk=order.pk).update(flagged=False, flag_reason="", updated_at=timezone.now())
    return order


# ---------------------------------------------------------------- incoming FNAC state
@dataclass(frozen=True)
class StatusDecision:
    to_status: str | None  # None: keep the current status
    flag_reason: str = ""  # set: the FNAC state cannot be applied, a person must look
    reserve: bool = False  # New/Partial must be decided by reserving stock


NOT_RECEIVED_REASON = ("The buyer reports the parcel as not received: check the carrier's tracking and answer "
                       "FNAC (proof of delivery, or a refund).")


def oms_status_for_fnac(*, fnac_state: str, current: str | None) -> StatusDecision:
    """The OMS status an order in ``current`` (None: a new order) should have once FNAC says ``fnac_state``."""
    target = FNAC_TO_OMS.get(fnac_state)
    if target is None:
        return StatusDecision(None, f"Unknown FNAC state '{fnac_state}'; the OMS status was left unchanged.")
    if current is None:
        return StatusDecision(target, reserve=target == S.NEW)
    if fnac_state == "ToShip":
        if current in (S.AWAITING_ACCEPTANCE, S.AWAITING_PAYMENT, S.ERROR):
            return StatusDecision(S.NEW, reserve=True)
        # New/Partial and the warehouse statuses are already "to ship": never rolled back.
        return StatusDecision(None)
    if fnac_state == "Cancelled":
        if current in CANCEL_NOW_STATUSES or current == S.ERROR:
            return StatusDecision(S.CANCELED)
        if current in CANCEL_IN_PROCESS_STATUSES:
            return StatusDecision(S.CANCEL_IN_PROCESS)
        if current in NO_CANCEL_STATUSES:
            return StatusDecision(None, f"FNAC cancelled this order while it is {_label(current)}; the "
                                        "cancellation was not applied (no cancellation once packed). "
                                        "Resolve it with the buyer/FNAC.")
        return StatusDecision(None)  # already cancelled (by FNAC or by the seller), refunded or refused
    if fnac_state in ("Created", "Accepted") and current not in (S.AWAITING_ACCEPTANCE, S.AWAITING_PAYMENT):
        return StatusDecision(None)  # an older read of an order that already moved on
    if current == target:
        return StatusDecision(None)
    if current in CANCELLED_STATUSES and target in (S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED):
        return StatusDecision(None, f"FNAC says {fnac_state} but the order is {_label(current)} in the OMS.")
    if not can_transition(current, target):
        if current in FINAL_STATUSES:
            return StatusDecision(None)
        return StatusDecision(None, f"FNAC state {fnac_state} cannot be applied to an order that is "
                                    f"{_label(current)}: {_why_not(current, target)}.")
    return StatusDecision(target)


def order_apply_fnac_state(*, order: Order, fnac_state: str, note: str = "") -> Order:
    """Apply what FNAC says to an existing order: a transition, a stock reservation, or a flag."""
    decision = oms_status_for_fnac(fnac_state=fnac_state, current=order.status)
    if decision.flag_reason:
        return order_flag(order=order, reason=decision.flag_reason)
    if decision.to_status is None:
        return order
    to_status = decision.to_status
    with transaction.atomic():
        if decision.reserve:
            to_status = S.NEW if order_reserve(order=order) else S.PARTIAL
        order = order_transition(order=order, to_status=to_status, source=Source.MARKETPLACE,
                                 note=note or f"FNAC state {fnac_state}")
        if to_status in (S.IN_TRANSIT, S.COMPLETE, S.NOT_RECEIVED):
            # shipped outside the OMS flow (e.g. from FNAC's back office): the reserved units are gone
            order_consume(order=order)
        if to_status == S.NOT_RECEIVED:
            order = order_flag(order=order, reason=NOT_RECEIVED_REASON)
        return order


def mapping_rows() -> list[dict]:
    """The mapping for display: OMS status label, FNAC state, rule, and where it may go next."""
    return [{"oms_status": row.oms_status, "oms_label": _label(row.oms_status), "fnac_state": row.fnac_state or "—",
             "rule": row.rule, "next": ", ".join(_label(s) for s in sorted(TRANSITIONS.get(row.oms_status, ())))}
            for row in MAPPING]
