"""Two requests shipping the same order at once (PostgreSQL: real concurrent transactions)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from fulfilment.models import Shipment, ShipmentLine
from orders.models import Order, OrderStatus
from tests.fulfilment.conftest import updates_sent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (real concurrent transactions)")


def test_two_requests_ship_an_order_once(sandbox, ship_store, paid_order):
    from django.db import connections

    from fnac_connector.errors import Conflict
    from fulfilment.services import order_ready_to_ship

    order = paid_order(["A", "B"])
    barrier, errors, outcomes = threading.Barrier(2), [], []

    def work():
        try:
            barrier.wait()
            outcomes.append(order_ready_to_ship(order=Order.objects.get(pk=order.pk)))
        except Conflict as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 1 and len(errors) == 1, (outcomes, errors)
    assert Shipment.objects.count() == 1 and ShipmentLine.objects.count() == 2
    assert sum(body.count("<action>Shipped</action>") for body in updates_sent(sandbox)) == 2
    order.refresh_from_db()
    assert order.status == OrderStatus.IN_TRANSIT and not order.flagged
