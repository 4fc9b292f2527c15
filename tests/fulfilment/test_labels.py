"""Labels: stored with the shipment (any process re-prints them), one per order or merged for a selection;
they open as A6 PDFs and carry the tracking number as a Code 128 barcode."""

from __future__ import annotations

from fnac_connector.carriers import registry
from fulfilment import services
from tests.carriers.pdfcheck import barcode_patterns, count_page_objects, expected_bar_pattern, pages, text_strings

A6 = (0.0, 0.0, 297.64, 419.53)


def _check_label(page, shipment, order):
    assert tuple(round(v, 2) for v in page.media_box) == A6
    assert barcode_patterns(page.content) == [expected_bar_pattern(shipment.tracking_number)]
    text = "\n".join(text_strings(page.content))
    assert shipment.tracking_number in text and f"Order: {order.marketplace_order_id}" in text
    assert "Entrepôt Martin" in text and order.shipping_address["city"] in text


def test_order_label_opens_and_carries_the_tracking_barcode(sandbox, ship_store, paid_order, token_client, superuser):
    order = paid_order(["A"])
    shipment = services.order_ready_to_ship(order=order).shipment
    registry.reset()  # another process: the sandbox carrier forgot everything, the label is in the database
    response = token_client(superuser).get(f"/api/orders/{order.pk}/label/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pdf = response.content
    assert pdf.startswith(b"%PDF") and pdf.rstrip().endswith(b"%%EOF")
    assert pdf == bytes(shipment.label_pdf)
    [page] = pages(pdf)
    _check_label(page, shipment, order)


def test_a_split_order_prints_one_page_per_parcel(sandbox, ship_store, paid_order):
    order = paid_order(["A", "B"])
    ids = sorted(order.lines.values_list("order_detail_id", flat=True))
    first = services.order_ready_to_ship(order=order, lines=[ids[0]]).shipment
    second = services.order_ready_to_ship(order=order).shipment
    pdf = services.order_label(order=order)
    found = pages(pdf)
    assert count_page_objects(pdf) == 2
    for page, shipment in zip(found, [first, second], strict=True):
        _check_label(page, shipment, order)


def test_merged_labels_for_a_selection(sandbox, ship_store, paid_order, token_client, superuser, client):
    orders = [paid_order([f"M{i}"]) for i in range(3)]
    services.orders_ready_to_ship(orders=orders)
    shipments = [o.shipments.get() for o in orders]
    api = token_client(superuser)
    response = api.get("/api/labels/", {"orders": ",".join(str(o.pk) for o in orders)})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    found = pages(response.content)
    assert len(found) == 3
    for page, shipment, order in zip(found, shipments, orders, strict=True):
        _check_label(page, shipment, order)
        assert "SANDBOX - NOT A REAL CARRIER LABEL" in text_strings(page.content)

    # the admin: merged print for a selection, and one label at a time
    client.force_login(superuser)
    response = client.post("/admin/orders/order/", {"action": "print_labels",
                                                     "_selected_action": [o.pk for o in orders]})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert len(pages(response.content)) == 3
    response = client.get(f"/admin/fulfilment/shipment/{shipments[1].pk}/label/")
    assert response.status_code == 200 and response.content == bytes(shipments[1].label_pdf)
    response = client.get(f"/admin/fulfilment/shipment/order/{orders[2].pk}/label/")
    assert barcode_patterns(pages(response.content)[0].content) == [expected_bar_pattern(shipments[2].tracking_number)]


def test_no_label_yet_is_a_clear_404(sandbox, ship_store, paid_order, token_client, superuser):
    order = paid_order(["A"])
    response = token_client(superuser).get(f"/api/orders/{order.pk}/label/")
    assert response.status_code == 404 and "Ready to Ship first" in response.json()["detail"]
    response = token_client(superuser).get("/api/labels/", {"orders": "x"})
    assert response.status_code == 400
