"""Acceptance (automatic both ways, manual doors), promotion of waiting orders, pushing order updates."""

from __future__ import annotations

import pytest

from catalogue.models import Product
from fnac_connector.marketplace.fnac.types import LineUpdate, OrderUpdate
from orders import services
from orders.models import Order, OrderStatus
from stores.models import Store

S = OrderStatus


def _set(store, **fields):
    Store.objects.filter(pk=store.pk).update(**fields)
    store.refresh_from_db()
    return store


def _accepts(sandbox):
    return [r.body.decode() for r in sandbox.requests_for("orders_update")]


def test_auto_accept_when_every_line_is_covered(sandbox, connected_store, sync, make_product):
    make_product(connected_store, "A", on_hand=3)
    order_id = sandbox.add_order(state="Created", lines=[{"sku": "A", "quantity": 2}])
    run = sync(mode="new")
    order = Order.objects.get(marketplace_order_id=order_id)
    assert order.status == S.AWAITING_PAYMENT and order.fnac_state == "Accepted"
    assert sandbox.order_json(order_id)["state"] == "Accepted"
    assert 'action="accept_order"' in _accepts(sandbox)[0]
    assert Product.objects.get(sku="A").stock_reserved == 2
    assert run.counts["accepted"] == 1
    # FNAC takes the payment: the order becomes New without a second reservation
    sandbox.set_order_state(order_id, "ToShip")
    sync(mode="status")
    order.refresh_from_db()
    assert order.status == S.NEW and Product.objects.get(sku="A").stock_reserved == 2


def test_uncovered_order_is_left_for_a_decision(sandbox, connected_store, sync, make_product):
    make_product(connected_store, "A", on_hand=1)
    lines = [{"sku": "A", "quantity": 1}, {"sku": "UNKNOWN", "quantity": 1}]
    order_id = sandbox.add_order(state="Created", lines=lines)
    sync(mode="new")
    order = Order.objects.get(marketplace_order_id=order_id)
    assert order.status == S.AWAITING_ACCEPTANCE and order.decision_needed
    assert "UNKNOWN" in order.decision_note and "unknown SKU" in order.decision_note
    assert not _accepts(sandbox)
    assert Product.objects.get(sku="A").stock_reserved == 0  # nothing held for an order not accepted
    sync(mode="new")
    assert not _accepts(sandbox)  # not retried automatically


def test_uncovered_lines_are_refused_when_the_store_says_so(sandbox, connected_store, sync, make_product):
    _set(connected_store, uncovered_policy=Store.UncoveredPolicy.REFUSE_LINES)
    make_product(connected_store, "A", on_hand=5)
    make_product(connected_store, "B", on_hand=0)
    order_id = sandbox.add_order(state="Created", lines=[{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}])
    sync(mode="new")
    body = _accepts(sandbox)[0]
    assert "<action>Accepted</action>" in body and "<action>Refused</action>" in body
    fnac = sandbox.order_json(order_id)
    assert {line["sku"]: line["state"] for line in fnac["lines"]} == {"A": "Accepted", "B": "Refused"}
    order = Order.objects.get(marketplace_order_id=order_id)
    assert order.status == S.AWAITING_PAYMENT
    assert {line.sku: line.state for line in order.lines.all()} == {"A": "Accepted", "B": "Refused"}


def test_all_lines_uncovered_refuses_the_order(sandbox, connected_store, sync, make_product):
    _set(connected_store, uncovered_policy=Store.UncoveredPolicy.REFUSE_LINES)
    make_product(connected_store, "B", on_hand=0)
    order_id = sandbox.add_order(state="Created", lines=[{"sku": "B", "quantity": 1}])
    sync(mode="new")
    assert sandbox.order_json(order_id)["state"] == "Refused"
    assert Order.objects.get(marketplace_order_id=order_id).status == S.REFUSED


def test_manual_mode_never_pushes(sandbox, manual_store, sync, make_product):
    make_product(manual_store, "A", on_hand=5)
    sandbox.add_order(state="Created", lines=[{"sku": "A", "quantity": 1}])
    sync(mode="new")
    assert not _accepts(sandbox)
    assert Order.objects.get().status == S.AWAITING_ACCEPTANCE


def test_manual_accept_and_refuse(sandbox, manual_store, sync, make_product, superuser):
    make_product(manual_store, "A", on_hand=5)
    one = sandbox.add_order(state="Created", lines=[{"sku": "A", "quantity": 1}])
    two = sandbox.add_order(state="Created", lines=[{"sku": "A", "quantity": 1}])
    sync(mode="new")
    services.order_accept(order=Order.objects.get(marketplace_order_id=one), user=superuser)
    with pytest.raises(services.ReasonRequired):
        services.order_refuse(order=Order.objects.get(marketplace_order_id=two), user=superuser, reason="  ")
    assert sandbox.order_json(two)["state"] == "Created"  # nothing sent without a reason
    services.order_refuse(order=Order.objects.get(marketplace_order_id=two), user=superuser, reason="Price error")
    assert sandbox.order_json(one)["state"] == "Accepted" and sandbox.order_json(two)["state"] == "Refused"
    accepted = Order.objects.get(marketplace_order_id=one)
    assert accepted.status == S.AWAITING_PAYMENT
    change = accepted.status_changes.last()
    assert (change.source, change.user_id) == ("user", superuser.pk)
    assert Order.objects.get(marketplace_order_id=two).status == S.REFUSED


def test_fnac_refusal_is_shown_on_the_order(sandbox, manual_store, sync):
    from fnac_connector.errors import MarketplaceFailure

    order_id = sandbox.add_order(state="Created")
    sync(mode="new")
    sandbox.set_order_state(order_id, "Cancelled")  # FNAC moved on; our copy is stale
    order = Order.objects.get(marketplace_order_id=order_id)
    with pytest.raises(MarketplaceFailure) as info:
        services.order_accept(order=order)
    assert "ERR_112" in str(info.value)
    order.refresh_from_db()
    assert "ERR_112" in order.last_push_error and order.status == S.AWAITING_ACCEPTANCE


def test_push_updates_batches_25_per_call_and_reports_per_order(sandbox, manual_store):
    ids = [sandbox.add_order(state="Created") for _ in range(30)]
    updates = [OrderUpdate(order_id=i, action="accept_all_orders", lines=[LineUpdate(action="Accepted")])
               for i in ids]
    updates.append(OrderUpdate(order_id="NOSUCHORDER01", action="accept_all_orders",
                               lines=[LineUpdate(action="Accepted")]))
    results = services.orders_push_updates(store=manual_store, updates=updates)
    assert len(sandbox.requests_for("orders_update")) == 2
    assert [r.order_id for r in results] == [u.order_id for u in updates]
    assert all(r.ok for r in results[:30])
    assert not results[30].ok and "ERR_111" in services.describe_result(results[30])


def test_push_updates_isolates_an_invalid_update(sandbox, manual_store):
    good = sandbox.add_order(state="Created")
    updates = [OrderUpdate(order_id=good, action="accept_all_orders", lines=[LineUpdate(action="Accepted")]),
               OrderUpdate(order_id="X" * 13, action="no_such_action", lines=[LineUpdate(action="Accepted")])]
    results = services.orders_push_updates(store=manual_store, updates=updates)
    assert results[0].ok
    assert results[1].errors[0].code == "INVALID_REQUEST"


def test_partial_orders_move_to_new_oldest_first(sandbox, manual_store, sync, make_product):
    import datetime as dt

    from django.utils import timezone

    product = make_product(manual_store, "W", on_hand=0)
    now = timezone.now()
    line = [{"sku": "W", "quantity": 1}]
    older = sandbox.add_order(state="ToShip", lines=line, created_at=now - dt.timedelta(hours=2))
    newer = sandbox.add_order(state="ToShip", lines=line, created_at=now - dt.timedelta(hours=1))
    sync(mode="full")
    assert set(Order.objects.values_list("status", flat=True)) == {S.PARTIAL}
    assert services.orders_promote_waiting(store=manual_store) == 0
    Product.objects.filter(pk=product.pk).update(stock_on_hand=1)
    assert services.orders_promote_waiting(store=manual_store, product_ids=[product.pk]) == 1
    statuses = dict(Order.objects.values_list("marketplace_order_id", "status"))
    assert statuses == {older: S.NEW, newer: S.PARTIAL}
    Product.objects.filter(pk=product.pk).update(stock_on_hand=2)
    assert services.orders_promote_waiting(store=manual_store, product_ids=[product.pk]) == 1
    assert Order.objects.get(marketplace_order_id=newer).status == S.NEW
    product.refresh_from_db()
    assert product.stock_reserved == 2
    change = Order.objects.get(marketplace_order_id=newer).status_changes.last()
    assert (change.from_status, change.to_status, change.source) == (S.PARTIAL, S.NEW, "system")


def test_unknown_sku_becomes_known_then_promoted(sandbox, manual_store, sync, make_product):
    order_id = sandbox.add_order(state="ToShip", lines=[{"sku": "LATER", "quantity": 1}])
    sync(mode="full")
    assert Order.objects.get().status == S.PARTIAL
    make_product(manual_store, "LATER", on_hand=1)
    assert services.orders_promote_waiting(store=manual_store) == 1
    order = Order.objects.get(marketplace_order_id=order_id)
    assert order.status == S.NEW and not order.has_unmatched_lines


def test_a_call_fnac_refuses_whole_is_split_and_only_the_offending_order_fails(sandbox, manual_store):
    """FNAC refuses an orders_update whole (ERR_096) when one order in it does not validate: the connector sends
    the orders again in halves until the offending one is alone; the others are accepted on FNAC."""
    ids = [sandbox.add_order(state="Created") for _ in range(6)]
    sandbox.refuse(order_ids=[ids[4]])
    updates = [OrderUpdate(order_id=i, action="accept_all_orders", lines=[LineUpdate(action="Accepted")])
               for i in ids]
    results = services.orders_push_updates(store=manual_store, updates=updates)
    assert [r.order_id for r in results] == ids
    assert [r.ok for r in results] == [True, True, True, True, False, True]
    refused = results[4]
    assert refused.failure.final and refused.failure.code == "ERR_096"
    assert "XML Validation failed" in refused.failure.message
    assert [sandbox.order_json(i)["state"] for i in ids] == ["Accepted"] * 4 + ["Created", "Accepted"]
    calls = _accepts(sandbox)
    assert len(calls) > 1 and ids[4] in calls[-1] or any(
        ids[4] in body and body.count("<order ") == 1 for body in calls)


def test_an_order_id_not_13_characters_is_refused_before_any_call(sandbox, manual_store):
    good = sandbox.add_order(state="Created")
    updates = [OrderUpdate(order_id=oid, action="accept_all_orders", lines=[LineUpdate(action="Accepted")])
               for oid in ("SHORT1", good, "FOURTEENCHARS1")]
    results = services.orders_push_updates(store=manual_store, updates=updates)
    assert [r.ok for r in results] == [False, True, False]
    assert results[0].failure.final and "13 characters" in results[0].failure.message
    calls = _accepts(sandbox)
    assert len(calls) == 1 and good in calls[0] and "SHORT1" not in calls[0] and "FOURTEENCHARS1" not in calls[0]
    assert sandbox.order_json(good)["state"] == "Accepted"
