"""The status rules as data: each mapping row, the transition function, the FNAC-state decisions."""

from __future__ import annotations

import pytest

from fnac_connector.errors import Conflict
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.status import (
    FNAC_TO_OMS,
    MAPPING,
    IllegalTransition,
    oms_status_for_fnac,
    order_apply_fnac_state,
    order_transition,
)

S = OrderStatus


@pytest.fixture
def order_factory(db, store, make_product):
    from django.utils import timezone

    counter = {"n": 0}

    def _make(status=S.NEW, fnac_state="ToShip", qty=1, sku="SKU-1", stock=10, reserved=0):
        counter["n"] += 1
        product = make_product(store, sku, on_hand=stock) if not store.products.filter(sku=sku).exists() else \
            store.products.get(sku=sku)
        order = Order.objects.create(store=store, marketplace_order_id=f"ORD{counter['n']:010d}", fnac_state=fnac_state,
                                     status=status, created_at=timezone.now())
        OrderLine.objects.create(order=order, order_detail_id=counter["n"], sku=sku, product=product, quantity=qty,
                                 state="ToShip", reserved_quantity=reserved)
        if reserved:
            type(product).objects.filter(pk=product.pk).update(stock_reserved=product.stock_reserved + reserved)
        return order

    return _make


def test_every_oms_status_and_fnac_state_has_a_row():
    assert {row.oms_status for row in MAPPING} == set(S.values)
    assert {row.fnac_state for row in MAPPING if row.fnac_state} == set(FNAC_TO_OMS)


@pytest.mark.parametrize("fnac_state, expected", [
    ("Created", S.AWAITING_ACCEPTANCE), ("Accepted", S.AWAITING_PAYMENT), ("ToShip", S.NEW),
    ("Shipped", S.IN_TRANSIT), ("Received", S.COMPLETE), ("Cancelled", S.CANCELED), ("NotReceived", S.NOT_RECEIVED),
    ("Refused", S.REFUSED), ("Refunded", S.REFUNDED), ("Error", S.ERROR),
])
def test_new_order_status_per_fnac_state(fnac_state, expected):
    decision = oms_status_for_fnac(fnac_state=fnac_state, current=None)
    assert decision.to_status == expected
    assert decision.reserve is (expected == S.NEW)


@pytest.mark.parametrize("current", [S.NEW, S.PARTIAL, S.RFP, S.PICKED, S.PACKED, S.READY_TO_SHIP])
def test_toship_reread_never_rolls_back_warehouse_progress(current):
    assert oms_status_for_fnac(fnac_state="ToShip", current=current).to_status is None


@pytest.mark.parametrize("current, expected", [
    (S.AWAITING_ACCEPTANCE, S.CANCELED), (S.AWAITING_PAYMENT, S.CANCELED), (S.NEW, S.CANCELED),
    (S.PARTIAL, S.CANCELED), (S.RFP, S.CANCEL_IN_PROCESS), (S.PICKED, S.CANCEL_IN_PROCESS),
])
def test_fnac_cancellation_before_packing(current, expected):
    assert oms_status_for_fnac(fnac_state="Cancelled", current=current).to_status == expected


@pytest.mark.parametrize("current", [S.PACKED, S.READY_TO_SHIP, S.IN_TRANSIT])
def test_fnac_cancellation_after_packing_is_flagged_not_applied(current):
    decision = oms_status_for_fnac(fnac_state="Cancelled", current=current)
    assert decision.to_status is None
    assert "not applied" in decision.flag_reason


def test_unknown_fnac_state_is_flagged():
    decision = oms_status_for_fnac(fnac_state="Teleported", current=S.NEW)
    assert decision.to_status is None and "Teleported" in decision.flag_reason


def test_transition_writes_audit_row(order_factory, superuser):
    order = order_factory(status=S.NEW)
    order_transition(order=order, to_status=S.RFP, source="warehouse", note="released")
    order_transition(order=order, to_status=S.PICKED, source="user", user=superuser)
    order.refresh_from_db()
    assert order.status == S.PICKED
    rows = list(order.status_changes.values_list("from_status", "to_status", "source", "user_id"))
    assert rows == [(S.NEW, S.RFP, "warehouse", None), (S.RFP, S.PICKED, "user", superuser.pk)]


def test_same_status_is_a_no_op(order_factory):
    order = order_factory(status=S.NEW)
    order_transition(order=order, to_status=S.NEW, source="system")
    assert not order.status_changes.exists()


def test_illegal_transition_says_from_to_and_why(order_factory):
    order = order_factory(status=S.PACKED)
    with pytest.raises(IllegalTransition) as info:
        order_transition(order=order, to_status=S.CANCELLED_BY_SELLER, source="user")
    message = str(info.value)
    assert "Packed" in message and "Cancelled by seller" in message and "packed or ready to ship" in message
    assert isinstance(info.value, Conflict) and info.value.http_status == 409
    order.refresh_from_db()
    assert order.status == S.PACKED and not order.status_changes.exists()


def test_transition_checks_the_current_db_status_not_a_stale_object(order_factory):
    order = order_factory(status=S.NEW)
    Order.objects.filter(pk=order.pk).update(status=S.PACKED)  # another worker moved it
    with pytest.raises(IllegalTransition):
        order_transition(order=order, to_status=S.CANCELED, source="marketplace")


def test_seller_cancellation_releases_reserved_stock(order_factory):
    order = order_factory(status=S.NEW, qty=2, reserved=2)
    order_transition(order=order, to_status=S.CANCELLED_BY_SELLER, source="user")
    line = order.lines.get()
    assert line.reserved_quantity == 0 and line.product.stock_reserved == 0


def test_seller_cancellation_in_process_keeps_stock_until_the_warehouse_confirms(order_factory):
    order = order_factory(status=S.RFP, qty=1, reserved=1)
    order_transition(order=order, to_status=S.CANCELLED_BY_SELLER_INPROCESS, source="user")
    assert order.lines.get().product.stock_reserved == 1
    order_transition(order=order, to_status=S.CANCELLED_BY_SELLER, source="warehouse")
    assert order.lines.get().product.stock_reserved == 0


def test_fnac_cancel_in_process_then_canceled(order_factory):
    order = order_factory(status=S.PICKED, qty=1, reserved=1)
    order_apply_fnac_state(order=order, fnac_state="Cancelled")
    assert order.status == S.CANCEL_IN_PROCESS
    order_transition(order=order, to_status=S.CANCELED, source="warehouse")
    assert order.lines.get().product.stock_reserved == 0


def test_fnac_cancellation_after_packing_flags_the_order(order_factory):
    order = order_factory(status=S.PACKED, qty=1, reserved=1)
    order_apply_fnac_state(order=order, fnac_state="Cancelled")
    order.refresh_from_db()
    assert order.status == S.PACKED
    assert order.flagged and "no cancellation once packed" in order.flag_reason
    assert order.lines.get().product.stock_reserved == 1
    assert not OrderStatusChange.objects.filter(order=order).exists()


def test_toship_after_payment_reserves_or_waits(order_factory):
    covered = order_factory(status=S.AWAITING_PAYMENT, fnac_state="Accepted", qty=2, sku="A", stock=2)
    waiting = order_factory(status=S.AWAITING_PAYMENT, fnac_state="Accepted", qty=1, sku="A")
    order_apply_fnac_state(order=covered, fnac_state="ToShip")
    order_apply_fnac_state(order=waiting, fnac_state="ToShip")
    assert covered.status == S.NEW and waiting.status == S.PARTIAL
    assert covered.lines.get().reserved_quantity == 2


def test_shipped_from_fnac_consumes_reserved_stock(order_factory):
    order = order_factory(status=S.RFP, qty=2, reserved=2, stock=5)
    order_apply_fnac_state(order=order, fnac_state="Shipped")
    product = order.lines.get().product
    product.refresh_from_db()
    assert order.status == S.IN_TRANSIT and product.stock_on_hand == 3 and product.stock_reserved == 0


def test_not_received_is_mapped_and_flagged(order_factory):
    order = order_factory(status=S.IN_TRANSIT)
    order_apply_fnac_state(order=order, fnac_state="NotReceived")
    order.refresh_from_db()
    assert order.status == S.NOT_RECEIVED and order.flagged and "not received" in order.flag_reason


def test_new_order_imported_as_not_received_is_flagged(sandbox, connected_store):
    from orders.services import orders_sync

    order_id = sandbox.add_order(state="ToShip", lines=["SKU-X"])
    sandbox.set_order_state(order_id, "NotReceived")
    orders_sync(store=connected_store, mode="full", trigger="test")
    order = Order.objects.get(marketplace_order_id=order_id)
    assert order.status == S.NOT_RECEIVED and order.flagged


def test_status_mapping_admin_page(admin_client):
    response = admin_client.get("/admin/orders/order/status-mapping/")
    assert response.status_code == 200
    body = response.content.decode()
    for row in MAPPING:
        assert row.rule.split(";")[0][:30] in body.replace("&#x27;", "'")
    assert "Cancel in process" in body
