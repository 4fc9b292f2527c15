"""Issue 14, several workers: a killed worker's leases are taken over and nothing is done twice.

A worker killed with SIGKILL leaves its lease, its "running" run and (on django-q's ORM broker) its dequeued task
behind. Its lease lapses after the TTL and the next worker takes the job; the job, delivered again, imports and
accepts each order once. ``bench/scale.py`` does the same with real ``qcluster`` processes and measures it."""

from __future__ import annotations

import datetime as dt
import pydoc
from collections import Counter

import pytest
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.tasks import async_task

from orders.importing import LOCK_NAME
from orders.models import Order
from orders.tasks import orders_new_task
from stores.models import SyncLock, SyncRun
from stores.syncs import lock_acquire, lock_renew, runs_mark_stale
from tests.threads import run_in_threads


def _shift_clock(monkeypatch, seconds: float):
    real = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real() + dt.timedelta(seconds=seconds))


def _accepts(sandbox) -> Counter:
    """How many times FNAC was asked to accept each order (``orders_update`` bodies in the request log)."""
    seen = Counter()
    for r in sandbox.requests_for("orders_update"):
        for order_id in {oid for oid in sandbox.state.orders if oid.encode() in r.body}:
            seen[order_id] += 1
    return seen


def _dead_worker_holds_the_orders_lease(store) -> tuple[str, SyncRun]:
    """What a worker killed mid-import leaves: the store's orders lease (never renewed nor released) and its run
    "running" with its last heartbeat."""
    token = lock_acquire(store=store, name=LOCK_NAME)
    started = timezone.now()
    run = SyncRun.objects.create(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, trigger="schedule",
                                 state=SyncRun.State.RUNNING, started_at=started, heartbeat_at=started)
    return token, run


@pytest.mark.django_db
def test_a_dead_workers_orders_lease_is_taken_over_and_each_order_imported_once(
        connected_store, sandbox, monkeypatch, settings, make_product, django_capture_on_commit_callbacks):
    settings.SYNC_LOCK_TTL_SECONDS = 60
    make_product(connected_store, "SKU-X1", on_hand=100)  # known and in stock: each order is accepted on FNAC
    ids = [sandbox.add_order(lines=["SKU-X1"]) for _ in range(4)]
    dead_token, dead_run = _dead_worker_holds_the_orders_lease(connected_store)

    orders_new_task(connected_store.pk)  # the lease is still live: the run is recorded as skipped
    skipped = SyncRun.objects.exclude(pk=dead_run.pk).get(store=connected_store, kind=SyncRun.Kind.ORDERS_IMPORT)
    assert skipped.state == SyncRun.State.SKIPPED and Order.objects.count() == 0

    _shift_clock(monkeypatch, 61)  # the dead holder renewed nothing for a TTL: the lease lapsed
    with django_capture_on_commit_callbacks(execute=True):
        taken = SyncRun.objects.get(pk=orders_new_task(connected_store.pk))
    assert taken.state == SyncRun.State.SUCCEEDED, taken.message
    assert sorted(Order.objects.values_list("marketplace_order_id", flat=True)) == sorted(ids)
    assert SyncLock.objects.get(store=connected_store, name=LOCK_NAME).holder == ""  # released by the new holder
    assert not lock_renew(store=connected_store, name=LOCK_NAME, token=dead_token)  # the dead one cannot renew

    # the task delivered again (a broker re-delivery, the next schedule): still each order once, accepted once
    with django_capture_on_commit_callbacks(execute=True):
        again = SyncRun.objects.get(pk=orders_new_task(connected_store.pk))
    assert again.state == SyncRun.State.SUCCEEDED and Order.objects.count() == 4
    assert _accepts(sandbox) == dict.fromkeys(ids, 1)

    _shift_clock(monkeypatch, 61 + 181)
    assert runs_mark_stale() == 1
    dead_run.refresh_from_db()
    assert dead_run.state == SyncRun.State.FAILED and "Worker died" in dead_run.message


@pytest.mark.django_db
def test_a_task_dequeued_by_a_killed_worker_is_delivered_again_and_done_once(
        connected_store, sandbox, monkeypatch, settings, make_product, django_capture_on_commit_callbacks):
    """django-q's ORM broker hides a dequeued task for ``retry`` seconds; a worker killed before acknowledging it
    leaves it to come back, and the second delivery does the work once."""
    settings.SYNC_LOCK_TTL_SECONDS = 60
    make_product(connected_store, "SKU-X1", on_hand=100)
    ids = [sandbox.add_order(lines=["SKU-X1"]) for _ in range(3)]
    broker = ORM(list_key="lease_takeover_test")
    async_task("orders.tasks.orders_new_task", connected_store.pk, broker=broker, sync=False)

    dead = broker.dequeue()  # worker A takes it ...
    assert len(dead) == 1
    _dead_worker_holds_the_orders_lease(connected_store)  # ... starts the import and is killed
    assert broker.dequeue() is None  # hidden from worker B while A might still be working

    _shift_clock(monkeypatch, Conf.RETRY + 1)  # retry (1800 s) is well past the lease TTL (60 s)
    again = broker.dequeue()
    assert again is not None and [a[0] for a in again] == [d[0] for d in dead]
    task = SignedPackage.loads(again[0][1])
    with django_capture_on_commit_callbacks(execute=True):
        run_id = pydoc.locate(task["func"])(*task["args"], **task["kwargs"])  # worker B runs it
    broker.acknowledge(again[0][0])

    assert SyncRun.objects.get(pk=run_id).state == SyncRun.State.SUCCEEDED
    assert sorted(Order.objects.values_list("marketplace_order_id", flat=True)) == sorted(ids)
    assert _accepts(sandbox) == dict.fromkeys(ids, 1)
    assert broker.queue_size() == 0 and broker.lock_size() == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_on_one_store_never_overlap_nor_duplicate(connected_store, sandbox, make_product):
    from django.db import connection

    if connection.vendor != "postgresql":  # SQLite's in-memory test database locks whole tables between threads
        pytest.skip("needs PostgreSQL (real concurrent transactions)")
    make_product(connected_store, "SKU-X1", on_hand=100)
    ids = [sandbox.add_order(lines=["SKU-X1"]) for _ in range(5)]

    errors = run_in_threads(lambda i: [orders_new_task(connected_store.pk) for _ in range(3)], 2, together=True,
                            timeout=120)
    assert errors == []
    assert sorted(Order.objects.values_list("marketplace_order_id", flat=True)) == sorted(ids)
    assert _accepts(sandbox) == dict.fromkeys(ids, 1)
    runs = list(SyncRun.objects.filter(store=connected_store, kind=SyncRun.Kind.ORDERS_IMPORT,
                                       trigger="schedule").order_by("started_at"))
    assert len(runs) == 6 and {r.state for r in runs} <= {SyncRun.State.SUCCEEDED, SyncRun.State.SKIPPED}
    ran = [r for r in runs if r.state == SyncRun.State.SUCCEEDED]
    assert ran, "one of the workers imported"
    for earlier, later in zip(ran, ran[1:], strict=False):  # the runs that ran never overlap
        assert earlier.finished_at <= later.started_at
