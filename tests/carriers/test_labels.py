import datetime as dt
import re
from dataclasses import replace

import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from fnac_connector.carriers import Shipment
from fnac_connector.carriers.labels import (
    BARCODE_HEIGHT,
    FONT,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    QUIET_ZONE_MODULES,
    render_label,
    render_labels,
)
from fnac_connector.carriers.sandbox import LABEL_BANNER, SandboxCarrier

from .factories import party, shipment_request
from .pdfcheck import (
    barcode_patterns,
    count_page_objects,
    expected_bar_pattern,
    filled_rects,
    pages,
    pdf_string,
    text_strings,
)

A6_POINTS = (297.64, 419.53)
TODAY = dt.date(2026, 3, 14)


def shipment(tracking_number="COTEST0000001", **overrides):
    fields = dict(
        awb="SBX" + tracking_number,
        tracking_number=tracking_number,
        carrier_code="COLISSIMO",
        label_pdf=b"",
    )
    fields.update(overrides)
    return Shipment(**fields)


def test_label_is_a_one_page_a6_pdf():
    pdf = render_label(shipment_request(), shipment(), printed_on=TODAY)

    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert count_page_objects(pdf) == 1
    [page] = pages(pdf)
    x0, y0, width, height = page.media_box
    assert (x0, y0) == (0, 0)
    assert (width, height) == pytest.approx(A6_POINTS, abs=0.01)


def test_label_prints_parties_order_weight_carrier_and_date():
    request = shipment_request(service="DOMICILE")
    [page] = pages(render_label(request, shipment(), printed_on=TODAY, banner="SPECIMEN"))
    text = "\n".join(text_strings(page.content))

    for expected in [
        "COLISSIMO",
        "DOMICILE",
        "2026-03-14",
        "SPECIMEN",
        "Entrepôt Martin, Martin SARL",
        "12 rue de la Paix",
        "75002 Paris FRA",  # sender
        "Élodie Dupré",
        "3 avenue des Champs-Élysées",
        "Bât. B",
        "69001 Lyon",
        "Tel: +33612345678",
        "Order: 1A2B3C4D5E6F7 | Ref: CMD-42 | Weight: 1.25 kg",
        "2 x SKU-1  Le Petit Prince (poche)",
        "1 x SKU-2  Casque audio",
        "COTEST0000001",
        "AWB SBXCOTEST0000001",
    ]:
        assert expected in text, expected


def test_tracking_number_is_searchable_in_uncompressed_output():
    pdf = render_label(shipment_request(), shipment("CPXYZ0000042"), printed_on=TODAY)
    raw = render_labels([(shipment_request(), shipment("CPXYZ0000042"))], printed_on=TODAY, compress=False)

    assert b"(CPXYZ0000042) Tj" not in pdf  # the default output is compressed
    assert b"(CPXYZ0000042) Tj" in raw
    assert pages(raw)[0].content.strip() == pages(pdf)[0].content.strip()


def test_barcode_encodes_the_tracking_number():
    [page] = pages(render_label(shipment_request(), shipment("CPXYZ0000042"), printed_on=TODAY))

    found = barcode_patterns(page.content)

    assert found == [expected_bar_pattern("CPXYZ0000042")]
    # The comparison can fail: a number differing in one character draws other bars.
    assert expected_bar_pattern("CPXYZ0000043") != found[0]
    assert expected_bar_pattern("SBXCPXYZ0000042") != found[0]  # e.g. the AWB by mistake


def test_barcode_fits_the_page_with_quiet_zones_and_text_under_it():
    tracking = "1Z" + "A7" * 15  # 32 characters, FNAC's maximum, no digit pairs to compact
    [page] = pages(render_label(shipment_request(), shipment(tracking), printed_on=TODAY))

    assert barcode_patterns(page.content) == [expected_bar_pattern(tracking)]
    bars = [r for r in filled_rects(page.content) if r[3] == BARCODE_HEIGHT]
    module = min(w for _, _, w, _ in bars)
    left = min(x for x, _, _, _ in bars)
    right = max(x + w for x, _, w, _ in bars)
    assert left >= QUIET_ZONE_MODULES * module - 0.01
    assert PAGE_WIDTH - right >= QUIET_ZONE_MODULES * module - 0.01
    assert module >= 0.6  # about 0.21 mm: still printable at 203 dpi
    bottom = min(y for _, y, _, _ in bars)
    text_y = positions(page.content)[tracking][1]
    assert text_y < bottom


def test_labels_are_reproducible():
    request, ship = shipment_request(), shipment()
    assert render_label(request, ship, printed_on=TODAY) == render_label(request, ship, printed_on=TODAY)


def test_render_labels_puts_one_a6_page_per_label_in_order():
    carrier = SandboxCarrier(namespace="MULTI")
    batch = []
    for i, code in enumerate(["COLISSIMO", "CHRONOPOST", "UPS"]):
        request = shipment_request(order_id=f"ORDER{i}", carrier_code=code, recipient=party(city=f"Ville{i}"))
        batch.append((request, carrier.create_shipment(request)))

    pdf = render_labels(batch, printed_on=TODAY)

    assert pdf.startswith(b"%PDF")
    assert count_page_objects(pdf) == 3
    rendered = pages(pdf)
    assert len(rendered) == 3
    for page, (request, booked) in zip(rendered, batch, strict=True):
        assert page.media_box[2:] == pytest.approx(A6_POINTS, abs=0.01)
        text = text_strings(page.content)
        assert booked.tracking_number in text
        assert booked.carrier_code in text
        assert any(request.order_id in t for t in text)
        assert any(request.recipient.city in t for t in text)
        assert barcode_patterns(page.content) == [expected_bar_pattern(booked.tracking_number)]


def test_render_labels_needs_a_label():
    with pytest.raises(ValueError):
        render_labels([])


def test_sandbox_label_is_dated_and_marked_as_sandbox():
    carrier = SandboxCarrier(namespace="D", today=lambda: TODAY)
    [page] = pages(carrier.create_shipment(shipment_request()).label_pdf)
    text = text_strings(page.content)
    assert "2026-03-14" in text
    assert LABEL_BANNER in text


def test_overfull_label_stays_on_the_page_and_clear_of_the_barcode():
    long = "Résidence des Très Longues Adresses " * 4
    request = shipment_request(
        recipient=party(company=long, address1=long, address2=long, name="Jean-Baptiste " * 8, city=long),
        sender=replace(party(), name=long, company=long, address1=long),
        reference="R" * 80,
        lines=[(f"SKU-{i}", "Produit avec un nom vraiment très long " * 3, i) for i in range(20)],
        service="EXPRESS-" * 10,
        carrier_code="A VERY LONG CARRIER NAME FOR THE HEADER",
    )
    [page] = pages(render_label(request, shipment(carrier_code=request.carrier_code), printed_on=TODAY))

    barcode_top = max(y + h for _, y, _, h in filled_rects(page.content))
    tracking = "COTEST0000001"
    for text, (x, y, font, size) in positions(page.content).items():
        assert x >= 0 and x + stringWidth(text, font, size) <= PAGE_WIDTH + 0.01, text
        assert 0 <= y <= PAGE_HEIGHT, text
        if text != tracking:
            assert y > barcode_top, text
    text = text_strings(page.content)
    assert "+ 17 more line(s)" in text  # 3 lines fit, the rest is counted
    assert sum(t.endswith("...") for t in text) >= 5  # cut fields say so


FONTS = {b"F1": FONT, b"F2": "Helvetica-Bold"}


def positions(content: bytes) -> dict[str, tuple[float, float, str, float]]:
    """Each drawn string -> (x, y, font, size) of where it starts, for layout checks."""
    result = {}
    font, size = FONT, 0.0
    pattern = rb"/(F\d+) ([\d.]+) Tf|1 0 0 1 ([\d.-]+) ([\d.-]+) Tm \(((?:\\.|[^\\)])*)\) Tj"
    for match in re.finditer(pattern, content):
        if match.group(1):
            font, size = FONTS[match.group(1)], float(match.group(2))
        else:
            text = pdf_string(match.group(5))
            result[text] = (float(match.group(3)), float(match.group(4)), font, size)
    return result
