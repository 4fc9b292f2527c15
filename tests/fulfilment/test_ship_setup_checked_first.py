"""Defect 3 (issue 11): Ready to Ship for a store without a sender address, a carrier or a carrier adapter moved
the order to Ready to Ship, flagged it and booked nothing (stranded: cancellation is refused from there).

Everything shipping needs is checked before any status moves: the order stays where it was (status, flag,
history), the message says what to fill in and where, the error is typed, and nothing reaches FNAC or the
carrier. Same on every door: service, admin bulk action, admin ship form, API, command."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from fnac_connector.carriers import get_adapter
from fnac_connector.errors import InvalidInput
from fulfilment import services
from fulfilment.models import Shipment
from fulfilment.shipping import ShippingSetupMissing
from orders.models import Order, OrderStatus
from stores.models import Store

S = OrderStatus
NO_SENDER = {"sender_address1": "", "sender_zipcode": "", "sender_city": ""}
SENDER_MESSAGE = "has no sender address (street, zip code, city missing): fill in Shipping setup › Sender address " \
                 "on the store page"


def _snapshot(order):
    order = Order.objects.get(pk=order.pk)
    return (order.status, order.flagged, order.flag_reason, order.last_push_error, order.tracking_number,
            list(order.status_changes.values_list("from_status", "to_status")))


def _nothing_sent(sandbox, before: int):
    sent = sandbox.requests[before:]
    assert not [r for r in sent if r.service == "orders_update"], "nothing may be sent to FNAC"
    assert not get_adapter("sandbox").shipments(), "nothing may be booked with the carrier"
    assert not Shipment.objects.exists()


@pytest.fixture
def stranded_setup(sandbox, ship_store, paid_order):
    """A paid order of a store whose sender address was never filled in."""
    order = paid_order(["A"])
    Store.objects.filter(pk=ship_store.pk).update(**NO_SENDER)
    return order


def test_service_no_sender_address_moves_nothing_and_says_where(sandbox, stranded_setup):
    order, before = stranded_setup, len(sandbox.requests)
    snapshot = _snapshot(order)
    with pytest.raises(ShippingSetupMissing) as caught:
        services.order_ready_to_ship(order=order)
    exc = caught.value
    assert exc.code == "shipping_setup_missing" and exc.where == "Shipping setup › Sender address"
    assert exc.missing == ["sender_address1", "sender_zipcode", "sender_city"]
    assert str(exc) == f"Store '{order.store.name}' {SENDER_MESSAGE}."
    outcome = services.orders_ready_to_ship(orders=[order])[0]
    assert isinstance(outcome.exception, ShippingSetupMissing) and outcome.shipment is None
    assert _snapshot(order) == snapshot and snapshot[0] == S.NEW and not snapshot[1]
    _nothing_sent(sandbox, before)


@pytest.mark.parametrize("change, where", [
    ({"default_carrier_code": ""}, "Shipping setup › Default carrier"),
    ({"carrier_adapter": ""}, "Shipping setup › Carrier adapter"),
    ({"carrier_adapter": "no-such-carrier"}, "Shipping setup › Carrier adapter"),
])
def test_service_no_carrier_or_adapter_moves_nothing(sandbox, ship_store, paid_order, change, where):
    order = paid_order(["A"])
    Store.objects.filter(pk=ship_store.pk).update(**change)
    before, snapshot = len(sandbox.requests), _snapshot(order)
    with pytest.raises(ShippingSetupMissing, match=f"{where} on the store page"):
        services.order_ready_to_ship(order=order)
    assert _snapshot(order) == snapshot
    _nothing_sent(sandbox, before)


def test_a_carrier_refusal_after_the_checks_leaves_the_order_where_it_was(sandbox, ship_store, paid_order):
    """A failed booking (here the carrier refuses the sender's zip code) moves nothing either."""
    order = paid_order(["A"])
    Store.objects.filter(pk=ship_store.pk).update(sender_zipcode="750")
    before, snapshot = len(sandbox.requests), _snapshot(order)
    with pytest.raises(InvalidInput, match="sender zipcode must be 5 digits"):
        services.order_ready_to_ship(order=order)
    assert _snapshot(order) == snapshot
    _nothing_sent(sandbox, before)


def test_admin_bulk_action_and_ship_form(sandbox, stranded_setup, superuser, client):
    order, before = stranded_setup, len(sandbox.requests)
    snapshot = _snapshot(order)
    client.force_login(superuser)
    response = client.post("/admin/orders/order/", {"action": "ready_to_ship", "_selected_action": [order.pk]},
                           follow=True)
    assert SENDER_MESSAGE in response.content.decode()
    response = client.post(f"/admin/fulfilment/shipment/ship/{order.pk}/", {})
    assert response.status_code == 200 and SENDER_MESSAGE in response.content.decode()
    assert _snapshot(order) == snapshot
    _nothing_sent(sandbox, before)


def test_api(sandbox, stranded_setup, superuser, token_client):
    order, before = stranded_setup, len(sandbox.requests)
    snapshot = _snapshot(order)
    response = token_client(superuser).post(f"/api/orders/{order.pk}/ready-to-ship/", {}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "shipping_setup_missing" and SENDER_MESSAGE in body["detail"]
    assert body["errors"]["where"] == "Shipping setup › Sender address"
    assert _snapshot(order) == snapshot
    _nothing_sent(sandbox, before)


def test_command(sandbox, stranded_setup):
    order, before = stranded_setup, len(sandbox.requests)
    snapshot = _snapshot(order)
    with pytest.raises(CommandError, match="Shipping setup › Sender address"):
        call_command("ready_to_ship", order=[order.pk], stdout=io.StringIO(), stderr=io.StringIO())
    assert _snapshot(order) == snapshot
    _nothing_sent(sandbox, before)


def test_once_filled_in_the_same_order_ships(sandbox, stranded_setup, ship_store):
    Store.objects.filter(pk=ship_store.pk).update(sender_address1="1 rue X", sender_zipcode="75001",
                                                  sender_city="Paris")
    outcome = services.order_ready_to_ship(order=stranded_setup)
    assert outcome.ok and outcome.order.status == S.IN_TRANSIT
