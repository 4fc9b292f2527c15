"""The warehouse: signed events in (HMAC per store), deliveries out (signed, retried until acknowledged)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
from django.utils import timezone

from fulfilment import services
from fulfilment.deliveries import wms_deliveries_drain
from fulfilment.models import Shipment, WmsDelivery, WmsEvent
from fulfilment.signing import signature_for
from orders.models import OrderStatus
from stores.models import SyncRun
from tests.fulfilment.conftest import WMS_SECRET, updates_sent

S = OrderStatus


# ---------------------------------------------------------------- authentication
@pytest.mark.parametrize("case, code", [
    ("no_store", "no_store"), ("unsigned", "unsigned"), ("bad_signature", "bad_signature"),
    ("wrong_secret", "bad_signature"), ("tampered", "bad_signature"), ("stale", "stale"),
    ("no_timestamp", "no_timestamp"), ("wms_off", "store_refused"), ("unknown_store", "store_refused"),
])
def test_hmac_failures_are_401_with_a_clear_message(wms_store, paid_order, post_event, api_client, case, code):
    from fulfilment.signing import signature_for
    from stores.models import Store

    order = paid_order(["A"])
    event = {"event_id": "e1", "type": "picked", "order_id": order.marketplace_order_id,
             "sent_at": timezone.now().isoformat()}
    data = json.dumps(event).encode()
    headers = {"HTTP_X_STORE_ID": str(wms_store.pk), "HTTP_X_SIGNATURE": signature_for(WMS_SECRET, data)}
    if case == "no_store":
        headers.pop("HTTP_X_STORE_ID")
    elif case == "unsigned":
        headers.pop("HTTP_X_SIGNATURE")
    elif case == "bad_signature":
        headers["HTTP_X_SIGNATURE"] = "sha256=" + "0" * 64
    elif case == "wrong_secret":
        headers["HTTP_X_SIGNATURE"] = signature_for("another-secret", data)
    elif case == "tampered":
        data = data.replace(b'"picked"', b'"packed"')
    elif case == "stale":
        event["sent_at"] = (timezone.now() - dt.timedelta(minutes=10)).isoformat()
        data = json.dumps(event).encode()
        headers["HTTP_X_SIGNATURE"] = signature_for(WMS_SECRET, data)
    elif case == "no_timestamp":
        event.pop("sent_at")
        data = json.dumps(event).encode()
        headers["HTTP_X_SIGNATURE"] = signature_for(WMS_SECRET, data)
    elif case == "wms_off":
        Store.objects.filter(pk=wms_store.pk).update(wms_enabled=False)
    elif case == "unknown_store":
        headers["HTTP_X_STORE_ID"] = "999999"
    response = api_client.post("/api/wms/events/", data=data, content_type="application/json", **headers)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == code and response.json()["detail"]
    assert not WmsEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == S.NEW


def test_invalid_events_are_400_naming_the_field(wms_store, paid_order, post_event):
    order = paid_order(["A"])
    response = post_event(wms_store, {"event_id": "e1", "type": "shipped", "order_id": order.marketplace_order_id})
    assert response.status_code == 400
    assert "type" in response.json()["results"][0]["detail"]
    response = post_event(wms_store, {"event_id": "e2", "type": "picked", "order_id": "NOPE"})
    assert response.status_code == 400 and "Unknown order" in response.json()["results"][0]["detail"]
    assert WmsEvent.objects.get(event_id="e2").outcome == WmsEvent.Outcome.REJECTED


# ---------------------------------------------------------------- the full path with a WMS
def test_full_path_with_a_wms(sandbox, wms_store, wms, paid_order, post_event, api_client,
                              django_capture_on_commit_callbacks):
    order = paid_order(["A", "B"])
    with django_capture_on_commit_callbacks(execute=True):
        services.order_release_to_warehouse(order=order)
    released = wms.of_type("order.released")
    assert released and released[0]["order_id"] == order.marketplace_order_id
    assert {line["sku"] for line in released[0]["lines"]} == {"A", "B"}
    take_back = {line.sku: line.nb_products_to_take_back for line in order.lines.all()}
    assert {line["sku"]: line["nb_products_to_take_back"] for line in released[0]["lines"]} == take_back

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(wms_store, {"event_id": "pick-1", "type": "picked",
                                          "order_id": order.marketplace_order_id})
    assert response.status_code == 200, response.content
    assert response.json()["results"][0]["status"] == "applied"
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT
    history = [c.to_status for c in order.status_changes.all()]
    assert history[-4:] == [S.RFP, S.PICKED, S.READY_TO_SHIP, S.IN_TRANSIT]
    assert order.status_changes.filter(to_status=S.PICKED, source="warehouse").exists()

    shipment = order.shipments.get()
    assert shipment.state == Shipment.State.CONFIRMED
    assert sandbox.order_json(order.marketplace_order_id)["state"] == "Shipped"
    assert f"<tracking_number>{shipment.tracking_number}</tracking_number>" in updates_sent(sandbox)[-1]

    # the WMS got the shipment details, signed with the store's secret
    request = next(r for r in wms.received if json.loads(r["body"])["type"] == "shipment.created")
    assert request["headers"]["X-Signature"] == signature_for(WMS_SECRET, request["body"])
    assert request["headers"]["X-Store-Id"] == str(wms_store.pk)
    sent = json.loads(request["body"])["shipment"]
    assert (sent["awb"], sent["tracking_number"], sent["carrier_code"]) == (
        shipment.awb, shipment.tracking_number, "SOCOLISSIMO")
    assert sorted(sent["lines"], key=lambda x: x["sku"])[0]["sku"] == "A"
    assert {line["sku"]: line["nb_products_to_take_back"] for line in sent["lines"]} == take_back
    # the label link works without a user, and gives the stored label
    path = sent["label_url"].split("localhost:8000", 1)[1]
    label = api_client.get(path)
    assert label.status_code == 200 and label["Content-Type"] == "application/pdf"
    assert label.content == bytes(shipment.label_pdf)
    assert api_client.get(path[:-5] + "xxxx/").status_code == 404
    delivery = WmsDelivery.objects.get(shipment=shipment)
    assert delivery.state == WmsDelivery.State.DELIVERED and delivery.attempts == 1


def test_duplicate_and_out_of_order_events_are_harmless(sandbox, wms_store, paid_order, post_event,
                                                        django_capture_on_commit_callbacks):
    order = paid_order(["A"])
    services.order_release_to_warehouse(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        packed = post_event(wms_store, {"event_id": "pack-1", "type": "packed", "order_id": order.marketplace_order_id})
    assert packed.json()["results"][0]["status"] == "applied"
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT
    sent = len(updates_sent(sandbox))

    with django_capture_on_commit_callbacks(execute=True):
        again = post_event(wms_store, {"event_id": "pack-1", "type": "packed", "order_id": order.marketplace_order_id})
        late = post_event(wms_store, {"event_id": "pick-1", "type": "picked", "order_id": order.marketplace_order_id})
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "duplicate"
    assert late.status_code == 200 and late.json()["results"][0]["status"] == "ignored"
    assert "Late" in late.json()["results"][0]["detail"]
    assert WmsEvent.objects.get(event_id="pack-1").duplicates == 1
    assert WmsEvent.objects.get(event_id="pick-1").outcome == WmsEvent.Outcome.IGNORED
    assert order.shipments.count() == 1 and len(updates_sent(sandbox)) == sent
    history = [c.to_status for c in order.status_changes.all()]
    assert history.count(S.READY_TO_SHIP) == 1 and S.PICKED not in history  # the late picked changed nothing


def test_line_events_and_a_split_shipment_through_the_wms(sandbox, wms_store, wms, paid_order, post_event,
                                                          django_capture_on_commit_callbacks):
    order = paid_order(["A", "B"])
    ids = sorted(order.lines.values_list("order_detail_id", flat=True))
    ref = order.marketplace_order_id
    with django_capture_on_commit_callbacks(execute=True):
        first = post_event(wms_store, {"event_id": "l1", "type": "picked", "order_id": ref, "lines": [ids[0]]})
    assert "waiting for the other lines" in first.json()["results"][0]["detail"]
    order.refresh_from_db()
    assert order.status == S.RFP and not order.shipments.exists()

    with django_capture_on_commit_callbacks(execute=True):  # line A packed and shipped now, B later
        post_event(wms_store, {"event_id": "l2", "type": "packed", "order_id": ref, "lines": [ids[0]], "ship": True})
    fnac = {line["order_detail_id"]: line["state"] for line in sandbox.order_json(ref)["lines"]}
    assert fnac == {ids[0]: "Shipped", ids[1]: "ToShip"}
    order.refresh_from_db()
    assert order.status == S.READY_TO_SHIP

    with django_capture_on_commit_callbacks(execute=True):  # the last line: the order ships whole
        post_event(wms_store, {"event_id": "l3", "type": "picked", "order_id": ref, "lines": [ids[1]]})
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT and order.shipments.count() == 2
    assert sandbox.order_json(ref)["state"] == "Shipped"
    trackings = {s["shipment"]["tracking_number"] for s in wms.of_type("shipment.created")}
    assert trackings == set(order.shipments.values_list("tracking_number", flat=True))


def test_a_batch_of_events(sandbox, wms_store, paid_order, post_event, django_capture_on_commit_callbacks):
    a, b = paid_order(["A"]), paid_order(["B"])
    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(wms_store, {"events": [
            {"event_id": "b1", "type": "picked", "order_id": a.marketplace_order_id},
            {"event_id": "b2", "type": "bogus", "order_id": b.marketplace_order_id},
            {"event_id": "b3", "type": "picked", "order_id": b.marketplace_order_id}]})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["applied", "rejected", "applied"]
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.status == b.status == S.IN_TRANSIT


def test_a_wms_that_is_down_then_back(sandbox, wms_store, wms, paid_order, django_capture_on_commit_callbacks):
    wms.statuses = [500, 503]
    order = paid_order(["A"])
    with django_capture_on_commit_callbacks(execute=True):
        outcome = services.order_ready_to_ship(order=order)
    assert outcome.ok  # FNAC does not wait for the WMS
    delivery = WmsDelivery.objects.get(kind=WmsDelivery.Kind.SHIPMENT)
    assert delivery.state == WmsDelivery.State.PENDING and delivery.attempts == 1
    assert delivery.last_status_code == 500 and "HTTP 500" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()

    # not due yet: the periodic job leaves it alone
    assert wms_deliveries_drain(store=wms_store) == {"delivered": 0, "failed": 0}
    later = timezone.now() + dt.timedelta(seconds=31)
    assert wms_deliveries_drain(store=wms_store, now=later) == {"delivered": 0, "failed": 1}  # 503
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at - later > dt.timedelta(seconds=50)  # backoff grows
    assert wms_deliveries_drain(store=wms_store, now=later + dt.timedelta(minutes=5)) == {"delivered": 1,
                                                                                           "failed": 0}
    delivery.refresh_from_db()
    assert delivery.state == WmsDelivery.State.DELIVERED and delivery.attempts == 3
    assert [r["status"] for r in wms.received] == [500, 503, 200]
    # every attempt carried the same delivery id (the WMS can de-duplicate) and a valid signature
    assert {r["headers"]["X-Delivery-Id"] for r in wms.received} == {delivery.key}
    assert all(r["headers"]["X-Signature"] == signature_for(WMS_SECRET, r["body"]) for r in wms.received)
    assert SyncRun.objects.filter(kind=SyncRun.Kind.WMS_DELIVERY).count() == 2


def test_nothing_is_lost_when_the_wms_cannot_be_reached(sandbox, wms_store, wms, paid_order,
                                                        django_capture_on_commit_callbacks):
    from stores.models import Store

    Store.objects.filter(pk=wms_store.pk).update(wms_webhook_url="http://127.0.0.1:9/closed")
    wms_store.refresh_from_db()
    orders = [paid_order([f"S{i}"]) for i in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        services.orders_ready_to_ship(orders=orders)
    pending = WmsDelivery.objects.filter(state=WmsDelivery.State.PENDING)
    assert pending.count() == 3 and all("ConnectionError" in d.last_error for d in pending)
    Store.objects.filter(pk=wms_store.pk).update(wms_webhook_url=wms.url)
    wms_store.refresh_from_db()
    from fulfilment.tasks import wms_deliveries_task

    later = timezone.now() + dt.timedelta(hours=2)
    assert wms_deliveries_drain(store=wms_store, now=later)["delivered"] == 3
    assert wms_deliveries_task(wms_store.pk) == {"delivered": 0, "failed": 0}
    assert len(wms.of_type("shipment.created")) == 3


def test_the_periodic_jobs_are_registered_for_wms_stores(wms_store):
    from django_q.models import Schedule

    from stores.services import store_schedules_ensure

    store_schedules_ensure(store=wms_store)
    names = set(Schedule.objects.values_list("name", flat=True))
    assert f"store:{wms_store.pk}:wms_deliveries" in names
    assert "global:shipments_retry_sweep" in names  # confirmations are retried by one job for every store


def test_wms_answers_are_checked_with_requests(wms):
    # the fake WMS itself: 500 then 200, so the tests above exercise a real HTTP round trip
    wms.statuses = [500]
    assert requests.post(wms.url, data=b"{}", timeout=5).status_code == 500
    assert requests.post(wms.url, data=b"{}", timeout=5).status_code == 200
