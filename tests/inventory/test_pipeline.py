"""Issue 14, pipelined push: several offers_update batches in flight per store while the sandbox holds them
ACTIVE/RUNNING; results matched per batch and per SKU; an older batch answered after a newer one never regresses
a SKU; the in-flight bound; 429/503 backoff; nothing lost or duplicated (the sandbox's request log)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.db.models import F
from django.utils import timezone

from catalogue.models import Product
from inventory import follow, push, services, tasks
from inventory.models import OfferChange, PushBatch, PushFollower, PushQueue

from .conftest import offers_sent


@pytest.fixture
def slow_batches(sandbox):
    """The sandbox holds every batch ACTIVE, then RUNNING, for a minute (FNAC's take minutes): only ``finish``
    makes one final."""
    sandbox.batch_delay = 60.0
    return sandbox


def finish(sandbox, batch_id: str) -> None:
    """FNAC finishes this batch now (applies its offers)."""
    with sandbox.state.lock:
        for batch in sandbox.state.pending_batches:
            if batch.batch_id == batch_id:
                batch.due_mono = 0
    sandbox.process_pending()


def send(store):
    """What the queued drain task does: send and return, leaving the batches in flight."""
    return push.stock_push(store=store, follow_batches=False)


def row(product) -> OfferChange:
    return OfferChange.objects.get(product=product)


def test_a_change_goes_out_while_earlier_batches_are_still_running(slow_batches, live_products, connected_store):
    a, b = live_products(2, on_hand=10)
    sandbox = slow_batches
    sandbox.clear_requests()
    before = sandbox.state.offers[a.sku].quantity
    services.stock_set(product=a, quantity=4, source="api")
    first = send(connected_store)
    assert first.calls == 1 and first.in_flight == 1 and first.accepted == 0
    services.stock_set(product=b, quantity=5, source="api")
    second = send(connected_store)  # batch 1 is ACTIVE at FNAC: batch 2 goes anyway
    assert second.calls == 1
    assert [[(o["sku"], o["quantity"]) for o in call] for call in offers_sent(sandbox)] == [
        [(a.sku, "4")], [(b.sku, "5")]]
    batches = list(PushBatch.objects.order_by("id"))
    assert [(x.status, x.finished_at) for x in batches] == [("SENT", None), ("SENT", None)]
    assert sandbox.state.offers[a.sku].quantity == before != 4  # not applied yet

    assert follow.follow_pass(store=connected_store, due_only=False).still_running == 2
    assert {x.status for x in PushBatch.objects.all()} == {"ACTIVE"}
    finish(sandbox, batches[1].batch_id)  # results matched per batch: the second one is answered first
    assert follow.follow_pass(store=connected_store, due_only=False).answered == 1
    a.refresh_from_db(), b.refresh_from_db()
    assert (b.push_state, b.pushed_quantity) == (Product.PushState.IN_SYNC, 5)
    assert a.push_state == Product.PushState.PENDING and row(a).is_pending and not row(b).is_pending
    finish(sandbox, batches[0].batch_id)
    follow.follow_pass(store=connected_store, due_only=False)
    a.refresh_from_db()
    assert (a.push_state, a.pushed_quantity) == (Product.PushState.IN_SYNC, 4)
    assert not OfferChange.objects.filter(version__gt=F("done_version")).exists()
    assert len(offers_sent(sandbox)) == 2  # no SKU sent twice: the two batches never carried the same one


def test_an_older_batch_answered_after_a_newer_one_never_regresses_the_sku(slow_batches, live_products,
                                                                          connected_store):
    (p,) = live_products(1, on_hand=10)
    sandbox = slow_batches
    services.stock_set(product=p, quantity=8, source="api")
    send(connected_store)
    services.stock_set(product=p, quantity=3, source="api")
    send(connected_store)  # the same SKU again while batch 1 is in flight: it goes at once
    old, new = PushBatch.objects.order_by("id")
    assert row(p).in_flight == 2 and row(p).overlapped

    # FNAC finishes the newer batch first ...
    finish(sandbox, new.batch_id)
    follow.follow_pass(store=connected_store, due_only=False)
    p.refresh_from_db()
    assert (p.pushed_quantity, row(p).done_version) == (3, 2)
    # ... then the older one, so FNAC now shows its 8
    finish(sandbox, old.batch_id)
    assert sandbox.state.offers[p.sku].quantity == 8
    report = follow.follow_pass(store=connected_store, due_only=False)
    assert report.answered == 1 and report.drain.stale == 1
    p.refresh_from_db()
    assert p.pushed_quantity == 3 and p.fnac_quantity == 3  # the older result changed nothing
    change = row(p)
    assert change.done_version == 2 and change.in_flight == 0 and change.force and change.is_pending
    assert "older than a newer batch" in PushBatch.objects.get(pk=old.pk).message

    # and the current value is sent once more, so FNAC ends with 3
    sandbox.batch_delay = 0
    sandbox.clear_requests()
    push.stock_push(store=connected_store)
    assert [[o["quantity"] for o in call] for call in offers_sent(sandbox)] == [["3"]]
    assert sandbox.state.offers[p.sku].quantity == 3
    assert not row(p).is_pending


def test_results_in_order_apply_the_newest_value(slow_batches, live_products, connected_store):
    (p,) = live_products(1, on_hand=10)
    sandbox = slow_batches
    services.stock_set(product=p, quantity=8, source="api")
    send(connected_store)
    services.stock_set(product=p, quantity=3, source="api")
    send(connected_store)
    old, new = PushBatch.objects.order_by("id")
    finish(sandbox, old.batch_id)
    finish(sandbox, new.batch_id)
    follow.follow_pass(store=connected_store, due_only=False)
    p.refresh_from_db()
    assert p.pushed_quantity == 3 and row(p).done_version == 2
    # FNAC does not say it applies batches in order: the SKU, sent while another batch carried it, goes once more
    assert row(p).force and row(p).is_pending


def test_the_in_flight_bound_is_respected(slow_batches, live_products, connected_store, settings,
                                          django_capture_on_commit_callbacks, monkeypatch):
    settings.INVENTORY_PUSH_MAX_IN_FLIGHT = 2
    monkeypatch.setattr(follow, "follow_soon", lambda: None)  # this test runs the follow-up itself
    products = live_products(3, on_hand=10)
    sandbox = slow_batches
    sandbox.clear_requests()
    reports = []
    for p in products:
        services.stock_set(product=p, quantity=1, source="api")
        reports.append(send(connected_store))
    assert len(offers_sent(sandbox)) == 2  # the third change waits for room
    assert reports[2].calls == 0 and reports[2].waited_for_room
    assert follow.in_flight_count(connected_store.pk) == 2 and row(products[2]).is_pending
    assert row(products[2]).sent_version == 0

    first = PushBatch.objects.order_by("id").first()
    finish(sandbox, first.batch_id)
    PushBatch.objects.update(next_poll_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):  # the follow-up pass, then the drain it queues
        tasks.stock_push_follow_task(connected_store.pk)
    calls = offers_sent(sandbox)
    assert len(calls) == 3 and calls[2] == [{"sku": products[2].sku, "price": "19.90", "quantity": "1"}]
    assert follow.in_flight_count(connected_store.pk) == 2


def test_rate_limited_offers_update_backs_the_store_off(live_products, sandbox, connected_store):
    a, b = live_products(2, on_hand=10)
    services.stock_set(product=a, quantity=2, source="api")
    sandbox.set_faults(1.0, ["429"])
    report = send(connected_store)
    sandbox.set_faults(0.0)
    assert report.deferred == 1 and "RateLimited" in report.error
    queue = PushQueue.objects.get(store=connected_store)
    assert queue.backoff_steps == 1 and queue.backoff_until > timezone.now() + dt.timedelta(seconds=4)
    # another change meanwhile: nothing is sent before the backoff ends
    services.stock_set(product=b, quantity=3, source="api")
    sandbox.clear_requests()
    assert send(connected_store).calls == 0 and offers_sent(sandbox) == []
    # the backoff over: both go, in one call
    PushQueue.objects.update(backoff_until=timezone.now() - dt.timedelta(seconds=1))
    OfferChange.objects.update(next_attempt_at=None)
    report = push.stock_push(store=connected_store)
    assert report.accepted == 2 and len(offers_sent(sandbox)) == 1
    assert (sandbox.state.offers[a.sku].quantity, sandbox.state.offers[b.sku].quantity) == (2, 3)
    assert PushQueue.objects.get(store=connected_store).backoff_steps == 0


def test_unavailable_batch_status_backs_the_follow_up_off(slow_batches, live_products, connected_store):
    (p,) = live_products(1, on_hand=10)
    sandbox = slow_batches
    services.stock_set(product=p, quantity=6, source="api")
    send(connected_store)
    batch = PushBatch.objects.get()
    finish(sandbox, batch.batch_id)
    sandbox.set_faults(1.0, ["503"])
    report = follow.follow_pass(store=connected_store, due_only=False)
    assert report.answered == 0 and "Unavailable" in report.error
    queue = PushQueue.objects.get(store=connected_store)
    batch.refresh_from_db()
    assert queue.backoff_until > timezone.now() and batch.next_poll_at >= queue.backoff_until
    assert batch.finished_at is None  # still in flight: not given up, polled again later
    sandbox.set_faults(0.0)
    sandbox.clear_requests()
    assert follow.follow_pass(store=connected_store).polled == 0  # paused: no batch_status at all
    assert sandbox.requests_for("batch_status") == []
    PushQueue.objects.update(backoff_until=None)
    PushBatch.objects.update(next_poll_at=timezone.now())
    assert follow.follow_pass(store=connected_store).answered == 1
    p.refresh_from_db()
    assert p.pushed_quantity == 6 and not row(p).is_pending


def test_a_batch_never_final_is_given_up_as_unknown_and_sent_again(slow_batches, live_products, connected_store,
                                                                  settings):
    (p,) = live_products(1, on_hand=10)
    services.stock_set(product=p, quantity=6, source="api")
    send(connected_store)
    settings.INVENTORY_BATCH_FOLLOW_SECONDS = 30
    PushBatch.objects.update(created_at=timezone.now() - dt.timedelta(seconds=31))
    report = follow.follow_pass(store=connected_store, due_only=False)
    assert report.given_up == 1
    assert PushBatch.objects.get().status == "UNKNOWN"
    change = row(p)
    assert change.force and change.is_pending and change.version > change.sent_version  # sent again
    p.refresh_from_db()
    assert "outcome unknown" in p.push_message


def test_the_ticker_queues_a_pass_per_store_with_a_due_batch_and_ends(slow_batches, live_products,
                                                                     connected_store):
    (p,) = live_products(1, on_hand=10)
    services.stock_set(product=p, quantity=6, source="api")
    send(connected_store)
    finish(slow_batches, PushBatch.objects.get().batch_id)
    PushBatch.objects.update(next_poll_at=timezone.now())
    passes = []

    def run_pass(store_id):
        passes.append(store_id)
        tasks.stock_push_follow_task(store_id)

    assert follow.follow_tick(sleep=lambda s: None, enqueue_pass=run_pass) == 1
    assert passes == [connected_store.pk]
    assert PushBatch.objects.get().status == "OK"
    follower = PushFollower.objects.get()
    assert (follower.token, follower.lease_until) == ("", None)  # it ended: nothing in flight


def test_a_second_ticker_does_nothing_while_one_holds_the_lease(db):
    PushFollower.objects.create(pk=1, token="other", lease_until=timezone.now() + dt.timedelta(seconds=30))
    assert follow.follow_tick(sleep=lambda s: None, enqueue_pass=lambda store_id: None) == 0
    assert PushFollower.objects.get().token == "other"


def test_nothing_lost_or_duplicated_with_batches_applied_out_of_order(live_products, sandbox, connected_store):
    """Random changes, drains and follow-up passes with many batches in flight, which the sandbox finishes in a
    random order: every SKU ends with its newest value on FNAC, every batch is answered once, every sent batch
    is a call the sandbox received (its request log), and no call carries a SKU twice."""
    rng = random.Random(14)
    products = live_products(12, on_hand=50)
    sandbox.batch_delay = 60.0
    sandbox.clear_requests()
    for _ in range(40):
        for p in rng.sample(products, 3):
            services.stock_adjust(product=Product.objects.get(pk=p.pk), delta=rng.choice((-2, -1, 1, 3)),
                                  source="api")
        send(connected_store)
        with sandbox.state.lock:
            pending = [b.batch_id for b in sandbox.state.pending_batches]
        for batch_id in rng.sample(pending, min(len(pending), rng.randint(0, 2))):
            finish(sandbox, batch_id)
        follow.follow_pass(store=connected_store, due_only=False)
    sandbox.batch_delay = 0
    for batch_id in [b.batch_id for b in sandbox.state.pending_batches]:
        finish(sandbox, batch_id)
    push.stock_push(store=connected_store)

    assert not OfferChange.objects.filter(version__gt=F("done_version")).exists()
    assert not PushBatch.objects.filter(finished_at__isnull=True).exists()
    store = connected_store
    for p in Product.objects.filter(pk__in=[p.pk for p in products]):
        assert sandbox.state.offers[p.sku].quantity == services.fnac_quantity_for(p, store), p.sku
        assert p.pushed_quantity == services.fnac_quantity_for(p, store)
    calls = offers_sent(sandbox)
    batches = PushBatch.objects.exclude(batch_id="")
    assert len(calls) == batches.count() and len({b.batch_id for b in batches}) == batches.count()
    assert all(len(call) == len({o["sku"] for o in call}) for call in calls)
    assert sum(len(b.items) for b in batches) == sum(len(call) for call in calls)
    assert batches.filter(status="OK").count() == batches.count()
