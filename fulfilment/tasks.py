"""django-q tasks (thin doors): each calls ``fulfilment.services``. Each is safe to run twice."""

from __future__ import annotations

import logging

from fnac_connector.errors import ServiceError
from fulfilment import services
from fulfilment.models import WmsDelivery
from stores.models import Store
from stores.syncs import LockBusy

log = logging.getLogger(__name__)


def carriers_refresh_task(store_id: int, trigger: str = "task") -> int | None:
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.is_connected:
        return None
    try:
        return services.carriers_refresh(store=store, trigger=trigger).pk
    except ServiceError as exc:
        log.warning("carriers refresh of store %s failed: %s", store_id, exc)
        return None


def wms_delivery_task(delivery_id: int) -> bool:
    delivery = WmsDelivery.objects.filter(pk=delivery_id).first()
    if delivery is None:
        return False
    return services.wms_delivery_send(delivery=delivery)


def wms_deliveries_task(store_id: int) -> dict | None:
    """Periodic: send every due delivery of the store (what failed earlier, what a crash left behind)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return None
    return services.wms_deliveries_drain(store=store, trigger="schedule")


def shipments_retry_sweep_task() -> list[int]:
    """Periodic, for the whole installation: queue :func:`shipments_retry_task` for each connected store with a
    shipment confirmation that could not reach FNAC (one query); returns the stores' ids."""
    from django_q.tasks import async_task

    store_ids = services.stores_with_failed_confirmations()
    for store_id in store_ids:
        async_task("fulfilment.tasks.shipments_retry_task", store_id,
                   q_options={"task_name": f"shipments retry {store_id}", "group": "shipments_retry"})
    return store_ids


def shipments_retry_task(store_id: int) -> int | None:
    """Confirmations of one store that could not reach FNAC are sent again (queued by the sweep above)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.is_connected:
        return None
    return services.shipments_retry_failed(store=store)


def order_ship_task(order_id: int, lines: list[int] | None = None, event_pk: int | None = None) -> str:
    """Started by a WMS event: Ready to Ship and the shipping steps."""
    return services.order_ship_on_wms_event(order_id=order_id, lines=lines, event_pk=event_pk)


def tracking_task(store_id: int) -> int | None:
    """Periodic: ask the carriers about the store's shipped parcels (``fulfilment.tracking.shipments_track``)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.is_connected:
        return None
    try:
        return services.shipments_track(store=store, trigger="schedule").pk
    except LockBusy:
        log.info("tracking of store %s is already running", store_id)
        return None
