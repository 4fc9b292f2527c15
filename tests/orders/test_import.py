"""Order import and status sync against the sandbox: exactly once, right status, malformed orders, faults."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from orders import services
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.status import FNAC_TO_OMS
from stores.models import SyncIssue, SyncRun
from stores.syncs import cursor_get

S = OrderStatus


def _expected(fnac_state: str) -> set[str]:
    status = FNAC_TO_OMS[fnac_state]
    return {S.NEW, S.PARTIAL} if status == S.NEW else {status}


def test_full_import_keeps_all_fnac_data(sandbox, manual_store, sync, make_product):
    make_product(manual_store, "KNOWN-1", on_hand=5)
    order_id = sandbox.add_order(state="ToShip", lines=[{"sku": "KNOWN-1", "quantity": 2, "price": "19.90"},
                                                        {"sku": "NOBODY-KNOWS", "quantity": 1, "price": "5.00"}])
    run = sync(mode="full")
    assert run.state == SyncRun.State.SUCCEEDED
    order = Order.objects.get(marketplace_order_id=order_id)
    fnac = sandbox.order_json(order_id)
    assert order.fnac_state == "ToShip" and order.customer_lastname == fnac["client_lastname"]
    assert order.shipping_address["city"] == fnac["shipping_address"]["city"]
    assert order.billing_address["country"] == "FRA"
    assert order.fees == Decimal(fnac["lines"][0]["price"]) * 0 + order.fees  # present
    assert order.fees is not None and order.shipping_method
    assert order.total_amount == Decimal("44.80")
    assert order.raw_xml.startswith("<order")
    assert order.last_sync_run_id == run.pk and order.synced_at
    lines = {line.sku: line for line in order.lines.all()}
    assert lines["KNOWN-1"].quantity == 2 and lines["KNOWN-1"].price == Decimal("19.90")
    assert lines["KNOWN-1"].product is not None and not lines["KNOWN-1"].unmatched
    # an unknown SKU is kept and marked, never dropped
    assert lines["NOBODY-KNOWS"].unmatched and lines["NOBODY-KNOWS"].product is None
    assert order.has_unmatched_lines
    assert order.status == S.PARTIAL  # a line can never be reserved
    assert order.status_changes.first().source == "marketplace"


@pytest.mark.parametrize("fnac_state", list(FNAC_TO_OMS))
def test_each_fnac_state_is_imported_in_its_oms_status(sandbox, manual_store, sync, make_product, fnac_state):
    make_product(manual_store, "S-1", on_hand=10)
    order_id = sandbox.add_order(state=fnac_state, lines=[{"sku": "S-1", "quantity": 1}])
    sync(mode="full")
    order = Order.objects.get(marketplace_order_id=order_id)
    expected = FNAC_TO_OMS[fnac_state]
    assert order.status == expected
    assert order.fnac_state == fnac_state


def test_toship_without_stock_is_partial(sandbox, manual_store, sync, make_product):
    make_product(manual_store, "EMPTY", on_hand=0)
    order_id = sandbox.add_order(state="ToShip", lines=[{"sku": "EMPTY", "quantity": 1}])
    sync(mode="full")
    assert Order.objects.get(marketplace_order_id=order_id).status == S.PARTIAL


def test_resync_is_idempotent_and_moves_cursors(sandbox, manual_store, sync):
    sandbox.seed_orders(120, days=60)
    before = timezone.now()
    sync(mode="full")
    assert cursor_get(store=manual_store, name=services.CURSOR_NEW) >= before
    assert cursor_get(store=manual_store, name=services.CURSOR_STATUS) >= before
    counts = (Order.objects.count(), OrderLine.objects.count(), OrderStatusChange.objects.count())
    for mode in ("manual", "new", "status", "full"):
        sync(mode=mode)
    assert (Order.objects.count(), OrderLine.objects.count(), OrderStatusChange.objects.count()) == counts
    assert Order.objects.count() == 120


def test_only_last_90_days_on_first_import(sandbox, manual_store, sync):
    old = sandbox.add_order(state="Received", created_at=timezone.now() - dt.timedelta(days=100))
    recent = sandbox.add_order(state="Received", created_at=timezone.now() - dt.timedelta(days=10))
    sync(mode="full")
    ids = set(Order.objects.values_list("marketplace_order_id", flat=True))
    assert recent in ids and old not in ids


def test_new_orders_job_picks_up_new_orders(sandbox, manual_store, sync):
    sandbox.seed_orders(20, days=30)
    sync(mode="full")
    new_id = sandbox.add_order(state="Created")
    run = sync(mode="new")
    assert run.kind == SyncRun.Kind.ORDERS_IMPORT
    assert Order.objects.get(marketplace_order_id=new_id).status == S.AWAITING_ACCEPTANCE
    body = sandbox.requests_for("orders_query")[-1].body.decode()
    assert 'type="CreatedAt"' in body


def test_status_job_follows_fnac_states(sandbox, manual_store, sync, make_product):
    make_product(manual_store, "P", on_hand=10)
    ids = {state: sandbox.add_order(state="ToShip", lines=[{"sku": "P", "quantity": 1}])
           for state in ("Shipped", "Cancelled", "Received", "NotReceived", "Refunded")}
    sync(mode="full")
    assert set(Order.objects.values_list("status", flat=True)) == {S.NEW}
    for state, order_id in ids.items():
        sandbox.set_order_state(order_id, state)
    run = sync(mode="status")
    assert run.kind == SyncRun.Kind.ORDERS_STATUS
    assert 'type="UpdatedAt"' in sandbox.requests_for("orders_query")[-1].body.decode()
    got = dict(Order.objects.values_list("marketplace_order_id", "status"))
    assert got[ids["Shipped"]] == S.IN_TRANSIT
    assert got[ids["Cancelled"]] == S.CANCELED
    assert got[ids["Received"]] == S.COMPLETE
    assert got[ids["NotReceived"]] == S.NOT_RECEIVED
    assert got[ids["Refunded"]] == S.REFUNDED
    # NotReceived is applied AND flagged for a person; the others are not flagged
    flagged = set(Order.objects.filter(flagged=True).values_list("marketplace_order_id", flat=True))
    assert flagged == {ids["NotReceived"]}
    assert "not received" in Order.objects.get(marketplace_order_id=ids["NotReceived"]).flag_reason
    # reserved stock: consumed by the shipments, released by the cancellation and the refund
    from catalogue.models import Product

    product = Product.objects.get(sku="P")
    assert product.stock_reserved == 0 and product.stock_on_hand == 10 - 3
    history = OrderStatusChange.objects.filter(order__marketplace_order_id=ids["Shipped"]).order_by("id")
    assert [(h.from_status, h.to_status, h.source) for h in history][-1] == (S.NEW, S.IN_TRANSIT, "marketplace")


def test_cancellation_before_and_after_packing(sandbox, manual_store, sync, make_product):
    from catalogue.models import Product

    make_product(manual_store, "C", on_hand=10)
    early = sandbox.add_order(state="ToShip", lines=[{"sku": "C", "quantity": 1}])
    late = sandbox.add_order(state="ToShip", lines=[{"sku": "C", "quantity": 1}])
    sync(mode="full")
    assert Product.objects.get(sku="C").stock_reserved == 2
    packed = Order.objects.get(marketplace_order_id=late)
    from orders.status import order_transition

    for status in (S.RFP, S.PICKED, S.PACKED):
        order_transition(order=packed, to_status=status, source="warehouse")
    sandbox.set_order_state(early, "Cancelled")
    sandbox.set_order_state(late, "Cancelled")
    sync(mode="status")
    early_o, late_o = (Order.objects.get(marketplace_order_id=i) for i in (early, late))
    assert early_o.status == S.CANCELED and not early_o.flagged
    assert late_o.status == S.PACKED and late_o.flagged and "Packed" in late_o.flag_reason
    assert late_o.fnac_state == "Cancelled"
    assert Product.objects.get(sku="C").stock_reserved == 1  # only the packed order still holds stock


def test_older_data_never_overwrites_newer(sandbox, manual_store, sync):
    order_id = sandbox.add_order(state="ToShip")
    sync(mode="full")
    order = Order.objects.get(marketplace_order_id=order_id)
    # pretend a newer read already happened
    Order.objects.filter(pk=order.pk).update(fnac_updated_at=order.fnac_updated_at + dt.timedelta(hours=1),
                                             fnac_state="Shipped", status=S.IN_TRANSIT)
    run = sync(mode="full")
    order.refresh_from_db()
    assert order.fnac_state == "Shipped" and order.status == S.IN_TRANSIT
    assert run.counts.get("stale_skipped") == 1


def _corrupt(sandbox, order_id, old: str, new: str):
    """Make the sandbox answer this order with a damaged fragment (its XML is cached per order)."""
    import re

    with sandbox.state.lock:
        order = sandbox.state.orders[order_id]
        order.xml_cache = None
        xml = sandbox.fnac._order_xml(order)
        order.xml_cache = re.sub(old, new, xml, count=1)
        assert order.xml_cache != xml
        sandbox.state.orders_changed()


def test_malformed_orders_are_recorded_and_the_rest_imported(sandbox, manual_store, sync):
    good = [sandbox.add_order(state="ToShip") for _ in range(3)]
    bad_qty = sandbox.add_order(state="ToShip")
    bad_state = sandbox.add_order(state="ToShip")
    bad_price = sandbox.add_order(state="ToShip")
    missing = sandbox.add_order(state="ToShip")
    _corrupt(sandbox, bad_qty, r"<quantity>\d+</quantity>", "<quantity>three</quantity>")
    _corrupt(sandbox, bad_state, r"<state>ToShip</state>", "<state>Teleported</state>")
    _corrupt(sandbox, bad_price, r"<price>[^<]*</price>", "<price>12,50€</price>")
    _corrupt(sandbox, missing, r"<created_at>[^<]*</created_at>", "")
    run = sync(mode="full")
    assert run.state == SyncRun.State.PARTIAL
    assert set(Order.objects.values_list("marketplace_order_id", flat=True)) == set(good)
    issues = {i.reference: i for i in SyncIssue.objects.filter(run=run, code="malformed_order")}
    assert set(issues) == {bad_qty, bad_state, bad_price, missing}
    assert "created_at" in issues[missing].message
    assert "quantity" in issues[bad_qty].message and "three" in issues[bad_qty].raw
    assert "Teleported" in issues[bad_state].message and "<order" in issues[bad_state].raw
    assert "price" in issues[bad_price].message
    assert run.counts["malformed"] == 4


def test_killed_sync_loses_nothing_and_does_not_move_the_cursor(sandbox, manual_store, sync, settings, monkeypatch):
    settings.ORDERS_PAGE_SIZE = 20
    sandbox.seed_orders(70, days=60)
    real = services._Importer.import_page
    calls = {"n": 0}

    def dying(self, items):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("worker killed")
        return real(self, items)

    monkeypatch.setattr(services._Importer, "import_page", dying)
    with pytest.raises(RuntimeError):
        sync(mode="full")
    run = SyncRun.objects.filter(kind=SyncRun.Kind.ORDERS_IMPORT).latest("id")
    assert run.state == SyncRun.State.FAILED and "worker killed" in run.message
    assert Order.objects.count() == 20  # the first page was committed
    assert cursor_get(store=manual_store, name=services.CURSOR_NEW) is None
    monkeypatch.setattr(services._Importer, "import_page", real)
    run = sync(mode="new")  # no cursor yet: reads the whole 90-day window again
    assert run.state == SyncRun.State.SUCCEEDED
    assert Order.objects.count() == 70
    assert Order.objects.values("marketplace_order_id").distinct().count() == 70
    assert cursor_get(store=manual_store, name=services.CURSOR_NEW) is not None


def test_sync_runs_are_skipped_while_another_holds_the_lock(sandbox, manual_store, sync):
    from stores.syncs import LockBusy, store_lock

    with store_lock(store=manual_store, name=services.LOCK_NAME):
        with pytest.raises(LockBusy):
            sync()
    run = SyncRun.objects.latest("id")
    assert run.state == SyncRun.State.SKIPPED and "already running" in run.message
    assert sync().state == SyncRun.State.SUCCEEDED


def test_repeated_syncs_with_faults_end_with_every_order_once_in_the_right_status(sandbox, manual_store, sync,
                                                                                   settings):
    settings.ORDERS_PAGE_SIZE = 50
    seeded = sandbox.seed_orders(400, days=80)
    sandbox.set_faults(0.2)
    attempts, completed = 0, False
    while attempts < 12 and not completed:
        attempts += 1
        try:
            run = sync(mode="full")
            completed = run.state in (SyncRun.State.SUCCEEDED, SyncRun.State.PARTIAL)
        except Exception:  # a page that still fails after the client's retries fails the run; try again
            pass
    assert completed, "the sync never completed in 12 attempts at fault rate 0.2"
    # FNAC moves on meanwhile; a few more status syncs (with faults) catch up
    for order in seeded[:40]:
        if order.state == "ToShip":
            sandbox.set_order_state(order.order_id, "Shipped")
    for _ in range(12):
        try:
            if sync(mode="status").state == SyncRun.State.SUCCEEDED:
                break
        except Exception:
            pass
    sandbox.set_faults(0)
    with sandbox.state.lock:
        truth = {o.order_id: o.state for o in sandbox.state.orders.values()}
    rows = list(Order.objects.values_list("marketplace_order_id", "fnac_state", "status"))
    assert len(rows) == len(truth) == 400
    assert {r[0] for r in rows} == set(truth)
    for order_id, fnac_state, status in rows:
        assert fnac_state == truth[order_id]
        assert status in _expected(fnac_state), (order_id, fnac_state, status)
    lines = sum(len(o.lines) for o in seeded)
    assert OrderLine.objects.count() == lines
    assert sandbox.requests_for("orders_query")
    assert any(r.fault for r in sandbox.requests_for("orders_query"))


def test_take_back_obligation_is_imported_and_shown_in_the_api(sandbox, manual_store, sync, make_product, superuser,
                                                                token_client, client):
    """FNAC's live API sends nb_products_to_take_back on lines (old appliances the buyer hands back)."""
    make_product(manual_store, "TV-1", on_hand=5)
    lines = [{"sku": "TV-1", "quantity": 2, "nb_products_to_take_back": 1},
             {"sku": "NOBODY", "quantity": 1, "nb_products_to_take_back": 0}]
    order_id = sandbox.add_order(state="ToShip", lines=lines)
    sync(mode="full")
    order = Order.objects.get(marketplace_order_id=order_id)
    lines = {line.sku: line for line in order.lines.all()}
    assert lines["TV-1"].nb_products_to_take_back == 1 and lines["NOBODY"].nb_products_to_take_back == 0
    data = token_client(superuser).get(f"/api/orders/{order.pk}/").json()
    assert {line["sku"]: line["nb_products_to_take_back"] for line in data["lines"]} == {"TV-1": 1, "NOBODY": 0}
    from fulfilment.deliveries import order_payload  # what the warehouse receives

    sent = {line["sku"]: line["nb_products_to_take_back"] for line in order_payload(order)["lines"]}
    assert sent == {"TV-1": 1, "NOBODY": 0}
    client.force_login(superuser)  # and the seller sees it on the order page
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert page.count("Take back 1 old item(s)") == 1


def test_a_later_sync_with_an_empty_tracking_number_never_wipes_it(sandbox, manual_store, sync):
    order_id = sandbox.add_order(state="ToShip", lines=["SKU-X"])
    with sandbox.state.lock:
        fnac_order = sandbox.state.orders[order_id]
        fnac_order.lines[0].tracking_number, fnac_order.lines[0].tracking_company = "6A12345678901", "COLISSIMO"
        fnac_order.changed(sandbox.clock.now())
        sandbox.state.orders_changed()
    sync(mode="full")
    line = OrderLine.objects.get(order__marketplace_order_id=order_id)
    assert (line.tracking_number, line.tracking_company) == ("6A12345678901", "COLISSIMO")
    sandbox.tick(60)
    with sandbox.state.lock:  # FNAC's next answer no longer carries it
        fnac_order.lines[0].tracking_number = fnac_order.lines[0].tracking_company = ""
        fnac_order.lines[0].product_name = "Renamed on FNAC"
        fnac_order.changed(sandbox.clock.now() + dt.timedelta(minutes=5))
        sandbox.state.orders_changed()
    sync(mode="full")
    line.refresh_from_db()
    assert line.product_name == "Renamed on FNAC"  # the second answer was applied...
    assert (line.tracking_number, line.tracking_company) == ("6A12345678901", "COLISSIMO")  # ...not its blanks
