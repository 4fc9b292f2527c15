"""Seller cancellation pushed to FNAC.

- Before acceptance (FNAC Created): ``accept_order`` with every line ``Refused``.
- After payment (FNAC ToShip): ``refund_order`` with every line ``Refunded`` and a ``refund_reason``.
- Accepted but not paid: FNAC has no seller action; refused with a clear message.
- Packed, Ready to Ship or later: refused (no cancellation once packed), nothing is sent.

A New/Partial order ends Cancelled by seller at once, its stock released. An order the warehouse is working
on (RFP/Picked) goes "Cancelled by seller (in process)" and the WMS is told; it ends Cancelled by seller (stock
released) when the WMS acknowledges, or at once when the store has no WMS.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from fnac_connector.choices import choice_label
from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.fnac import types as fnac
from fulfilment.deliveries import order_payload, wms_configured, wms_delivery_create
from fulfilment.models import ShipmentLine, WmsDelivery
from orders.labels import REFUND_REASONS, refund_reason_label
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.services import describe_result, orders_push_updates
from orders.status import CANCELLED_STATUSES, NO_CANCEL_STATUSES, IllegalTransition, order_transition

S = OrderStatus
Source = OrderStatusChange.Source
DEFAULT_REASON = "no_stock"


def order_cancel_by_seller(*, order: Order, reason: str = DEFAULT_REASON, user=None, client=None) -> Order:
    order = Order.objects.select_related("store").get(pk=order.pk)
    ref = order.marketplace_order_id
    reason = (reason or DEFAULT_REASON).strip()
    if reason not in fnac.REFUND_REASONS:
        raise InvalidInput(f"Unknown cancel reason {reason!r}; use one of: "
                           f"{', '.join(f'{c} ({w})' for c, w in REFUND_REASONS.items())}.",
                           details={"reason": [f"unknown reason {reason!r}"]})
    status = order.status
    if status in NO_CANCEL_STATUSES:
        raise IllegalTransition(f"Order {ref} is {choice_label(S, status)}: an order can no longer be cancelled once "
                                "it is packed or ready to ship. Nothing was sent to FNAC.",
                                details={"order": order.pk, "from": status, "to": S.CANCELLED_BY_SELLER})
    if status in CANCELLED_STATUSES or status in (S.REFUSED, S.REFUNDED):
        raise Conflict(f"Order {ref} is already {choice_label(S, status)}.")
    if ShipmentLine.objects.filter(order_line__order=order, cancelled=False).exists():
        raise Conflict(f"Order {ref} has lines in a shipment: it can no longer be cancelled.")
    update, targets, final = _cancellation_update(order, reason)
    result = orders_push_updates(store=order.store, updates=[update], client=client)[0]
    if not result.ok:
        message = describe_result(result) or "FNAC refused the cancellation"
        Order.objects.filter(pk=order.pk).update(last_push_error=f"Cancellation: {message}"[:4000],
                                                 updated_at=timezone.now())
        raise MarketplaceFailure(f"FNAC did not take the cancellation of order {ref}: {message}")
    _apply_cancellation(order, update, result, targets, final, reason=reason, user=user)
    order.refresh_from_db()
    return order


def _cancellation_update(order: Order, reason: str) -> tuple[fnac.OrderUpdate, list[OrderLine], str]:
    """What to send FNAC for the order's status (the update, the lines it covers, the final status), or a
    Conflict saying why the seller cannot cancel it now."""
    ref, status = order.marketplace_order_id, order.status
    lines = list(order.lines.all())
    if status == S.AWAITING_ACCEPTANCE and order.fnac_state == "Created":
        targets = [line for line in lines if line.state in ("ToAccept", "")]
        update = fnac.OrderUpdate(order_id=ref, action="accept_order", lines=[
            fnac.LineUpdate(action="Refused", order_detail_id=line.order_detail_id) for line in targets])
        final = S.CANCELLED_BY_SELLER
    elif status in (S.NEW, S.PARTIAL, S.RFP, S.PICKED) and order.fnac_state == "ToShip":
        targets = [line for line in lines if line.state == "ToShip"]
        update = fnac.OrderUpdate(order_id=ref, action="refund_order", lines=[
            fnac.LineUpdate(action="Refunded", order_detail_id=line.order_detail_id, refund_reason=reason)
            for line in targets])
        final = S.CANCELLED_BY_SELLER if status in (S.NEW, S.PARTIAL) else S.CANCELLED_BY_SELLER_INPROCESS
    elif status == S.AWAITING_PAYMENT:
        raise Conflict(f"Order {ref} is accepted and waiting for payment: FNAC offers the seller no cancellation "
                       "in this state. Cancel it once it is paid (it is then refunded), or let FNAC cancel it.")
    else:
        raise Conflict(f"Order {ref} ({choice_label(S, status)}, FNAC {order.fnac_state}) cannot be cancelled by the "
                       "seller.")
    if not targets:
        raise Conflict(f"Order {ref}: no line can be refused or refunded on FNAC.")
    return update, targets, final


def _apply_cancellation(order: Order, update: fnac.OrderUpdate, result, targets: list[OrderLine], final: str, *,
                        reason: str, user=None) -> None:
    """FNAC took the cancellation: line and order states, the status change, the WMS told when it works on it."""
    source = Source.USER if user is not None else Source.SYSTEM
    line_state = "Refused" if update.action == "accept_order" else "Refunded"
    states = {lr.order_detail_id: lr.state for lr in result.lines if lr.state}
    with transaction.atomic():
        for line in targets:
            OrderLine.objects.filter(pk=line.pk).update(state=states.get(line.order_detail_id, line_state))
        fnac_state = result.state or ("Refused" if line_state == "Refused" else "Refunded")
        Order.objects.filter(pk=order.pk).update(fnac_state=fnac_state, last_push_error="", updated_at=timezone.now())
        order.fnac_state = fnac_state
        verb = "refused on FNAC (lines Refused)" if line_state == "Refused" else \
            f"refunded on FNAC, reason: {refund_reason_label(reason)}"
        order_transition(order=order, to_status=final, source=source, user=user,
                         note=f"Cancelled by the seller: {verb}")
        if final == S.CANCELLED_BY_SELLER_INPROCESS:
            if wms_configured(order.store):
                wms_delivery_create(store=order.store, kind=WmsDelivery.Kind.CANCELLED,
                                    key=f"order:{order.pk}:cancelled",
                                    payload={**order_payload(order), "reason": reason}, order=order)
            else:
                order_transition(order=order, to_status=S.CANCELLED_BY_SELLER, source=Source.SYSTEM,
                                 note="No WMS to stop: cancellation complete")


def order_cancellation_confirmed(*, order: Order, note: str = "") -> Order:
    """The warehouse stopped work on a cancelled order: it ends Cancelled by seller and its stock is released."""
    current = Order.objects.filter(pk=order.pk).values_list("status", flat=True).first()
    if current == S.CANCELLED_BY_SELLER_INPROCESS:
        order_transition(order=order, to_status=S.CANCELLED_BY_SELLER, source=Source.WAREHOUSE,
                         note=note or "The warehouse confirmed the cancellation")
    return order


def delivery_cancellation_acknowledged(delivery: WmsDelivery) -> None:
    """The WMS took the cancellation message (``deliveries.on_acknowledged`` handler)."""
    if delivery.order_id:
        order_cancellation_confirmed(order=delivery.order, note="The WMS acknowledged the cancellation")
