"""Issue 9, item 7: a killed worker blocks nothing for long. Leases are short and renewed by a heartbeat while
the holder lives; a dead holder's lease lapses after its TTL; runs without a heartbeat are closed as failed
("worker died") by a global periodic job; the stock push's claimed rows are short leases renewed the same way."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from stores import hooks, syncs
from stores.models import SyncLock, SyncRun
from stores.syncs import LockBusy, lock_acquire, runs_mark_stale, store_lock, sync_run

DEADLINE = 30.0  # seconds a background heartbeat gets to show itself on a loaded machine


def _wait_for(condition, what: str):
    """Poll until ``condition()`` holds; fail (naming what was awaited) after DEADLINE seconds."""
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"gave up waiting for: {what}")


def _shift_clock(monkeypatch, seconds: float):
    """Every ``timezone.now()`` answers ``seconds`` later (the time a dead holder leaves behind)."""
    real = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real() + dt.timedelta(seconds=seconds))


# ================================================================ a dead holder's lease lapses
@pytest.mark.django_db
def test_a_lease_is_short_by_default(store):
    before = timezone.now()
    lock_acquire(store=store, name="orders")
    expires = SyncLock.objects.get(store=store, name="orders").expires_at
    assert before + dt.timedelta(seconds=59) < expires <= timezone.now() + dt.timedelta(seconds=60)


@pytest.mark.django_db
def test_a_dead_holders_lease_lapses_after_its_ttl(store, settings, monkeypatch):
    settings.SYNC_LOCK_TTL_SECONDS = 60
    lock_acquire(store=store, name="orders")  # the holder dies here: nobody renews or releases
    with pytest.raises(LockBusy):
        lock_acquire(store=store, name="orders")
    _shift_clock(monkeypatch, 61)  # a minute later, not thirty
    token = lock_acquire(store=store, name="orders")
    assert SyncLock.objects.get(store=store, name="orders").holder == token


@pytest.mark.django_db
def test_the_outbox_claim_of_a_dead_push_lapses_after_its_lease(store, monkeypatch, make_product):
    from catalogue.models import Product
    from inventory import push, services

    assert push.lease() == dt.timedelta(seconds=60)  # the default, not ten minutes
    p = make_product(store, "A", on_hand=3, listing_state=Product.ListingState.LIVE)
    services.stock_set(product=p, quantity=5, source="api")
    dead, rows = push.claim(store_id=store.pk)  # the worker that claimed them is killed
    assert len(rows) == 1
    assert push.claim(store_id=store.pk)[1] == []
    _shift_clock(monkeypatch, 61)
    assert [r["product_id"] for r in push.claim(store_id=store.pk)[1]] == [p.pk]


# ================================================================ a live holder keeps its lease
@pytest.mark.django_db(transaction=True)
def test_a_live_holders_lease_is_renewed_past_its_ttl_and_released_at_the_end(store, settings):
    settings.SYNC_LOCK_TTL_SECONDS = 0.6
    with store_lock(store=store, name="orders") as token:
        first = SyncLock.objects.get(store=store, name="orders").expires_at
        # a long step (one slow marketplace call) with no progress call: the heartbeat alone keeps the lease
        _wait_for(lambda: timezone.now() > first + dt.timedelta(seconds=0.3)
                  and SyncLock.objects.get(store=store, name="orders").expires_at > timezone.now(),
                  "the lease renewed past its first expiry")
        with pytest.raises(LockBusy):
            lock_acquire(store=store, name="orders")
        assert SyncLock.objects.get(store=store, name="orders").holder == token
    lock = SyncLock.objects.get(store=store, name="orders")
    assert (lock.holder, lock.expires_at) == ("", None)
    assert not [t for t in threading.enumerate() if t.name.startswith(f"heartbeat:lock:{store.pk}:")]


@pytest.mark.django_db(transaction=True)
def test_a_live_push_keeps_its_claimed_rows_during_a_long_call(store, settings, make_product, monkeypatch):
    """The drain's rows stay claimed while FNAC takes longer than the lease to answer one call."""
    from catalogue.models import Product
    from inventory import push, services
    from inventory.models import OfferChange

    settings.INVENTORY_PUSH_LEASE_SECONDS = 0.6
    monkeypatch.setattr(push, "_enqueue_drain", lambda store_id: None)  # this test runs the drain itself
    store.status = store.Status.CONNECTED
    store.save()
    p = make_product(store, "A", on_hand=3, listing_state=Product.ListingState.LIVE)
    services.stock_set(product=p, quantity=5, source="api")
    seen = {}

    class SlowFnac:
        def offers_update(self, offers):
            row = OfferChange.objects.get(product=p)
            seen["first"] = row.claimed_until
            _wait_for(lambda: OfferChange.objects.get(product=p).claimed_until > seen["first"]
                      and timezone.now() > seen["first"], "the claim renewed past its first expiry")
            seen["other_drain"] = push.claim(store_id=store.pk, ignore_backoff=True)[1]
            raise push.Rejected("ERR_TEST: refused after a long wait")  # the call ends; the rows are answered

        def batch_status(self, batch_id):  # pragma: no cover - never reached
            raise AssertionError

    push.stock_push(store=store, client=SlowFnac())
    assert seen["other_drain"] == []  # nobody else could take the rows while the drain lived
    row = OfferChange.objects.get(product=p)
    assert row.claim_token == "" and not row.is_pending


# ================================================================ runs of dead workers
@pytest.mark.django_db
def test_the_stale_run_job_closes_runs_without_heartbeat_as_worker_died(store, settings):
    from stores.tasks import runs_mark_stale_task

    settings.SYNC_RUN_STALE_SECONDS = 180
    now = timezone.now()
    dead = SyncRun.objects.create(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, state=SyncRun.State.RUNNING,
                                  started_at=now - dt.timedelta(minutes=10), message="CreatedAt since ...",
                                  heartbeat_at=now - dt.timedelta(minutes=5))
    alive = SyncRun.objects.create(store=store, kind=SyncRun.Kind.STOCK_PUSH, state=SyncRun.State.RUNNING,
                                   started_at=now - dt.timedelta(minutes=10), heartbeat_at=now)
    done = SyncRun.objects.create(store=store, kind=SyncRun.Kind.STOCK_SYNC, state=SyncRun.State.SUCCEEDED,
                                  started_at=now - dt.timedelta(hours=2), heartbeat_at=now - dt.timedelta(hours=2))
    assert runs_mark_stale_task() == 1
    dead.refresh_from_db()
    assert dead.state == SyncRun.State.FAILED and dead.finished_at is not None
    assert dead.message.startswith("CreatedAt since ...\nWorker died")
    alive.refresh_from_db()
    done.refresh_from_db()
    assert alive.state == SyncRun.State.RUNNING and done.state == SyncRun.State.SUCCEEDED
    assert runs_mark_stale() == 0  # idempotent


@pytest.mark.django_db(transaction=True)
def test_a_live_run_beats_so_the_stale_job_leaves_it_alone(store, settings):
    settings.SYNC_LOCK_TTL_SECONDS = 0.6  # heartbeat every 0.2 s
    settings.SYNC_RUN_STALE_SECONDS = 0.5
    with sync_run(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, trigger="test") as rec:
        started = rec.run.started_at
        _wait_for(lambda: SyncRun.objects.get(pk=rec.run.pk).heartbeat_at > started + dt.timedelta(seconds=0.6),
                  "the run's heartbeat moving on while its block runs")
        assert runs_mark_stale(older_than=dt.timedelta(seconds=0.5)) == 0
        assert SyncRun.objects.get(pk=rec.run.pk).state == SyncRun.State.RUNNING
    run = SyncRun.objects.get(pk=rec.run.pk)
    assert run.state == SyncRun.State.SUCCEEDED
    assert not [t for t in threading.enumerate() if t.name == f"heartbeat:run:{run.pk}"]


@pytest.mark.django_db
def test_the_stale_run_job_is_a_global_schedule_created_idempotently(settings):
    from stores.services import global_schedules_ensure

    name = hooks.global_schedule_name("runs_mark_stale")
    schedule = Schedule.objects.get(name=name)  # created by migrate (post_migrate)
    assert schedule.func == "stores.tasks.runs_mark_stale_task" and schedule.schedule_type == Schedule.MINUTES
    assert schedule.minutes == settings.SYNC_STALE_CHECK_MINUTES and schedule.repeats == -1
    settings.SYNC_STALE_CHECK_MINUTES = 3
    global_schedules_ensure()
    call_command("migrate", verbosity=0)  # runs post_migrate again
    assert Schedule.objects.filter(name=name).count() == 1
    assert Schedule.objects.get(name=name).minutes == 3


def test_ttls_come_from_settings(settings):
    settings.SYNC_LOCK_TTL_SECONDS = 45
    settings.SYNC_RUN_STALE_SECONDS = 150
    settings.INVENTORY_PUSH_LEASE_SECONDS = 30
    from inventory import push

    assert syncs.lock_ttl() == dt.timedelta(seconds=45) and syncs.heartbeat_every(syncs.lock_ttl()) == 15
    assert syncs.run_stale_after() == dt.timedelta(seconds=150)
    assert push.lease() == dt.timedelta(seconds=30)
