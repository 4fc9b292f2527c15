"""Ready to Ship without a WMS, both shipping modes, typed tracking numbers, split shipments, FNAC refusals and
retries, the 25-orders batching, and the status sync that follows (Shipped -> In transit -> Complete)."""

from __future__ import annotations

import pytest

from catalogue.models import Product
from fnac_connector.errors import Conflict, InvalidInput
from fulfilment import services
from fulfilment.models import Shipment
from orders.models import Order, OrderStatus
from orders.services import orders_sync
from stores.models import Store
from tests.fulfilment.conftest import updates_sent

S = OrderStatus


def _fnac_lines(sandbox, order):
    return {line["order_detail_id"]: line for line in sandbox.order_json(order.marketplace_order_id)["lines"]}


def test_self_ship_full_path_without_wms(sandbox, ship_store, paid_order):
    order = paid_order(["A", "B"])
    assert order.status == S.NEW and order.fnac_state == "ToShip"
    assert Product.objects.get(sku="A").stock_reserved == 1

    services.order_release_to_warehouse(order=order)
    order.refresh_from_db()
    assert order.status == S.RFP

    outcome = services.order_ready_to_ship(order=order)
    assert outcome.ok, outcome.error
    shipment = outcome.shipment
    assert shipment.source == Shipment.Source.CARRIER and shipment.adapter == "sandbox"
    assert shipment.carrier_code == "SOCOLISSIMO" and shipment.tracking_number.startswith("SO")
    assert shipment.awb.startswith("SBX") and bytes(shipment.label_pdf).startswith(b"%PDF")
    assert shipment.state == Shipment.State.CONFIRMED

    # what FNAC received: one update, both lines Shipped with the tracking number and carrier
    body = updates_sent(sandbox)[-1]
    assert 'action="update"' in body and body.count("<action>Shipped</action>") == 2
    assert f"<tracking_number>{shipment.tracking_number}</tracking_number>" in body
    assert "<tracking_company>SOCOLISSIMO</tracking_company>" in body
    fnac = sandbox.order_json(order.marketplace_order_id)
    assert fnac["state"] == "Shipped"
    assert {line["tracking_number"] for line in fnac["lines"]} == {shipment.tracking_number}

    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT and order.fnac_state == "Shipped" and not order.flagged
    assert order.tracking_number == shipment.tracking_number
    assert [c.to_status for c in order.status_changes.all()][-3:] == [S.RFP, S.READY_TO_SHIP, S.IN_TRANSIT]
    assert {line.state for line in order.lines.all()} == {"Shipped"}
    assert all(line.shipped_at and line.tracking_company == "SOCOLISSIMO" for line in order.lines.all())
    product = Product.objects.get(sku="A")
    assert (product.stock_on_hand, product.stock_reserved) == (49, 0)  # consumed at shipment

    # the buyer receives it: the status sync makes the order Complete
    sandbox.set_order_state(order.marketplace_order_id, "Received")
    orders_sync(store=ship_store, mode="status", trigger="test")
    order.refresh_from_db()
    assert order.status == S.COMPLETE


def test_ready_to_ship_straight_from_new_with_a_typed_tracking_number(sandbox, ship_store, paid_order):
    order = paid_order(["A"])
    outcome = services.order_ready_to_ship(order=order, tracking_number="XT123456789FR", carrier_code="LAPOSTE")
    assert outcome.ok
    assert outcome.shipment.source == Shipment.Source.MANUAL and not outcome.shipment.label_pdf
    line = next(iter(_fnac_lines(sandbox, order).values()))
    assert (line["tracking_number"], line["tracking_company"], line["state"]) == ("XT123456789FR", "LAPOSTE", "Shipped")
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT
    with pytest.raises(services.NoLabel, match="typed by hand"):
        services.order_label(order=order)


def test_channel_mode_uses_a_carrier_fnac_lists(sandbox, ship_store, paid_order):
    Store.objects.filter(pk=ship_store.pk).update(shipping_mode=Store.ShippingMode.CHANNEL,
                                                  default_carrier_code="chronopost")
    order = paid_order(["A"])
    outcome = services.order_ready_to_ship(order=order)
    assert outcome.ok
    # the code as FNAC spells it, checked against the carriers_query table
    assert outcome.shipment.carrier_code == "CHRONOPOST" and outcome.shipment.shipping_mode == "channel"
    assert "<tracking_company>CHRONOPOST</tracking_company>" in updates_sent(sandbox)[-1]


def test_channel_mode_refuses_unknown_codes_and_typed_numbers_before_anything_changes(sandbox, ship_store, paid_order):
    Store.objects.filter(pk=ship_store.pk).update(shipping_mode=Store.ShippingMode.CHANNEL)
    order = paid_order(["A"])
    before = len(sandbox.requests)
    with pytest.raises(InvalidInput, match="not one FNAC lists.*SOCOLISSIMO"):
        services.order_ready_to_ship(order=order, carrier_code="MYCARRIER")
    with pytest.raises(InvalidInput, match="cannot be typed"):
        services.order_ready_to_ship(order=order, tracking_number="ABC")
    order.refresh_from_db()
    assert order.status == S.NEW and not Shipment.objects.exists() and len(sandbox.requests) == before


def test_order_mode_overrides_the_store_default(sandbox, ship_store, paid_order):
    Store.objects.filter(pk=ship_store.pk).update(shipping_mode=Store.ShippingMode.CHANNEL)
    order = paid_order(["A"])
    Order.objects.filter(pk=order.pk).update(shipping_mode=Order.ShippingMode.SELF_SHIP)
    outcome = services.order_ready_to_ship(order=order, tracking_number="OWN-123")  # allowed: self ship order
    assert outcome.ok and outcome.shipment.shipping_mode == "self_ship"


def test_split_shipment(sandbox, ship_store, paid_order):
    order = paid_order(["A", "B", "C"])
    ids = sorted(order.lines.values_list("order_detail_id", flat=True))
    first = services.order_ready_to_ship(order=order, lines=[ids[0]])
    assert first.ok
    fnac = _fnac_lines(sandbox, order)
    assert fnac[ids[0]]["state"] == "Shipped" and fnac[ids[1]]["state"] == "ToShip"
    assert sandbox.order_json(order.marketplace_order_id)["state"] == "ToShip"
    order.refresh_from_db()
    assert order.status == S.READY_TO_SHIP  # the rest ships later
    assert Product.objects.get(sku="A").stock_reserved == 0 and Product.objects.get(sku="B").stock_reserved == 1

    with pytest.raises(Conflict, match="already shipped"):
        services.order_ready_to_ship(order=order, lines=[ids[0]])

    second = services.order_ready_to_ship(order=order, tracking_number="OTHER-42")  # the rest, its own tracking
    assert second.ok
    fnac = _fnac_lines(sandbox, order)
    assert fnac[ids[0]]["tracking_number"] == first.shipment.tracking_number
    assert {fnac[i]["tracking_number"] for i in ids[1:]} == {"OTHER-42"}
    assert sandbox.order_json(order.marketplace_order_id)["state"] == "Shipped"
    # the second update carried only the remaining lines
    last = updates_sent(sandbox)[-1]
    assert f"<order_detail_id>{ids[0]}</order_detail_id>" not in last
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT
    assert order.shipments.count() == 2
    with pytest.raises(Conflict, match="In transit"):
        services.order_ready_to_ship(order=order)


def test_a_carrier_fnac_does_not_list_is_refused_locally_before_anything_moves(sandbox, ship_store, paid_order):
    # FNAC takes any text in tracking_company (recorded: "Track Inc."), so the product checks the code itself
    Store.objects.filter(pk=ship_store.pk).update(default_carrier_code="MYCARRIER")  # self ship too
    order = paid_order(["A"])
    before = len(sandbox.requests)
    with pytest.raises(InvalidInput, match="'MYCARRIER' is not one FNAC lists.*TAT.*free text on purpose"):
        services.order_ready_to_ship(order=order)
    with pytest.raises(InvalidInput, match="'COLISIMO' is not one FNAC lists"):  # a typo is not sent
        services.order_ready_to_ship(order=order, carrier_code="COLISIMO", tracking_number="T-1")
    order.refresh_from_db()
    assert order.status == S.NEW and not order.flagged and not Shipment.objects.exists()
    assert len(sandbox.requests) == before  # nothing booked, nothing sent
    assert Product.objects.get(sku="A").stock_reserved == 1


def test_a_free_text_carrier_typed_on_purpose_goes_to_fnac_as_typed(sandbox, ship_store, paid_order):
    order = paid_order(["A", "B"])
    ids = sorted(order.lines.values_list("order_detail_id", flat=True))
    outcome = services.order_ready_to_ship(order=order, lines=[ids[0]], tracking_number="TI-42",
                                           carrier_code="  Track   Inc. ", carrier_free_text=True)
    assert outcome.ok, outcome.error
    assert outcome.shipment.carrier_code == "Track Inc."
    assert "<tracking_company>Track Inc.</tracking_company>" in updates_sent(sandbox)[-1]
    assert _fnac_lines(sandbox, order)[ids[0]]["tracking_company"] == "Track Inc."
    # a free text that is a carrier FNAC lists (its name here) goes as FNAC's code
    outcome = services.order_ready_to_ship(order=order, tracking_number="LP-1", carrier_code="la poste",
                                           carrier_free_text=True)
    assert outcome.ok and outcome.shipment.carrier_code == "LAPOSTE"
    with pytest.raises(InvalidInput, match="Type the carrier's name"):
        services.order_ready_to_ship(order=paid_order(["C"]), carrier_free_text=True)


def test_free_text_carrier_is_refused_with_fnacs_label(sandbox, ship_store, paid_order):
    Store.objects.filter(pk=ship_store.pk).update(shipping_mode=Store.ShippingMode.CHANNEL)
    order = paid_order(["A"])
    before = len(sandbox.requests)
    with pytest.raises(InvalidInput, match="pick one of FNAC's carrier codes"):
        services.order_ready_to_ship(order=order, carrier_code="Track Inc.", carrier_free_text=True)
    order.refresh_from_db()
    assert order.status == S.NEW and not Shipment.objects.exists() and len(sandbox.requests) == before


def test_fnac_refuses_a_confirmation_then_the_retry_with_a_corrected_carrier_goes_through(sandbox, ship_store,
                                                                                          paid_order):
    order = paid_order(["A"])
    sandbox.refuse(order_ids=[order.marketplace_order_id])
    outcome = services.order_ready_to_ship(order=order)
    assert not outcome.ok and "ERR_096" in outcome.error
    order.refresh_from_db()
    assert order.status == S.READY_TO_SHIP and order.flagged and "ERR_096" in order.last_push_error
    shipment = order.shipments.get()
    assert shipment.state == Shipment.State.REFUSED and shipment.tracking_number  # the label is kept
    assert sandbox.order_json(order.marketplace_order_id)["state"] == "ToShip"
    assert Product.objects.get(sku="A").stock_reserved == 1  # nothing consumed
    sandbox.refuse()

    sent = len(updates_sent(sandbox))
    with pytest.raises(InvalidInput, match="not one FNAC lists"):  # the correction is checked too
        services.order_shipments_retry(order=order, carrier_code="MYCARRIER")
    shipment.refresh_from_db()
    assert shipment.carrier_code == "SOCOLISSIMO" and len(updates_sent(sandbox)) == sent
    shipments = services.order_shipments_retry(order=order, carrier_code="laposte")
    assert [s.state for s in shipments] == [Shipment.State.CONFIRMED]
    body = updates_sent(sandbox)[-1]
    assert "<tracking_company>LAPOSTE</tracking_company>" in body
    assert f"<tracking_number>{shipment.tracking_number}</tracking_number>" in body
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT and not order.flagged and order.last_push_error == ""


def test_fnac_refuses_an_order_no_longer_to_ship(sandbox, ship_store, paid_order):
    order = paid_order(["A"])
    sandbox.set_order_state(order.marketplace_order_id, "Cancelled")  # FNAC cancelled it, the OMS does not know yet
    outcome = services.order_ready_to_ship(order=order)
    assert not outcome.ok and "ERR_112" in outcome.error
    order.refresh_from_db()
    assert order.flagged and "ERR_112" in order.last_push_error and order.fnac_state == "Cancelled"
    # a retry without a fix is refused again, and says so
    shipments = services.order_shipments_retry(order=order)
    assert shipments[0].state == Shipment.State.REFUSED
    with pytest.raises(Conflict, match="Cancelled on FNAC"):
        services.order_ready_to_ship(order=order)


def test_a_confirmation_that_could_not_reach_fnac_is_retried_without_repeating_what_landed(
        sandbox, ship_store, paid_order, monkeypatch):
    from fnac_connector.marketplace.errors import Unavailable
    from fnac_connector.marketplace.fnac.client import FnacClient

    order = paid_order(["A"])
    real = FnacClient.orders_update

    def lost_answer(self, updates):
        real(self, updates)  # FNAC applies it, but the answer is lost
        raise Unavailable("connection reset")

    monkeypatch.setattr(FnacClient, "orders_update", lost_answer)
    outcome = services.order_ready_to_ship(order=order)
    assert not outcome.ok
    shipment = order.shipments.get()
    assert shipment.state == Shipment.State.FAILED
    order.refresh_from_db()
    assert order.last_push_error and not order.flagged  # transient: retried by the periodic job
    monkeypatch.setattr(FnacClient, "orders_update", real)
    sent = len(updates_sent(sandbox))

    # the global sweep finds the store (and only stores with a failed confirmation) and queues its retry, which
    # runs inline in tests
    from fulfilment.tasks import shipments_retry_sweep_task

    assert services.stores_with_failed_confirmations() == [ship_store.pk]
    assert shipments_retry_sweep_task() == [ship_store.pk]
    assert services.stores_with_failed_confirmations() == []
    shipment.refresh_from_db()
    assert shipment.state == Shipment.State.CONFIRMED
    assert len(updates_sent(sandbox)) == sent  # re-read FNAC first: nothing sent twice
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT and order.last_push_error == ""


def test_bulk_ready_to_ship_confirms_25_orders_per_call(sandbox, ship_store, paid_order):
    orders = [paid_order([f"SKU{i}"]) for i in range(27)]
    sandbox.clear_requests()
    outcomes = services.orders_ready_to_ship(orders=orders)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
    bodies = updates_sent(sandbox)
    assert [b.count("<order ") for b in bodies] == [25, 2]
    assert Order.objects.filter(pk__in=[o.pk for o in orders], status=S.IN_TRANSIT).count() == 27


def test_bad_requests_change_nothing(sandbox, ship_store, paid_order):
    order = paid_order(["A"])
    with pytest.raises(InvalidInput, match="no line"):
        services.order_ready_to_ship(order=order, lines=[999999])
    with pytest.raises(InvalidInput, match="32 characters"):
        services.order_ready_to_ship(order=order, tracking_number="X" * 40)
    Store.objects.filter(pk=ship_store.pk).update(default_carrier_code="")
    with pytest.raises(InvalidInput, match="has no default carrier: choose one in Shipping setup › Default carrier"):
        services.order_ready_to_ship(order=order)
    order.refresh_from_db()
    assert order.status == S.NEW and not Shipment.objects.exists()


def test_an_address_the_carrier_refuses_leaves_the_order_where_it_was(sandbox, ship_store, paid_order):
    order = paid_order(["A"])
    Order.objects.filter(pk=order.pk).update(shipping_address={**order.shipping_address, "zipcode": "7500"})
    with pytest.raises(InvalidInput, match="zipcode must be 5 digits"):
        services.order_ready_to_ship(order=order)
    order.refresh_from_db()
    assert order.status == S.NEW and not order.flagged and not order.status_changes.filter(to_status=S.READY_TO_SHIP)
    assert not updates_sent(sandbox) or "Shipped" not in updates_sent(sandbox)[-1]


def test_release_only_from_new(sandbox, ship_store, paid_order):
    from orders.status import IllegalTransition

    order = paid_order(["A"])
    services.order_release_to_warehouse(order=order)
    with pytest.raises(IllegalTransition, match="only a New order"):
        services.order_release_to_warehouse(order=order)


def test_a_confirmation_fnac_refuses_whole_is_split_and_only_the_offending_order_stays(sandbox, ship_store,
                                                                                        paid_order):
    """FNAC refuses a whole orders_update (ERR_096) for one order in it: the others are confirmed Shipped, the
    offending one is not moved and shows FNAC's message."""
    orders = [paid_order([f"SKU{i}"]) for i in range(4)]
    bad = orders[2]
    sandbox.refuse(order_ids=[bad.marketplace_order_id])
    outcomes = services.orders_ready_to_ship(orders=orders)
    assert [o.ok for o in outcomes] == [True, True, False, True]
    assert "ERR_096" in outcomes[2].error
    states = [sandbox.order_json(o.marketplace_order_id)["state"] for o in orders]
    assert states == ["Shipped", "Shipped", "ToShip", "Shipped"]
    bad.refresh_from_db()
    assert bad.status != S.IN_TRANSIT and "ERR_096" in bad.last_push_error
    assert Order.objects.filter(pk__in=[o.pk for o in orders], status=S.IN_TRANSIT).count() == 3


def test_the_retry_sweep_skips_stores_without_failed_confirmations_or_not_connected(sandbox, ship_store, make_store):
    from django_q.models import Schedule

    from fulfilment.tasks import shipments_retry_sweep_task
    from stores import hooks
    from stores.services import store_schedules_ensure

    other = make_store(name="Other")
    Store.objects.filter(pk=other.pk).update(status=Store.Status.CONNECTED)
    failed = dict(state=Shipment.State.FAILED, carrier_code="LAPOSTE", tracking_number="X1")
    Shipment.objects.create(store=other, order=Order.objects.create(
        store=other, marketplace_order_id="O-OTHER", fnac_state="ToShip", status=S.NEW,
        created_at="2026-11-01T10:00:00Z"), **failed)
    assert shipments_retry_sweep_task.__module__ == "fulfilment.tasks"
    assert services.stores_with_failed_confirmations() == [other.pk]
    Store.objects.filter(pk=other.pk).update(status=Store.Status.DISCONNECTED)
    assert services.stores_with_failed_confirmations() == []
    # no schedule per store any more, one global job (created by migrate)
    store_schedules_ensure(store=ship_store)
    assert not Schedule.objects.filter(name=hooks.schedule_name(ship_store.pk, "shipments_retry")).exists()
    schedule = Schedule.objects.get(name=hooks.global_schedule_name("shipments_retry_sweep"))
    assert (schedule.func, schedule.minutes) == ("fulfilment.tasks.shipments_retry_sweep_task", 10)


def test_the_migration_drops_the_old_per_store_retry_schedules_only(db):
    import importlib

    from django.apps import apps as django_apps
    from django_q.models import Schedule

    for name in ("store:1:shipments_retry", "store:12:shipments_retry", "store:1:shipments_retry_x",
                 "store:1:orders_new"):
        Schedule.objects.create(name=name, func="x", schedule_type=Schedule.MINUTES, minutes=10)
    migration = importlib.import_module("fulfilment.migrations.0006_issue14_drop_per_store_shipments_retry")
    migration.drop_per_store_retries(django_apps, None)
    assert sorted(Schedule.objects.filter(name__startswith="store:").values_list("name", flat=True)) == [
        "store:1:orders_new", "store:1:shipments_retry_x"]
