"""The order page (issue 11): its buttons appear only in the states where they apply and to users with their
permission, each calls the same service as the list's actions and the API, destructive ones confirm and ask for
a reason, and the page reads in words (labels, warnings, local time), not codes."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from fnac_connector.marketplace.fnac import types as fnac
from fulfilment.models import Carrier, Shipment
from orders.labels import REFUND_REASONS, SHIPPING_METHODS
from orders.models import Order, OrderStatus
from orders.services import orders_sync
from stores.models import Store
from tests.fulfilment.conftest import updates_sent

S = OrderStatus
BUTTONS = {"accept": "Accept", "refuse": "Refuse…", "release": "Release to warehouse",
           "ready-to-ship": "Ready to Ship…", "print-label": "Print label", "cancel": "Cancel order…"}


def _page(client, order) -> str:
    response = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _buttons(page: str, order) -> set[str]:
    """The order-page buttons shown (by their URL)."""
    return {path for path in BUTTONS if f'href="/admin/orders/order/{order.pk}/{path}/"' in page}


@pytest.fixture
def awaiting(sandbox, ship_store, make_product):
    Store.objects.filter(pk=ship_store.pk).update(acceptance_mode=Store.AcceptanceMode.MANUAL)
    ship_store.acceptance_mode = Store.AcceptanceMode.MANUAL  # later syncs (paid_order) must not accept it
    make_product(ship_store, "A", on_hand=5)
    order_id = sandbox.add_order(state="Created", lines=[{"sku": "A", "quantity": 1}])
    orders_sync(store=Store.objects.get(pk=ship_store.pk), mode="new")
    order = Order.objects.get(marketplace_order_id=order_id)
    assert order.status == S.AWAITING_ACCEPTANCE
    return order


@pytest.fixture
def user_with(django_user_model, ship_store):
    def _make(*codenames):
        user = django_user_model.objects.create_user(f"u{len(codenames)}", "u@example.com", "pw-u-12345",
                                                     is_staff=True)
        user.user_permissions.set(Permission.objects.filter(codename__in=["view_order", *codenames]))
        ship_store.users.add(user)
        return user
    return _make


# ---------------------------------------------------------------- which buttons, for whom
def test_buttons_follow_the_state(sandbox, awaiting, paid_order, superuser, client):
    client.force_login(superuser)
    assert _buttons(_page(client, awaiting), awaiting) == {"accept", "refuse"}
    new = paid_order(["B"])
    assert _buttons(_page(client, new), new) == {"release", "ready-to-ship", "cancel"}
    client.post(f"/admin/orders/order/{new.pk}/ready-to-ship/", {})
    new.refresh_from_db()
    assert new.status == S.IN_TRANSIT
    assert _buttons(_page(client, new), new) == {"print-label"}


def test_buttons_follow_the_permissions(sandbox, awaiting, paid_order, user_with, client):
    new = paid_order(["B"])
    client.force_login(user_with())  # may only look
    assert _buttons(_page(client, awaiting), awaiting) == set() and _buttons(_page(client, new), new) == set()
    for path in BUTTONS:
        assert client.get(f"/admin/orders/order/{new.pk}/{path}/").status_code == 403, path
    client.force_login(user_with("accept_order"))
    assert _buttons(_page(client, awaiting), awaiting) == {"accept", "refuse"}
    assert _buttons(_page(client, new), new) == set()
    client.force_login(user_with("ship_order", "cancel_order"))
    assert _buttons(_page(client, new), new) == {"release", "ready-to-ship", "cancel"}
    assert client.post(f"/admin/orders/order/{awaiting.pk}/refuse/", {"reason": "x"}).status_code == 403
    assert sandbox.order_json(awaiting.marketplace_order_id)["state"] == "Created"


def test_another_stores_order_is_not_found(sandbox, paid_order, make_store, staff_user, client):
    new = paid_order(["B"])
    client.force_login(staff_user)  # every permission, but not of this store
    for path in BUTTONS:
        assert client.get(f"/admin/orders/order/{new.pk}/{path}/").status_code == 404, path


# ---------------------------------------------------------------- accept, refuse
def test_accept_button_confirms_then_accepts(sandbox, awaiting, superuser, client):
    client.force_login(superuser)
    url = f"/admin/orders/order/{awaiting.pk}/accept/"
    assert "Accept on FNAC" in client.get(url).content.decode()
    assert sandbox.order_json(awaiting.marketplace_order_id)["state"] == "Created"  # a GET changes nothing
    response = client.post(url, follow=True)
    assert f"Order {awaiting.marketplace_order_id} accepted on FNAC." in response.content.decode()
    assert sandbox.order_json(awaiting.marketplace_order_id)["state"] == "Accepted"


def test_refuse_needs_a_reason_then_reaches_fnac(sandbox, awaiting, superuser, client):
    client.force_login(superuser)
    url = f"/admin/orders/order/{awaiting.pk}/refuse/"
    page = client.get(url).content.decode()
    assert "A refusal cannot be undone" in page and 'name="reason"' in page
    before = len(updates_sent(sandbox))
    response = client.post(url, {"reason": "   "})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert len(updates_sent(sandbox)) == before and Order.objects.get(pk=awaiting.pk).status == S.AWAITING_ACCEPTANCE
    response = client.post(url, {"reason": "Price error on the offer"}, follow=True)
    assert "refused on FNAC" in response.content.decode()
    body = updates_sent(sandbox)[-1]
    line = awaiting.lines.get()
    assert re.search(rf'<order order_id="{awaiting.marketplace_order_id}" action="accept_order">', body), body
    assert re.search(rf"<order_detail_id>{line.order_detail_id}</order_detail_id>\s*<action>Refused</action>", body)
    awaiting.refresh_from_db()
    assert awaiting.status == S.REFUSED
    assert awaiting.status_changes.last().note.endswith("Reason: Price error on the offer")


def test_bulk_refuse_confirms_with_a_reason_and_comes_last(sandbox, awaiting, superuser, client):
    client.force_login(superuser)
    listing = client.get("/admin/orders/order/").content.decode()
    actions = re.findall(r'<option value="([a-z_]+)"', listing.split('name="action"', 1)[1].split("</select>")[0])
    assert "delete_selected" not in actions  # orders are FNAC's: they are refused or cancelled, never deleted
    assert actions[-2:] == ["refuse_orders", "cancel_by_seller"] and actions[0] not in ("refuse_orders",
                                                                                        "cancel_by_seller")
    before = len(updates_sent(sandbox))
    response = client.post("/admin/orders/order/", {"action": "refuse_orders", "_selected_action": [awaiting.pk]})
    assert response.status_code == 200 and "Refuse these orders on FNAC" in response.content.decode()
    response = client.post("/admin/orders/order/", {"action": "refuse_orders", "_selected_action": [awaiting.pk],
                                                    "apply": "1", "reason": ""})
    assert "This field is required" in response.content.decode() and len(updates_sent(sandbox)) == before
    client.post("/admin/orders/order/", {"action": "refuse_orders", "_selected_action": [awaiting.pk],
                                         "apply": "1", "reason": "Cannot source it"})
    assert Order.objects.get(pk=awaiting.pk).status == S.REFUSED


# ---------------------------------------------------------------- release, ship, label, cancel
def test_release_button(sandbox, paid_order, superuser, client):
    order = paid_order(["A"])
    client.force_login(superuser)
    url = f"/admin/orders/order/{order.pk}/release/"
    assert "RFP (ready for pick/pack)" in client.get(url).content.decode()
    assert Order.objects.get(pk=order.pk).status == S.NEW
    client.post(url)
    assert Order.objects.get(pk=order.pk).status == S.RFP


def test_ready_to_ship_form_offers_fnacs_carriers_and_split_lines(sandbox, ship_store, paid_order, superuser,
                                                                  client):
    order = paid_order(["A", "B"])
    client.force_login(superuser)
    url = f"/admin/orders/order/{order.pk}/ready-to-ship/"
    page = client.get(url).content.decode()
    carriers = list(Carrier.objects.filter(store=ship_store, active=True))
    assert carriers and all(f'<option value="{c.code}"' in page for c in carriers)
    assert "Default: SOCOLISSIMO" in page and 'type="checkbox"' in page
    first = order.lines.order_by("order_detail_id").first()
    response = client.post(url, {"carrier_code": "UPS", "lines": [str(first.order_detail_id)]}, follow=True)
    assert "FNAC confirmed" in response.content.decode()
    shipment = Shipment.objects.get(order=order)
    assert shipment.carrier_code == "UPS" and [sl.order_line_id for sl in shipment.lines.all()] == [first.pk]
    assert "<tracking_company>UPS</tracking_company>" in updates_sent(sandbox)[-1]
    label = client.get(f"/admin/orders/order/{order.pk}/print-label/")
    assert label.status_code == 200 and label["Content-Type"] == "application/pdf"
    assert label.content.startswith(b"%PDF")


def test_ready_to_ship_form_takes_a_carrier_fnac_does_not_list_typed_on_purpose(sandbox, ship_store, paid_order,
                                                                                 superuser, client):
    order = paid_order(["A"])
    client.force_login(superuser)
    url = f"/admin/orders/order/{order.pk}/ready-to-ship/"
    assert 'name="carrier_other"' in client.get(url).content.decode()
    # both a listed carrier and a typed one: refused on the field, nothing moves
    page = client.post(url, {"carrier_code": "UPS", "carrier_other": "Coursier Dupont"}).content.decode()
    assert "Choose a carrier from FNAC&#x27;s list or type another one, not both." in page
    assert not Shipment.objects.filter(order=order).exists() and not updates_sent(sandbox)
    # a typed one alone goes to FNAC as written
    response = client.post(url, {"carrier_other": "  Coursier   Dupont ", "tracking_number": "CD123456"},
                           follow=True)
    assert "FNAC confirmed" in response.content.decode()
    shipment = Shipment.objects.get(order=order)
    assert (shipment.carrier_code, shipment.tracking_number) == ("Coursier Dupont", "CD123456")
    assert "<tracking_company>Coursier Dupont</tracking_company>" in updates_sent(sandbox)[-1]


def test_ready_to_ship_button_with_no_sender_address_moves_nothing(sandbox, ship_store, paid_order, superuser,
                                                                   client):
    order = paid_order(["A"])
    Store.objects.filter(pk=ship_store.pk).update(sender_address1="")
    client.force_login(superuser)
    response = client.post(f"/admin/orders/order/{order.pk}/ready-to-ship/", {})
    assert response.status_code == 200
    assert "has no sender address (street missing): fill in Shipping setup › Sender address on the store page" \
        in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.NEW and not order.flagged and not Shipment.objects.exists()
    assert not updates_sent(sandbox)


def test_cancel_reason_in_words_maps_to_fnacs_code(sandbox, paid_order, superuser, client):
    assert set(REFUND_REASONS) == set(fnac.REFUND_REASONS)  # every FNAC code has words, and only those
    order = paid_order(["A"])
    client.force_login(superuser)
    url = f"/admin/orders/order/{order.pk}/cancel/"
    page = client.get(url).content.decode()
    assert '<option value="damaged_article">The item arrived damaged</option>' in page
    assert "This cannot be undone" in page
    response = client.post(url, {"reason": ""})
    assert "This field is required" in response.content.decode() and not updates_sent(sandbox)
    client.post(url, {"reason": "damaged_article"})
    assert "<refund_reason>damaged_article</refund_reason>" in updates_sent(sandbox)[-1]
    order.refresh_from_db()
    assert order.status == S.CANCELLED_BY_SELLER
    history = _page(client, order)
    assert "reason: The item arrived damaged" in history and "damaged_article" not in history


# ---------------------------------------------------------------- reads in words
def test_order_page_reads_in_words(sandbox, awaiting, paid_order, superuser, client):
    client.force_login(superuser)
    page = _page(client, awaiting)
    assert "Waiting for you: accept or refuse" in page and "Decision needed" not in page
    main = page.split('id="content-main"', 1)[1].split("FNAC data as received")[0]  # not the sidebar's links
    assert "Awaiting acceptance" in main and "awaiting_acceptance" not in main
    order = paid_order(["B"])
    Order.objects.filter(pk=order.pk).update(shipping_method="53", flagged=True,
                                             flag_reason="Shipment: FNAC refused\nStock is short")
    page = _page(client, order)
    assert "Bulky item, delivery mode 3" in page and SHIPPING_METHODS["53"] in page
    assert "⚠ Flagged" in page and "<li>Shipment: FNAC refused</li>" in page and "<li>Stock is short</li>" in page
    assert "icon-yes" not in page.split("Problems")[1][:400]
    assert "Canceled" not in page


def test_order_list_fits_and_does_not_grow_queries(sandbox, paid_order, superuser, client,
                                                  django_assert_max_num_queries):
    client.force_login(superuser)
    orders = [paid_order([f"L{i}"]) for i in range(3)]
    with django_assert_max_num_queries(20) as few:
        client.get("/admin/orders/order/")
    for i in range(3, 9):
        paid_order([f"L{i}"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get("/admin/orders/order/").content.decode()
    for column in ("FNAC order id", "Ordered at", "Customer", "Total amount", "OMS status", "Needs attention",
                   "Store"):
        assert column in page, column
    assert orders[0].marketplace_order_id in page


def test_a_multi_line_problem_is_cleared_whole_when_the_shipment_is_fixed(sandbox, paid_order):
    """Flag reasons are one per line: a message with line breaks stays one reason, so clearing the shipment's
    reasons (by their "Shipment: " prefix) leaves no orphan fragment behind."""
    from fulfilment.shipping import _clear_problem, _record_problem
    from orders.status import order_flag

    order = paid_order(["A"])
    order_flag(order=order, reason="Stock is short")
    _record_problem(order, "FNAC refused:\nERR_115 unknown carrier\n  try DHL")
    order.refresh_from_db()
    assert order.flag_reason.split("\n") == ["Stock is short",
                                             "Shipment: FNAC refused: ERR_115 unknown carrier try DHL"]
    _clear_problem(order)
    order.refresh_from_db()
    assert order.flagged and order.flag_reason == "Stock is short"
