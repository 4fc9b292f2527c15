"""Every door calls the same services: API (scoped to the user's stores), admin actions and forms, commands."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from fulfilment.models import WmsDelivery, WmsEvent
from orders.models import Order, OrderStatus
from stores.models import Store
from tests.fulfilment.conftest import updates_sent

S = OrderStatus


# ---------------------------------------------------------------- API
def test_api_release_ready_to_ship_split_retry_cancel(sandbox, ship_store, paid_order, superuser, token_client):
    api = token_client(superuser)
    order = paid_order(["A", "B"])
    ids = sorted(order.lines.values_list("order_detail_id", flat=True))
    response = api.post(f"/api/orders/{order.pk}/release/")
    assert response.status_code == 200 and response.json()["status"] == S.RFP
    assert api.post(f"/api/orders/{order.pk}/release/").status_code == 409

    response = api.post(f"/api/orders/{order.pk}/ready-to-ship/", {"lines": [ids[0]], "carrier_code": "UPS"},
                        format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["confirmed"] and body["shipment"]["lines"] == [ids[0]] and body["shipment"]["carrier_code"] == "UPS"
    assert body["shipment"]["tracking_number"].startswith("1Z") and body["order"]["status"] == S.READY_TO_SHIP
    assert body["shipment"]["label_url"].endswith(f"/api/shipments/{body['shipment']['id']}/label/")
    assert api.get(body["shipment"]["label_url"]).status_code == 200

    response = api.post(f"/api/orders/{order.pk}/ready-to-ship/", {"tracking_number": "T" * 40}, format="json")
    assert response.status_code == 400
    # a code FNAC does not list is refused by the product (FNAC would take any text): 400, nothing moved
    sent = len(updates_sent(sandbox))
    response = api.post(f"/api/orders/{order.pk}/ready-to-ship/", {"carrier_code": "NOPE"}, format="json")
    assert response.status_code == 400 and "'NOPE' is not one FNAC lists" in response.json()["detail"]
    assert order.shipments.count() == 1 and len(updates_sent(sandbox)) == sent
    assert not Order.objects.get(pk=order.pk).flagged
    sandbox.refuse(order_ids=[order.marketplace_order_id])  # FNAC refuses the confirmation whole
    response = api.post(f"/api/orders/{order.pk}/ready-to-ship/", {"carrier_code": "UPS"}, format="json")
    assert response.status_code == 200 and not response.json()["confirmed"]
    assert "ERR_096" in response.json()["error"] and response.json()["order"]["flagged"]
    sandbox.refuse()
    response = api.post(f"/api/orders/{order.pk}/retry-shipment-confirmation/", {"carrier_code": "NOPE"},
                        format="json")
    assert response.status_code == 400 and "not one FNAC lists" in response.json()["detail"]
    response = api.post(f"/api/orders/{order.pk}/retry-shipment-confirmation/",
                        {"carrier_code": "Coursier Dupont", "carrier_free_text": True}, format="json")
    assert response.status_code == 200 and response.json()["confirmed"], response.content
    assert response.json()["order"]["status"] == S.IN_TRANSIT and not response.json()["order"]["flagged"]
    assert response.json()["shipments"][0]["carrier_code"] == "Coursier Dupont"  # typed on purpose, sent as typed
    assert "<tracking_company>Coursier Dupont</tracking_company>" in updates_sent(sandbox)[-1]
    assert api.post(f"/api/orders/{order.pk}/retry-shipment-confirmation/").status_code == 409
    response = api.post(f"/api/orders/{order.pk}/cancel/", {"reason": "no_stock"}, format="json")
    assert response.status_code == 409 and "packed or ready to ship" in response.json()["detail"]

    other = paid_order(["C"])
    response = api.post(f"/api/orders/{other.pk}/cancel/", {"reason": "no_stock"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == S.CANCELLED_BY_SELLER
    assert api.post(f"/api/orders/{other.pk}/cancel/", {"reason": "nope"}, format="json").status_code == 400

    shipments = api.get("/api/shipments/", {"order": order.pk}).json()
    assert shipments["count"] == 2


def test_api_is_scoped_to_the_users_stores(sandbox, ship_store, paid_order, staff_user, token_client):
    order = paid_order(["A"])
    api = token_client(staff_user)
    for url in (f"/api/orders/{order.pk}/ready-to-ship/", f"/api/orders/{order.pk}/release/",
                f"/api/orders/{order.pk}/cancel/"):
        assert api.post(url, {}, format="json").status_code == 404
    assert api.get(f"/api/orders/{order.pk}/label/").status_code == 404
    assert api.get("/api/shipments/").json()["count"] == 0
    ship_store.users.add(staff_user)
    assert api.post(f"/api/orders/{order.pk}/ready-to-ship/", {}, format="json").status_code == 200
    assert api.get("/api/shipments/").json()["count"] == 1


def test_api_lists_do_not_grow_queries_with_the_page(sandbox, wms_store, paid_order, superuser, token_client,
                                                     django_assert_max_num_queries,
                                                     django_capture_on_commit_callbacks):
    api = token_client(superuser)
    orders = [paid_order([f"Q{i}"]) for i in range(6)]
    with django_capture_on_commit_callbacks(execute=True):
        from fulfilment.services import orders_ready_to_ship

        orders_ready_to_ship(orders=orders)
    for url in ("/api/shipments/", "/api/wms/deliveries/", "/api/wms/event-log/", "/api/carriers/"):
        with django_assert_max_num_queries(8):
            assert api.get(url, {"page_size": 2}).status_code == 200
        with django_assert_max_num_queries(8):
            assert api.get(url, {"page_size": 50}).status_code == 200


# ---------------------------------------------------------------- admin
def test_admin_actions(sandbox, ship_store, paid_order, superuser, client):
    client.force_login(superuser)
    a, b, c = paid_order(["A"]), paid_order(["B"]), paid_order(["C"])
    url = "/admin/orders/order/"
    client.post(url, {"action": "release_to_warehouse", "_selected_action": [a.pk, b.pk]})
    assert set(Order.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {S.RFP}
    response = client.post(url, {"action": "ready_to_ship", "_selected_action": [a.pk, b.pk]}, follow=True)
    assert "2 order(s) shipped and confirmed to FNAC" in response.content.decode()
    assert len(updates_sent(sandbox)) == 1  # one orders_update for both

    # cancel: an intermediate page asks for the reason, then FNAC gets the refund
    response = client.post(url, {"action": "cancel_by_seller", "_selected_action": [c.pk]})
    page = response.content.decode()
    assert response.status_code == 200 and "Why do you cancel?" in page and "The item arrived damaged" in page
    response = client.post(url, {"action": "cancel_by_seller", "_selected_action": [c.pk], "apply": "1",
                                 "reason": "damaged_article"}, follow=True)
    assert "1 order(s) cancelled on FNAC" in response.content.decode()
    assert "<refund_reason>damaged_article</refund_reason>" in updates_sent(sandbox)[-1]
    response = client.post(url, {"action": "cancel_by_seller", "_selected_action": [a.pk], "apply": "1",
                                 "reason": "no_stock"}, follow=True)
    assert "no longer be cancelled" in response.content.decode()

    # the order page shows the shipment panel with its label link
    response = client.get(f"/admin/orders/order/{a.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert a.shipments.get().tracking_number in page and "Print label" in page


def test_admin_ship_form_split_and_typed_tracking_then_retry(sandbox, ship_store, paid_order, superuser, client):
    client.force_login(superuser)
    order = paid_order(["A", "B"])
    ids = sorted(order.lines.values_list("order_detail_id", flat=True))
    response = client.post("/admin/orders/order/", {"action": "ship_with_details", "_selected_action": [order.pk]})
    assert response.status_code == 302 and response["Location"].endswith(f"/ship/{order.pk}/")
    form_url = response["Location"]
    assert client.get(form_url).status_code == 200
    # a carrier code FNAC does not list can only come from an old setting now (the form offers FNAC's list)
    response = client.post(form_url, {"lines": [str(ids[0])], "carrier_code": "BOGUS"})
    assert response.status_code == 200 and "BOGUS is not one of the available choices" in response.content.decode()
    Order.objects.filter(pk=order.pk).update(carrier_code="BOGUS")
    response = client.post(form_url, {"lines": [str(ids[0])], "tracking_number": "HAND-1"})
    assert response.status_code == 200 and "&#x27;BOGUS&#x27; is not one FNAC lists" in response.content.decode()
    order.refresh_from_db()
    assert not order.flagged and not order.shipments.exists()  # refused on the form, nothing moved
    Order.objects.filter(pk=order.pk).update(carrier_code="GLS")
    sandbox.refuse(order_ids=[order.marketplace_order_id])
    response = client.post(form_url, {"lines": [str(ids[0])], "tracking_number": "HAND-1"}, follow=True)
    assert "did not confirm" in response.content.decode()
    order.refresh_from_db()
    assert order.flagged and "ERR_096" in order.last_push_error
    sandbox.refuse()
    response = client.post("/admin/orders/order/", {"action": "retry_shipment_confirmation",
                                                     "_selected_action": [order.pk]}, follow=True)
    assert "1 order(s) confirmed to FNAC" in response.content.decode()
    response = client.post(form_url, {}, follow=True)  # the rest, booked with the order's carrier
    assert "FNAC confirmed" in response.content.decode()
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT
    assert set(order.shipments.values_list("carrier_code", flat=True)) == {"GLS"}
    response = client.post(form_url, {"tracking_number": "X"})
    assert response.status_code == 200 and "In transit" in response.content.decode()  # error shown on the form


def test_admin_lists_and_retry_now(sandbox, wms_store, wms, paid_order, superuser, client,
                                   django_capture_on_commit_callbacks, django_assert_max_num_queries):
    client.force_login(superuser)
    wms.statuses = [500]
    orders = [paid_order([f"L{i}"]) for i in range(4)]
    with django_capture_on_commit_callbacks(execute=True):
        from fulfilment.services import orders_ready_to_ship

        orders_ready_to_ship(orders=orders)
    failing = WmsDelivery.objects.get(state=WmsDelivery.State.PENDING)
    for url in ("/admin/fulfilment/shipment/", "/admin/fulfilment/wmsdelivery/", "/admin/fulfilment/wmsevent/",
                "/admin/fulfilment/carrier/"):
        with django_assert_max_num_queries(15):
            assert client.get(url).status_code == 200
    response = client.post("/admin/fulfilment/wmsdelivery/", {"action": "retry_now",
                                                              "_selected_action": [failing.pk]}, follow=True)
    assert "1 delivered" in response.content.decode()
    failing.refresh_from_db()
    assert failing.state == WmsDelivery.State.DELIVERED
    page = client.get(f"/admin/orders/order/{failing.order_id}/change/").content.decode()
    assert "WMS deliveries" in page and "shipment.created" in page


# ---------------------------------------------------------------- commands
def test_commands(sandbox, wms_store, wms, paid_order, django_capture_on_commit_callbacks):
    a, b = paid_order(["A"]), paid_order(["B", "C"])
    out = io.StringIO()
    call_command("release_to_warehouse", order=[a.pk], stdout=out)
    assert "RFP" in out.getvalue()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("ready_to_ship", order=[a.pk], stdout=out)
    assert "shipped SOCOLISSIMO SO" in out.getvalue()
    line = b.lines.order_by("order_detail_id").first()
    call_command("ready_to_ship", order=[b.pk], lines=str(line.order_detail_id), tracking="CMD-1", carrier="TNT",
                 stdout=out)
    assert "shipped TNT CMD-1" in out.getvalue()
    with pytest.raises(CommandError, match="'WRONG' is not one FNAC lists"):
        call_command("ready_to_ship", order=[b.pk], carrier="WRONG", stdout=out, stderr=io.StringIO())
    assert b.shipments.count() == 1
    sandbox.refuse(order_ids=[b.marketplace_order_id])
    with pytest.raises(CommandError, match="ERR_096"):
        call_command("ready_to_ship", order=[b.pk], carrier="GLS", stdout=out, stderr=io.StringIO())
    sandbox.refuse()
    with pytest.raises(CommandError, match="'DPD' is not one FNAC lists"):
        call_command("retry_shipment_confirmation", order=b.pk, carrier="DPD", stdout=out)
    call_command("retry_shipment_confirmation", order=b.pk, carrier="DPD", free_text_carrier=True, stdout=out)
    assert "DPD" in out.getvalue() and "confirmed" in out.getvalue()
    b.refresh_from_db()
    assert b.status == S.IN_TRANSIT
    with pytest.raises(CommandError, match="no order with id"):
        call_command("ready_to_ship", order=[999999], stdout=out)
    c = paid_order(["D"])
    call_command("cancel_order", order=c.pk, reason="no_stock", stdout=out)
    assert "cancelled_by_seller" in out.getvalue()
    wms.statuses = [500]
    d = paid_order(["E"])
    with django_capture_on_commit_callbacks(execute=True):
        call_command("release_to_warehouse", order=[d.pk], stdout=out)
    call_command("wms_deliveries", store=wms_store.pk, all=True, stdout=out)
    assert "still pending 0" in out.getvalue()
    assert WmsEvent.objects.count() == 0 and Store.objects.get(pk=wms_store.pk).wms_enabled
