"""The seller's orders, from the order page's buttons: accept one, refuse another with a reason; Ready to Ship
while the store has no sender address (nothing moves, the message says what to fill in and where), then with it
(FNAC confirms, the label PDF opens); cancel a paid order with a reason in plain words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fulfilment.models import Shipment
from orders.models import Order, OrderStatus
from stores.models import Store
from tests.browser import pages
from tests.browser.world import SENDER, connected_store, order, updates_sent
from tests.carriers.pdfcheck import pages as pdf_pages
from tests.carriers.pdfcheck import text_strings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = OrderStatus


def test_accept_one_order_and_refuse_another_with_a_reason(ui, admin_user, sandbox):
    store = connected_store(sandbox, "Boutique Paris", manual=True)
    first = order(sandbox, store, ["MUG-1"], state="Created")
    second = order(sandbox, store, ["MUG-2"], state="Created", quantity=2)
    assert first.status == second.status == S.AWAITING_ACCEPTANCE
    ui.login("boss")
    ui.go(pages.ORDER_LIST)
    expect(ui.page.locator("body")).to_contain_text(first.marketplace_order_id)
    ui.step("order-list")

    # accept the first one: FNAC is told, the order waits for the payment
    ui.go(pages.order_page(first))
    ui.step("order-awaiting-acceptance", screen="order")
    pages.order_action(ui, first, pages.ACCEPT, step="accept-confirm")
    expect(ui.page.locator("body")).to_contain_text("accepted on FNAC")
    first.refresh_from_db()
    assert first.status == S.AWAITING_PAYMENT and first.fnac_state == "Accepted"
    assert sandbox.order_json(first.marketplace_order_id)["state"] == "Accepted"
    [accept_body] = updates_sent(sandbox, first.marketplace_order_id)
    assert 'action="accept_order"' in accept_body and "<action>Accepted</action>" in accept_body

    # refusing needs a reason: without one nothing is sent
    pages.order_action(ui, second, pages.REFUSE, {"reason": "   "})
    second.refresh_from_db()
    assert second.status == S.AWAITING_ACCEPTANCE and not updates_sent(sandbox, second.marketplace_order_id)
    # with the reason, FNAC is told every line is refused and the reason is kept in the history
    ui.fill({"reason": "Mugs broken in the warehouse"})
    ui.step("refuse-with-reason")
    ui.submit(pages.REFUSE[1], exact=True)
    expect(ui.page.locator("body")).to_contain_text("refused on FNAC")
    expect(ui.page.locator("body")).to_contain_text("Mugs broken in the warehouse")
    ui.step("order-refused")
    second.refresh_from_db()
    assert second.status == S.REFUSED
    assert sandbox.order_json(second.marketplace_order_id)["state"] == "Refused"
    [refuse_body] = updates_sent(sandbox, second.marketplace_order_id)
    assert "<action>Refused</action>" in refuse_body and "<action>Accepted</action>" not in refuse_body
    assert second.status_changes.filter(note__contains="Mugs broken in the warehouse").exists()
    first.refresh_from_db()
    assert first.status == S.AWAITING_PAYMENT  # the other order is untouched


def test_ready_to_ship_without_then_with_a_sender_address_then_label_and_cancel(ui, admin_user, sandbox):
    store = connected_store(sandbox, "Boutique Nantes", sender=False)
    paid = order(sandbox, store, ["LAMP-1", "LAMP-2"])
    assert paid.status == S.NEW and paid.fnac_state == "ToShip"
    before = (paid.status, paid.flagged, paid.status_changes.count())
    ui.login("boss")

    # Ready to Ship while the store has no sender address: nothing moves, the message says what and where
    pages.order_action(ui, paid, pages.READY_TO_SHIP, {"carrier_code": "SOCOLISSIMO"})
    problem = ui.page.locator(".errornote, .errorlist, [role=alert]").first
    expect(problem).to_contain_text("sender address")
    expect(problem).to_contain_text("Shipping setup")
    ui.step("ship-refused-no-sender-address")
    paid.refresh_from_db()
    assert (paid.status, paid.flagged, paid.status_changes.count()) == before
    assert not Shipment.objects.filter(order=paid).exists()
    assert not updates_sent(sandbox, paid.marketplace_order_id)
    assert sandbox.order_json(paid.marketplace_order_id)["state"] == "ToShip"

    # the seller fills in the sender address on the store page
    ui.go(pages.store_page(store))
    ui.fill({k: v for k, v in SENDER.items() if k != "sender_country"})
    ui.save()
    store.refresh_from_db()
    assert (store.sender_address1, store.sender_zipcode, store.sender_city) == ("12 rue de la Paix", "75002",
                                                                               "Paris")

    # Ready to Ship again, carrier picked from FNAC's list: booked, confirmed to FNAC
    pages.open_order_button(ui, paid, pages.READY_TO_SHIP[0])
    carriers = ui.field("carrier_code").locator("option").all_inner_texts()
    assert any("SOCOLISSIMO" in c.upper() for c in carriers) and len(carriers) > 2  # FNAC's list, not free text
    ui.fill({"carrier_code": "SOCOLISSIMO"})
    ui.step("ship-form", screen="ship")
    ui.submit(pages.READY_TO_SHIP[1], exact=True)
    expect(ui.page.locator("body")).to_contain_text("FNAC confirmed")
    paid.refresh_from_db()
    shipment = Shipment.objects.get(order=paid)
    assert shipment.state == Shipment.State.CONFIRMED and shipment.carrier_code == "SOCOLISSIMO"
    assert paid.status == S.IN_TRANSIT and paid.fnac_state == "Shipped"
    fnac = sandbox.order_json(paid.marketplace_order_id)
    assert fnac["state"] == "Shipped"
    assert {line["tracking_number"] for line in fnac["lines"]} == {shipment.tracking_number}
    [ship_body] = updates_sent(sandbox, paid.marketplace_order_id)
    assert "<action>Shipped</action>" in ship_body and shipment.tracking_number in ship_body
    ui.go(pages.order_page(paid))
    expect(ui.page.locator("body")).to_contain_text(shipment.tracking_number)
    ui.step("order-shipped")

    # Print label: a PDF with the tracking number, the order and the sender
    label = ui.page.locator(f"a[href*='/order/{paid.pk}/{pages.PRINT_LABEL}/']").first
    expect(label).to_be_visible()
    response = ui.page.request.get(ui.url(label.get_attribute("href")))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    pdf = response.body()
    assert pdf.startswith(b"%PDF") and pdf == bytes(Shipment.objects.get(pk=shipment.pk).label_pdf)
    [page] = pdf_pages(pdf)
    text = "\n".join(text_strings(page.content))
    assert shipment.tracking_number in text and f"Order: {paid.marketplace_order_id}" in text
    assert "Entrepôt Martin" in text

    # cancel another paid order, the reason picked in plain words: FNAC refunds with that reason
    other = order(sandbox, store, ["LAMP-3"])
    open_cancel = pages.CANCEL[0]
    pages.open_order_button(ui, other, open_cancel)
    reasons = ui.field("reason").locator("option").all_inner_texts()
    assert "Out of stock" in reasons and "no_stock" not in reasons
    ui.fill({"reason": "Out of stock"})
    ui.step("cancel-with-reason")
    ui.submit(pages.CANCEL[1], exact=True)
    expect(ui.page.locator("body")).to_contain_text("cancelled on FNAC")
    other.refresh_from_db()
    assert other.status == S.CANCELLED_BY_SELLER and other.fnac_state == "Refunded"
    fnac = sandbox.order_json(other.marketplace_order_id)
    assert fnac["state"] == "Refunded" and {line["refund_reason"] for line in fnac["lines"]} == {"no_stock"}
    assert Order.objects.get(pk=paid.pk).status == S.IN_TRANSIT  # the shipped order is untouched
    assert Store.objects.get(pk=store.pk).status == Store.Status.CONNECTED
