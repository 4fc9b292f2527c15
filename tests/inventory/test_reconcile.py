"""Issue 9, item 6: the offers reconciliation finds what FNAC shows differently from what was pushed, records
it (a sync run with counts and an issue per drifted SKU) and repairs it through the outbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Schedule

from fnac_connector.marketplace.errors import Unavailable
from inventory import push, reconcile, services
from inventory.models import OfferChange
from stores import hooks
from stores.models import SyncCursor, SyncRun
from stores.services import store_schedules_ensure
from tests.catalogue.conftest import touch_offer

from .conftest import offers_sent


@pytest.fixture
def pushed(live_products, connected_store):
    """``pushed(n)``: n live products whose current values FNAC accepted (the product knows what it pushed)."""

    def _make(n=3, **kwargs):
        products = live_products(n, **kwargs)
        services.products_mark_changed(store=connected_store, product_ids=[p.pk for p in products], reason="test")
        assert push.stock_push(store=connected_store).accepted == n
        return products

    return _make


def test_drift_is_found_recorded_and_repaired(pushed, sandbox, connected_store):
    a, b, c = pushed(3, on_hand=10)
    touch_offer(sandbox, a.sku, quantity=9)
    touch_offer(sandbox, b.sku, price=Decimal("18.00"))
    sandbox.clear_requests()
    run = reconcile.offers_reconcile(store=connected_store, full=True, trigger="test")
    assert not offers_sent(sandbox)  # the reconciliation itself only reads
    push.stock_push(store=connected_store)  # the drain its outbox records woke (after commit, in production)
    run.refresh_from_db()
    assert run.kind == SyncRun.Kind.OFFERS_RECONCILE and run.state == SyncRun.State.PARTIAL
    assert (run.counts["checked"], run.counts["drifted"], run.counts["repaired"]) == (3, 2, 2)
    issues = {i.reference: i for i in run.issues.all()}
    assert set(issues) == {a.sku, b.sku} and {i.code for i in issues.values()} == {"offer_drift"}
    assert "quantity 9 (pushed 10)" in issues[a.sku].message
    assert "price 18.00 (pushed 19.90)" in issues[b.sku].message
    assert issues[a.sku].details["fnac_quantity"] == 9 and issues[a.sku].details["pushed_quantity"] == 10
    # the repair went through the outbox: only the drifted SKUs, with their current values
    sent = offers_sent(sandbox)
    assert len(sent) == 1 and {o["sku"]: (o["quantity"], o["price"]) for o in sent[0]} == {
        a.sku: ("10", "19.90"), b.sku: ("10", "19.90")}
    assert (sandbox.state.offers[a.sku].quantity, sandbox.state.offers[b.sku].price) == (10, Decimal("19.90"))
    assert not [row for row in OfferChange.objects.all() if row.is_pending]
    # a second pass finds nothing left
    run = reconcile.offers_reconcile(store=connected_store, full=True, trigger="test")
    assert (run.counts["checked"], run.counts["drifted"], run.state) == (3, 0, SyncRun.State.SUCCEEDED)


def test_the_repair_is_a_forced_push_even_if_the_product_thinks_fnac_has_it(pushed, sandbox, connected_store):
    p, = pushed(1, on_hand=10)
    touch_offer(sandbox, p.sku, quantity=11)
    reconcile.offers_reconcile(store=connected_store, full=True)
    row = OfferChange.objects.get(product=p)
    assert row.is_pending and row.force and row.reason == reconcile.REASON
    p.refresh_from_db()
    assert p.fnac_quantity == 11 and "FNAC showed quantity 11" in p.push_message
    assert push.stock_push(store=connected_store).accepted == 1
    assert sandbox.state.offers[p.sku].quantity == 10


def test_products_under_way_or_never_pushed_are_not_judged(pushed, live_products, sandbox, connected_store):
    in_flight, settled = pushed(2, on_hand=10)
    never, = live_products(1, on_hand=10)
    services.stock_set(product=in_flight, quantity=4, source="api")  # pending in the outbox: its push will fix it
    for sku in (in_flight.sku, settled.sku, never.sku):
        touch_offer(sandbox, sku, quantity=1)
    run = reconcile.offers_reconcile(store=connected_store, full=True)
    assert (run.counts["checked"], run.counts["drifted"], run.counts["in_flight"], run.counts["never_pushed"]) == (
        1, 1, 1, 1)
    assert [i.reference for i in run.issues.all()] == [settled.sku]


def test_switched_off_flows_are_not_compared(pushed, sandbox, connected_store):
    p, = pushed(1, on_hand=10)
    touch_offer(sandbox, p.sku, price=Decimal("30.00"))
    connected_store.sync_prices_enabled = False
    connected_store.save()
    run = reconcile.offers_reconcile(store=connected_store, full=True)
    assert run.counts["checked"] == 1 and run.counts["drifted"] == 0


def test_incremental_pass_reads_offers_modified_since_the_cursor(pushed, sandbox, connected_store, settings):
    a, b, c = pushed(3, on_hand=10)
    first = reconcile.offers_reconcile(store=connected_store)  # no cursor yet: every offer
    assert first.params["full"] is True and first.processed == 3
    # the last pass was an hour ago, the offers untouched since two hours; one offer changes now
    settings.INVENTORY_RECONCILE_OVERLAP_SECONDS = 0
    hour_ago = timezone.now() - dt.timedelta(hours=1)
    SyncCursor.objects.filter(store=connected_store, name=reconcile.CURSOR_MODIFIED).update(position=hour_ago)
    with sandbox.state.lock:
        for offer in sandbox.state.offers.values():
            offer.modified_at = sandbox.clock.now() - dt.timedelta(hours=2)
        sandbox.state.offers_changed()
    touch_offer(sandbox, b.sku, quantity=2)
    sandbox.clear_requests()
    run = reconcile.offers_reconcile(store=connected_store)
    assert run.params["full"] is False and run.params["since"]
    assert run.processed == 1 and run.counts["drifted"] == 1
    assert [i.reference for i in run.issues.all()] == [b.sku]
    query = sandbox.requests_for("offers_query")[-1].body.decode()
    assert 'type="Modified"' in query
    # the cursor moved to the start of this pass
    assert SyncCursor.objects.get(store=connected_store, name=reconcile.CURSOR_MODIFIED).position > hour_ago
    # once a day (or on demand) every offer again
    run = reconcile.offers_reconcile(store=connected_store, full=True)
    assert run.params["full"] is True and run.processed == 3


def test_a_failed_read_moves_no_cursor(pushed, sandbox, connected_store, settings):
    settings.MARKETPLACE_MAX_RETRIES = 0
    pushed(2)
    sandbox.set_faults(1.0, ["500"])
    with pytest.raises(Unavailable):
        reconcile.offers_reconcile(store=connected_store, full=True)
    sandbox.set_faults(0.0)
    run = SyncRun.objects.filter(kind=SyncRun.Kind.OFFERS_RECONCILE).get()
    assert run.state == SyncRun.State.FAILED and "500" in run.message
    assert not SyncCursor.objects.filter(store=connected_store, name__startswith="offers_reconcile").exists()


def test_the_periodic_job_is_registered_per_store(connected_store, settings):
    settings.INVENTORY_RECONCILE_MINUTES = 20
    store_schedules_ensure(store=connected_store)
    schedule = Schedule.objects.get(name=hooks.schedule_name(connected_store.pk, "offers_reconcile"))
    assert schedule.func == "inventory.tasks.offers_reconcile_schedule_task" and schedule.minutes == 20
    assert schedule.args == repr(connected_store.pk)


def test_task_and_command(pushed, sandbox, connected_store, capsys):
    from inventory.tasks import offers_reconcile_schedule_task

    p, = pushed(1, on_hand=10)
    touch_offer(sandbox, p.sku, quantity=3)
    run_id = offers_reconcile_schedule_task(connected_store.pk)
    run = SyncRun.objects.get(pk=run_id)
    assert run.trigger == "schedule" and run.counts["drifted"] == 1
    push.stock_push(store=connected_store)
    touch_offer(sandbox, p.sku, quantity=5)
    call_command("reconcile_offers", "--store", str(connected_store.pk), "--full")
    out = capsys.readouterr().out
    assert "checked 1, drifted 1, repaired 1" in out and p.sku in out
    with pytest.raises(CommandError, match="unknown store"):
        call_command("reconcile_offers", "--store", "999999")


def test_a_disconnected_store_is_refused(store):
    from fnac_connector.errors import Conflict

    with pytest.raises(Conflict, match="not connected"):
        reconcile.offers_reconcile_request(store=store, full=True)
    assert not SyncRun.objects.filter(kind=SyncRun.Kind.OFFERS_RECONCILE).exists()


def test_admin_action_queues_a_run(pushed, sandbox, connected_store, superuser, client,
                                   django_capture_on_commit_callbacks):
    p, = pushed(1, on_hand=10)
    touch_offer(sandbox, p.sku, quantity=6)
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post("/admin/stores/store/", {"action": "reconcile_offers",
                                                 "_selected_action": [connected_store.pk]}, follow=True)
    assert r.status_code == 200 and b"Offers reconciliation of" in r.content
    run = SyncRun.objects.get(kind=SyncRun.Kind.OFFERS_RECONCILE)
    assert run.trigger == "admin" and run.counts["drifted"] == 1
    assert OfferChange.objects.get(product=p).force
