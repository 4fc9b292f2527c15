"""Shipping labels from the database (any process can print them again, whichever process booked them).

One shipment: the PDF exactly as the carrier adapter returned it. Several shipments (an order shipped in
parts, a selection of orders in the admin): one PDF with one A6 page per shipment, drawn again from the data
kept with each shipment (``carriers.labels.render_labels``).
"""

from __future__ import annotations

from collections.abc import Sequence

from fnac_connector.carriers import Shipment as CarrierShipment
from fnac_connector.carriers.labels import render_labels
from fnac_connector.carriers.sandbox import LABEL_BANNER
from fnac_connector.errors import ServiceError
from fulfilment.models import Shipment
from fulfilment.shipping import request_from_json
from orders.models import Order


class NoLabel(ServiceError):
    code = "no_label"
    http_status = 404


def printable_shipments(order_ids: Sequence[int]):
    return (Shipment.objects.filter(order_id__in=list(order_ids)).exclude(state=Shipment.State.CANCELLED)
            .exclude(label_pdf=None).select_related("order").order_by("order_id", "id"))


def shipment_label(*, shipment: Shipment) -> bytes:
    if not shipment.label_pdf:
        why = "its tracking number was typed by hand (the label comes from the seller's other system)" \
            if shipment.source == Shipment.Source.MANUAL else "the carrier returned none"
        raise NoLabel(f"Shipment {shipment.tracking_number} has no label: {why}.")
    return bytes(shipment.label_pdf)


def order_label(*, order: Order) -> bytes:
    """The order's label; an order shipped in several parcels gets one page per parcel."""
    shipments = list(printable_shipments([order.pk]))
    if not shipments:
        manual = order.shipments.exclude(state=Shipment.State.CANCELLED).filter(source=Shipment.Source.MANUAL)
        if manual.exists():
            raise NoLabel(f"Order {order.marketplace_order_id} has no label: its tracking number was typed by hand.")
        raise NoLabel(f"Order {order.marketplace_order_id} has no shipping label yet: mark it Ready to Ship first.")
    if len(shipments) == 1:
        return shipment_label(shipment=shipments[0])
    return labels_merged(shipments=shipments)


def labels_merged(*, shipments: Sequence[Shipment]) -> bytes:
    """One PDF, one A6 page per shipment, in the order given."""
    pairs = []
    for s in shipments:
        if not s.label_pdf or not s.label_data:
            continue
        request = request_from_json(s.label_data)
        pairs.append((request, CarrierShipment(awb=s.awb, tracking_number=s.tracking_number,
                                               carrier_code=s.carrier_code, label_pdf=b"",
                                               tracking_url=s.tracking_url)))
    if not pairs:
        raise NoLabel("None of the selected orders has a shipping label.")
    sandbox = any(s.adapter == "sandbox" for s in shipments)
    return render_labels(pairs, banner=LABEL_BANNER if sandbox else "")


def orders_labels(*, orders: Sequence[Order]) -> bytes:
    return labels_merged(shipments=list(printable_shipments([o.pk for o in orders])))
