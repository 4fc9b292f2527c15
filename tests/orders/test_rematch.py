"""Orders imported before their products (both imports start on connect) are linked once the catalogue lands."""

from __future__ import annotations

import pytest

from orders.models import Order, OrderLine, OrderStatus

pytestmark = pytest.mark.django_db


def test_catalogue_import_links_earlier_order_lines_and_promotes(sandbox, manual_store):
    from catalogue.imports import catalogue_sync
    from orders.services import orders_sync

    sandbox.seed_offers(5)
    done = sandbox.add_order(state="Received", lines=["SKU-000001"])
    waiting = sandbox.add_order(state="ToShip", lines=[{"sku": "SKU-000002", "quantity": 1}])
    orders_sync(store=manual_store, mode="full", trigger="test")  # no product yet: lines unmatched
    assert OrderLine.objects.filter(unmatched=True).count() == 2
    assert Order.objects.get(marketplace_order_id=waiting).status == OrderStatus.PARTIAL

    run = catalogue_sync(store=manual_store, full=True, trigger="test")
    assert OrderLine.objects.filter(unmatched=True).count() == 0
    assert not Order.objects.filter(has_unmatched_lines=True).exists()
    assert OrderLine.objects.get(order__marketplace_order_id=done).product.sku == "SKU-000001"
    assert Order.objects.get(marketplace_order_id=waiting).status == OrderStatus.NEW
    assert run.counts["order_lines_matched"] == 2 and run.counts["orders_promoted"] == 1
