"""django-q tasks (thin doors). Each is safe to run twice."""

from __future__ import annotations

import logging

from fnac_connector.errors import ServiceError
from fulfilment.carriers import carriers_refresh
from fulfilment.deliveries import wms_deliveries_drain, wms_delivery_send
from fulfilment.models import WmsDelivery, WmsEvent
from fulfilment.shipping import _record_problem, orders_ready_to_ship, shipments_retry_failed
from orders.models import Order, OrderStatusChange
from stores.models import Store

log = logging.getLogger(__name__)


def carriers_refresh_task(store_id: int, trigger: str = "task") -> int | None:
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.is_connected:
        return None
    try:
        return carriers_refresh(store=store, trigger=trigger).pk
    except ServiceError as exc:
        log.warning("carriers refresh of store %s failed: %s", store_id, exc)
        return None


def wms_delivery_task(delivery_id: int) -> bool:
    delivery = WmsDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return False
    return wms_delivery_send(delivery=delivery)


def wms_deliveries_task(store_id: int) -> dict | None:
    """Periodic: send every due delivery of the store (what failed earlier, what a crash left behind)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return None
    return wms_deliveries_drain(store=store, trigger="schedule")


def shipments_retry_task(store_id: int) -> int | None:
    """Periodic: confirmations that could not reach FNAC are sent again."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.is_connected:
        return None
    return shipments_retry_failed(store=store)


def order_ship_task(order_id: int, lines: list[int] | None = None, event_pk: int | None = None) -> str:
    """Started by a WMS event: Ready to Ship and the shipping steps. A problem is kept on the order and the
    event (the warehouse cannot see an exception)."""
    order = Order.objects.filter(pk=order_id).select_related("store").first()
    if order is None:
        return "order gone"
    outcome = orders_ready_to_ship(orders=[order], lines=lines or None, source=OrderStatusChange.Source.WAREHOUSE,
                                   trigger="wms")[0]
    if outcome.error:
        if outcome.shipment is None and outcome.exception is not None and "nothing left to ship" in outcome.error:
            return "nothing left to ship"  # a repeated task: the first one shipped everything
        if outcome.shipment is None:  # flag reasons are not repeated, so a booking problem is kept once
            _record_problem(outcome.order, outcome.error)
        if event_pk:
            WmsEvent.objects.filter(pk=event_pk).update(note=f"Shipping failed: {outcome.error}"[:4000])
        return outcome.error
    return f"shipped {outcome.shipment.tracking_number}"
