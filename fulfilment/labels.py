"""Shipping labels from the database (any process can print them again, whichever process booked them).

One shipment: the label exactly as the carrier returned it (PDF, or ZPL for thermal printers). Several shipments
(an order shipped in parts, a selection of orders in the admin): the carriers' PDFs merged page by page with
pypdf, or the ZPL labels one after another.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from fnac_connector.errors import InvalidInput, ServiceError
from fulfilment.models import Shipment
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
    """One file of the shipments' labels, in the order given: the carriers' own PDFs merged page by page (pypdf:
    the carrier's label is printed as it sent it, never re-drawn), or their ZPL labels one after another for a
    thermal printer. A selection mixing PDF and ZPL labels is refused (print each format on its printer)."""
    labelled = [s for s in shipments if s.label_pdf]
    if not labelled:
        raise NoLabel("None of the selected orders has a shipping label.")
    formats = {s.label_format or "PDF" for s in labelled}
    if len(formats) > 1:
        zpl = [s.tracking_number for s in labelled if s.label_format == "ZPL"]
        shown = ", ".join(zpl[:10]) + ("..." if len(zpl) > 10 else "")
        raise InvalidInput(f"The selection mixes PDF and ZPL (thermal) labels: print the ZPL ones ({shown}) "
                           "separately.", details={"label_format": sorted(formats)})
    if formats == {"ZPL"}:
        return b"\n".join(bytes(s.label_pdf).strip() for s in labelled) + b"\n"
    writer = PdfWriter()
    for s in labelled:
        try:
            writer.append(PdfReader(io.BytesIO(bytes(s.label_pdf))))
        except PdfReadError as exc:
            raise ServiceError(f"The label of shipment {s.tracking_number} is not a readable PDF ({exc}).") from exc
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def label_content_type(content: bytes) -> tuple[str, str]:
    """(content type, file extension) of a label file: PDF, or ZPL text."""
    if content[:5] == b"%PDF-":
        return "application/pdf", "pdf"
    return "application/x-zpl", "zpl"


def orders_labels(*, orders: Sequence[Order]) -> bytes:
    return labels_merged(shipments=list(printable_shipments([o.pk for o in orders])))
