"""Seller cancellation pushed to FNAC: refused lines before acceptance, a refund with a reason after payment
(stock released), "in process" while the warehouse works on it, and refused once packed."""

from __future__ import annotations

import pytest

from catalogue.models import Product
from fnac_connector.errors import Conflict, InvalidInput
from fulfilment import services
from fulfilment.models import WmsDelivery
from orders.models import Order, OrderStatus
from orders.services import orders_sync
from orders.status import IllegalTransition, order_transition
from stores.models import Store
from tests.fulfilment.conftest import updates_sent

S = OrderStatus


def test_cancel_before_acceptance_refuses_the_lines_on_fnac(sandbox, ship_store, make_product):
    Store.objects.filter(pk=ship_store.pk).update(acceptance_mode=Store.AcceptanceMode.MANUAL)
    ship_store.refresh_from_db()
    make_product(ship_store, "A", on_hand=5)
    make_product(ship_store, "B", on_hand=5)
    ref = sandbox.add_order(state="Created", lines=[{"sku": "A"}, {"sku": "B"}])
    orders_sync(store=ship_store, mode="new", trigger="test")
    order = Order.objects.get(marketplace_order_id=ref)
    assert order.status == S.AWAITING_ACCEPTANCE

    order = services.order_cancel_by_seller(order=order)
    body = updates_sent(sandbox)[-1]
    assert 'action="accept_order"' in body and body.count("<action>Refused</action>") == 2
    assert sandbox.order_json(ref)["state"] == "Refused"
    assert order.status == S.CANCELLED_BY_SELLER and order.fnac_state == "Refused"
    assert set(order.lines.values_list("state", flat=True)) == {"Refused"}
    # the next status sync does not turn it into something else
    orders_sync(store=ship_store, mode="status", trigger="test")
    order.refresh_from_db()
    assert order.status == S.CANCELLED_BY_SELLER


def test_cancel_after_payment_is_a_refund_with_a_reason_and_releases_the_stock(sandbox, ship_store, paid_order):
    order = paid_order(["A", "B"])
    assert Product.objects.get(sku="A").stock_reserved == 1
    order = services.order_cancel_by_seller(order=order, reason="no_stock")
    body = updates_sent(sandbox)[-1]
    assert 'action="refund_order"' in body and body.count("<action>Refunded</action>") == 2
    assert body.count("<refund_reason>no_stock</refund_reason>") == 2
    fnac = sandbox.order_json(order.marketplace_order_id)
    assert fnac["state"] == "Refunded" and {line["refund_reason"] for line in fnac["lines"]} == {"no_stock"}
    assert order.status == S.CANCELLED_BY_SELLER and order.fnac_state == "Refunded"
    assert Product.objects.get(sku="A").stock_reserved == 0 and Product.objects.get(sku="B").stock_reserved == 0
    assert Product.objects.get(sku="A").stock_on_hand == 50  # released, not consumed
    orders_sync(store=ship_store, mode="status", trigger="test")
    order.refresh_from_db()
    assert order.status == S.CANCELLED_BY_SELLER


def test_cancel_while_the_warehouse_works_waits_for_the_wms(sandbox, wms_store, wms, paid_order,
                                                           django_capture_on_commit_callbacks):
    order = paid_order(["A"])
    services.order_release_to_warehouse(order=order)
    wms.statuses = [500]
    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_cancel_by_seller(order=order, reason="shipping_impossible")
    assert order.status == S.CANCELLED_BY_SELLER_INPROCESS
    assert sandbox.order_json(order.marketplace_order_id)["state"] == "Refunded"
    assert Product.objects.get(sku="A").stock_reserved == 1  # still held until the warehouse stops
    delivery = WmsDelivery.objects.get(kind=WmsDelivery.Kind.CANCELLED)
    assert delivery.state == WmsDelivery.State.PENDING
    assert services.wms_delivery_retry_now(delivery=delivery)
    order.refresh_from_db()
    assert order.status == S.CANCELLED_BY_SELLER and Product.objects.get(sku="A").stock_reserved == 0
    assert wms.of_type("order.cancelled")[0]["reason"] == "shipping_impossible"


def test_cancel_in_process_without_a_wms_completes_at_once(sandbox, ship_store, paid_order):
    order = paid_order(["A"])
    services.order_release_to_warehouse(order=order)
    order = services.order_cancel_by_seller(order=order)
    assert order.status == S.CANCELLED_BY_SELLER and Product.objects.get(sku="A").stock_reserved == 0
    assert [c.to_status for c in order.status_changes.all()][-2:] == [S.CANCELLED_BY_SELLER_INPROCESS,
                                                                       S.CANCELLED_BY_SELLER]


@pytest.mark.parametrize("status", [S.PACKED, S.READY_TO_SHIP])
def test_cancellation_is_refused_once_packed(sandbox, ship_store, paid_order, status):
    order = paid_order(["A"])
    order_transition(order=order, to_status=S.RFP, source="system")
    order_transition(order=order, to_status=status, source="system")
    before = len(sandbox.requests)
    with pytest.raises(IllegalTransition, match="no longer be cancelled once it is packed or ready to ship"):
        services.order_cancel_by_seller(order=order)
    assert len(sandbox.requests) == before  # nothing sent to FNAC
    order.refresh_from_db()
    assert order.status == status and Product.objects.get(sku="A").stock_reserved == 1


def test_cancellation_refused_after_shipping_and_awaiting_payment(sandbox, ship_store, paid_order, make_product):
    order = paid_order(["A"])
    services.order_ready_to_ship(order=order)
    with pytest.raises(IllegalTransition):
        services.order_cancel_by_seller(order=order)
    make_product(ship_store, "Z", on_hand=3)
    ref = sandbox.add_order(state="Accepted", lines=[{"sku": "Z"}])
    orders_sync(store=ship_store, mode="manual", trigger="test")
    waiting = Order.objects.get(marketplace_order_id=ref)
    assert waiting.status == S.AWAITING_PAYMENT
    with pytest.raises(Conflict, match="waiting for payment"):
        services.order_cancel_by_seller(order=waiting)
    with pytest.raises(InvalidInput, match="Unknown cancel reason"):
        services.order_cancel_by_seller(order=paid_order(["B"]), reason="bored")


def test_fnac_refusing_the_cancellation_is_shown(sandbox, ship_store, paid_order):
    from fnac_connector.errors import MarketplaceFailure

    order = paid_order(["A"])
    sandbox.set_order_state(order.marketplace_order_id, "Cancelled")  # FNAC got there first
    with pytest.raises(MarketplaceFailure, match="ERR_109"):  # FNAC: refund in the wrong state
        services.order_cancel_by_seller(order=order)
    order.refresh_from_db()
    assert order.status == S.NEW and "ERR_109" in order.last_push_error
