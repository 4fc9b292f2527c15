"""The fulfilment use cases: the one entry every door (admin, API, commands, tasks) calls."""

from fulfilment.cancellation import order_cancel_by_seller, order_cancellation_confirmed
from fulfilment.carriers import carrier_code_validate, carriers_for_store, carriers_refresh, carriers_refresh_request
from fulfilment.deliveries import wms_configured, wms_deliveries_drain, wms_delivery_retry_now, wms_delivery_send
from fulfilment.labels import NoLabel, labels_merged, order_label, orders_labels, shipment_label
from fulfilment.shipping import (
    CarrierFailure,
    NothingToShip,
    ShipOutcome,
    order_ready_to_ship,
    order_release_to_warehouse,
    order_ship_on_wms_event,
    order_shipments_retry,
    orders_ready_to_ship,
    shipments_confirm,
    shipments_retry_failed,
    stores_with_failed_confirmations,
)
from fulfilment.tracking import shipments_to_track, shipments_track, shipments_track_now
from fulfilment.wms_events import wms_event_receive, wms_events_receive

__all__ = [
    "CarrierFailure", "NoLabel", "NothingToShip", "order_ship_on_wms_event", "ShipOutcome",
    "carrier_code_validate", "carriers_for_store", "wms_configured", "carriers_refresh", "carriers_refresh_request",
    "labels_merged", "order_cancel_by_seller", "order_cancellation_confirmed", "order_label",
    "order_ready_to_ship", "order_release_to_warehouse", "order_shipments_retry", "orders_labels",
    "orders_ready_to_ship", "shipment_label", "shipments_confirm", "shipments_retry_failed",
    "stores_with_failed_confirmations",
    "wms_deliveries_drain", "wms_delivery_retry_now", "wms_delivery_send", "wms_event_receive",
    "wms_events_receive", "shipments_to_track", "shipments_track", "shipments_track_now",
]
