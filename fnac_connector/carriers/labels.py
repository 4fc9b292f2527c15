"""A6 shipping labels drawn with reportlab: one page per shipment, tracking number as Code 128.

``render_labels`` draws several labels into one PDF (one A6 page each), which is how a selection
of orders is printed: re-drawing from the data avoids merging PDFs and a PDF-merge dependency.
Output is reproducible: the same shipments and date give the same bytes (``invariant``).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterable

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A6
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from .base import Party, Shipment, ShipmentRequest

PAGE_WIDTH, PAGE_HEIGHT = A6  # 297.64 x 419.53 points (105 x 148 mm)
MARGIN = 10.0
BARCODE_HEIGHT = 64.0
# Widest module we draw; narrower when a long tracking number must fit the page. Kept on a 0.05 pt
# grid so the widths written to the PDF are exact (reportlab prints few decimals).
MAX_BAR_WIDTH = 1.5
BAR_WIDTH_STEP = 0.05
QUIET_ZONE_MODULES = 10  # Code 128 requires 10 modules of blank space each side
FONT = "Helvetica"
FONT_BOLD = "Helvetica-Bold"
MAX_CONTENT_LINES = 4
MAX_LINES_PER_FIELD = 2  # a long address field wraps once, then is cut: the page has a fixed budget


def render_label(
    request: ShipmentRequest, shipment: Shipment, *, printed_on: dt.date | None = None, banner: str = ""
) -> bytes:
    """One A6 label as a PDF."""
    return render_labels([(request, shipment)], printed_on=printed_on, banner=banner)


def render_labels(
    labels: Iterable[tuple[ShipmentRequest, Shipment]],
    *,
    printed_on: dt.date | None = None,
    banner: str = "",
    compress: bool = True,
) -> bytes:
    """Several labels in one PDF, one A6 page per (request, shipment), in the order given.

    ``banner`` is printed across the top of each label (the sandbox prints "SANDBOX - NOT A REAL
    LABEL"); ``compress=False`` leaves the page streams readable, for debugging.
    """
    printed_on = printed_on or dt.date.today()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A6, invariant=1, pageCompression=1 if compress else 0)
    canvas.setTitle("Shipping labels")
    canvas.setCreator("fnac-connector")
    pages = 0
    for request, shipment in labels:
        _draw_label(canvas, request, shipment, printed_on=printed_on, banner=banner)
        canvas.showPage()
        pages += 1
    if not pages:
        raise ValueError("render_labels needs at least one label")
    canvas.save()
    return buffer.getvalue()


def barcode_for(tracking_number: str, max_width: float) -> Code128:
    """The Code 128 symbol of ``tracking_number`` with the widest module that fits ``max_width``
    (quiet zones included). Raises ValueError if even the narrowest grid step does not fit."""
    probe = Code128(tracking_number, barWidth=1, quiet=0)
    modules = probe.width + 2 * QUIET_ZONE_MODULES  # with barWidth=1, width is in modules
    bar_width = min(MAX_BAR_WIDTH, math.floor(max_width / modules / BAR_WIDTH_STEP) * BAR_WIDTH_STEP)
    bar_width = round(bar_width, 2)
    if bar_width < BAR_WIDTH_STEP:
        raise ValueError(f"tracking number too long for a label barcode: {tracking_number!r}")
    quiet = QUIET_ZONE_MODULES * bar_width
    return Code128(
        tracking_number, barWidth=bar_width, barHeight=BARCODE_HEIGHT, quiet=1, lquiet=quiet, rquiet=quiet
    )


def _draw_label(
    canvas: Canvas, request: ShipmentRequest, shipment: Shipment, *, printed_on: dt.date, banner: str
) -> None:
    left, right = MARGIN, PAGE_WIDTH - MARGIN
    width = right - left
    top = PAGE_HEIGHT - MARGIN

    # Header: carrier and service on the left, date on the right, optional banner below.
    date = printed_on.isoformat()
    canvas.setFont(FONT, 9)
    canvas.drawRightString(right, top - 12, date)
    room = width - stringWidth(date, FONT, 9) - 8
    carrier = _truncate(shipment.carrier_code, FONT_BOLD, 16, room)
    canvas.setFont(FONT_BOLD, 16)
    canvas.drawString(left, top - 14, carrier)
    service_room = room - stringWidth(carrier, FONT_BOLD, 16) - 6
    if request.service and service_room > stringWidth(request.service[:3] + "...", FONT, 9):
        service_x = left + stringWidth(carrier, FONT_BOLD, 16) + 6
        canvas.setFont(FONT, 9)
        canvas.drawString(service_x, top - 13, _truncate(request.service, FONT, 9, service_room))
    y = top - 20
    if banner:
        canvas.setFont(FONT_BOLD, 8)
        canvas.drawCentredString(PAGE_WIDTH / 2, y - 8, banner)
        y -= 12
    canvas.setLineWidth(1)
    canvas.line(left, y, right, y)

    # Sender (small, three lines at most), then the recipient (large, boxed): what the driver reads.
    y = _draw_sender(canvas, request.sender, left, y - 4, width)
    y -= 4
    box_top = y
    y = _draw_recipient(canvas, request.recipient, left + 4, y - 4, width - 8)
    canvas.setLineWidth(1.5)
    canvas.rect(left, y - 2, width, box_top - y + 2, stroke=1, fill=0)
    y -= 8

    # Order facts.
    canvas.setFont(FONT, 8.5)
    facts = [f"Order: {request.order_id}", f"Weight: {request.weight_kg.normalize():f} kg"]
    if request.reference:
        facts.insert(1, f"Ref: {request.reference}")
    for fact in _fit_lines(" | ".join(facts), FONT, 8.5, width):
        y -= 10
        canvas.drawString(left, y, fact)

    # Tracking barcode at the bottom, human-readable text under it.
    text_size = 12
    barcode_y = MARGIN + text_size + 6
    barcode_top = barcode_y + BARCODE_HEIGHT

    # Contents, in the room left above the barcode: the packing slip has the full list.
    if request.lines:
        canvas.setFont(FONT, 7)
        room = min(MAX_CONTENT_LINES, max(0, int((y - barcode_top - 12) // 8.5)))
        lines = list(request.lines)
        shown = lines if len(lines) <= room else lines[: max(0, room - 1)]
        for line in shown:
            y -= 8.5
            text = f"{line.quantity} x {line.sku}  {line.name}"
            canvas.drawString(left, y, _truncate(text, FONT, 7, width))
        if len(shown) < len(lines) and room:
            y -= 8.5
            canvas.drawString(left, y, f"+ {len(lines) - len(shown)} more line(s)")

    barcode = barcode_for(shipment.tracking_number, width)
    barcode.drawOn(canvas, (PAGE_WIDTH - barcode.width) / 2, barcode_y)
    canvas.setFont(FONT_BOLD, text_size)
    canvas.drawCentredString(PAGE_WIDTH / 2, MARGIN + 2, shipment.tracking_number)
    canvas.setFont(FONT, 6.5)
    canvas.drawString(left, barcode_top + 4, f"AWB {shipment.awb}")


def _draw_sender(canvas: Canvas, party: Party, x: float, y: float, width: float) -> float:
    """The sender in three cut lines; return the y below the block."""
    canvas.setFont(FONT_BOLD, 6.5)
    y -= 7
    canvas.drawString(x, y, "FROM")
    rows = [
        ", ".join(p for p in (party.name, party.company) if p),
        ", ".join(p for p in (party.address1, party.address2) if p),
        " ".join(p for p in (party.zipcode, party.city, party.country) if p),
    ]
    canvas.setFont(FONT, 7.5)
    for text in rows:
        y -= 9
        canvas.drawString(x, y, _truncate(text, FONT, 7.5, width))
    return y - 2


def _draw_recipient(canvas: Canvas, party: Party, x: float, y: float, width: float) -> float:
    """The recipient, one field a row, each wrapped to two lines at most; return the y below it."""
    size = 11
    canvas.setFont(FONT_BOLD, 6.5)
    y -= 7
    canvas.drawString(x, y, "TO")
    rows = [
        (FONT_BOLD, party.name),
        (FONT, party.company),
        (FONT, party.address1),
        (FONT, party.address2),
        (FONT_BOLD, f"{party.zipcode} {party.city}".strip()),
        (FONT, party.country),
        (FONT, f"Tel: {party.phone}" if party.phone else ""),
    ]
    for font, text in rows:
        if not text:
            continue
        canvas.setFont(font, size)
        for piece in _fit_lines(text, font, size, width):
            y -= size * 1.2
            canvas.drawString(x, y, piece)
    return y - 2


def _fit_lines(
    text: str, font: str, size: float, width: float, max_lines: int = MAX_LINES_PER_FIELD
) -> list[str]:
    """Wrap ``text`` to ``width`` in ``max_lines`` at most, ending with "..." when something is cut."""
    lines = [_truncate(line, font, size, width) for line in simpleSplit(text, font, size, width)] or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _truncate(lines[-1].removesuffix("...") + " ...", font, size, width)
    return lines


def _truncate(text: str, font: str, size: float, width: float) -> str:
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text + "..."
