"""A store without a carrier adapter (the production default) says so when shipping, before anything changes."""

from __future__ import annotations

import pytest
from django.test import override_settings

from fnac_connector.errors import InvalidInput
from fulfilment import services
from fulfilment.models import Shipment
from orders.models import OrderStatus
from stores.models import Store
from tests.fulfilment.conftest import updates_sent

S = OrderStatus


def test_a_new_store_takes_its_carrier_adapter_from_the_setting(make_store):
    assert make_store().carrier_adapter == "sandbox"  # development and tests: the loopback sandbox carrier
    with override_settings(DEFAULT_CARRIER_ADAPTER=""):  # production's default: none
        assert make_store().carrier_adapter == ""


def test_ready_to_ship_without_a_carrier_adapter_fails_before_moving_any_status(sandbox, ship_store, paid_order):
    Store.objects.filter(pk=ship_store.pk).update(carrier_adapter="")
    order = paid_order(["A"])
    before = len(sandbox.requests)
    with pytest.raises(InvalidInput, match="no carrier adapter set for this store: "
                       "choose one in Shipping setup › Carrier adapter on the store page"):
        services.order_ready_to_ship(order=order)
    outcome = services.orders_ready_to_ship(orders=[order])[0]
    assert "no carrier adapter set for this store" in outcome.error and outcome.shipment is None
    order.refresh_from_db()
    assert order.status == S.NEW and not order.flagged and not Shipment.objects.exists()
    assert len(sandbox.requests) == before and not updates_sent(sandbox)


def test_a_typed_tracking_number_needs_no_carrier_adapter(sandbox, ship_store, paid_order):
    Store.objects.filter(pk=ship_store.pk).update(carrier_adapter="")
    order = paid_order(["A"])
    outcome = services.order_ready_to_ship(order=order, tracking_number="XT123456789FR", carrier_code="LAPOSTE")
    assert outcome.ok and outcome.shipment.source == Shipment.Source.MANUAL
