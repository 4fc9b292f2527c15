"""Read-side questions of fulfilment: which order-page buttons apply to an order's state, carriers to pick."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from fulfilment.carriers import carriers_for_store
from fulfilment.models import Carrier, Shipment, ShipmentLine, TrackingStatus
from fulfilment.shipping import SHIPPABLE_LINE_STATE, SHIPPABLE_STATUSES
from fulfilment.tracking import stuck_q
from orders.models import Order, OrderStatus
from stores.models import Store

S = OrderStatus
CANCELLABLE_PAID = (S.NEW, S.PARTIAL, S.RFP, S.PICKED)


def order_can_release(order: Order) -> bool:
    return order.status == S.NEW


def order_can_ship(order: Order) -> bool:
    """Paid, in a shippable status, with a line not shipped yet."""
    if order.status not in SHIPPABLE_STATUSES or order.fnac_state != "ToShip":
        return False
    live = ShipmentLine.objects.filter(order_line__order=order, cancelled=False).values("order_line_id")
    return order.lines.filter(state=SHIPPABLE_LINE_STATE).exclude(pk__in=live).exists()


def order_has_label(order: Order) -> bool:
    """A parcel booked with a carrier adapter (a typed tracking number has no label)."""
    return Shipment.objects.filter(order=order, source=Shipment.Source.CARRIER).exclude(
        state=Shipment.State.CANCELLED).exists()


def order_can_cancel(order: Order) -> bool:
    """The order page's Cancel: a paid order not packed yet (refunded on FNAC). An order waiting for acceptance is
    refused with the Refuse button instead (the service still cancels one, for the API and the bulk action)."""
    if order.status not in CANCELLABLE_PAID or order.fnac_state != "ToShip":
        return False
    return not ShipmentLine.objects.filter(order_line__order=order, cancelled=False).exists()


def carriers_to_pick(store: Store) -> QuerySet[Carrier]:
    """The carriers FNAC listed for the store at the last refresh, for drop-downs."""
    return carriers_for_store(store)


# ---------------------------------------------------------------- tracking (lists, API filter, dashboard)
TRACKING_FILTERS = ("stuck", "in_transit", "delivered", "problem", "unknown", "not_checked")


def parcels_stuck_q() -> Q:
    """The dashboard's "Stuck parcels": confirmed, not delivered, no carrier event for the store's days."""
    return stuck_q()


def tracking_filter_q(value: str) -> Q:
    """The shipments of one tracking filter (admin list, ``?tracking=`` of the API); unknown values match nothing."""
    live = Q(state=Shipment.State.CONFIRMED, delivered_at__isnull=True)
    return {
        "stuck": stuck_q(),
        "in_transit": live & Q(stuck_since__isnull=True, tracking_status__in=[
            TrackingStatus.INFO, TrackingStatus.IN_TRANSIT, TrackingStatus.OUT_FOR_DELIVERY]),
        "delivered": Q(delivered_at__isnull=False),
        "problem": live & Q(tracking_status__in=[TrackingStatus.EXCEPTION, TrackingStatus.RETURNED]),
        "unknown": live & ~Q(tracking_error=""),
        "not_checked": live & Q(last_tracked_at__isnull=True),
    }.get(value, Q(pk__in=[]))
