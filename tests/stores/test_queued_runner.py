"""The one runner of queued syncs: the store lock first, then the run; a busy lock is recorded as skipped the
same way whichever door started the sync."""

from __future__ import annotations

import pytest

from stores.models import Store, SyncRun
from stores.syncs import LockBusy, locked_run, run_create, run_queued, store_lock

pytestmark = pytest.mark.django_db


def test_locked_run_records_a_skipped_run_when_the_lock_is_busy(store):
    with store_lock(store=store, name="orders"):
        with pytest.raises(LockBusy):
            with locked_run(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, lock_name="orders", trigger="test"):
                pytest.fail("the block must not run")
    run = SyncRun.objects.get()
    assert run.state == SyncRun.State.SKIPPED and "already running" in run.message and run.finished_at


def test_locked_run_runs_the_block_under_the_lock(store):
    with locked_run(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, lock_name="orders") as (rec, token):
        assert token
        with pytest.raises(LockBusy):
            with store_lock(store=store, name="orders"):
                pass
        rec.count("done")
    run = SyncRun.objects.get()
    assert run.state == SyncRun.State.SUCCEEDED and run.counts == {"done": 1}


def test_run_queued_skips_a_queued_run_whose_work_found_the_lock_busy(store):
    Store.objects.filter(pk=store.pk).update(status=Store.Status.CONNECTED)
    queued = run_create(store=store, kind=SyncRun.Kind.CATALOGUE_IMPORT)

    def busy(store, run):
        raise LockBusy("catalogue is already running for store 1")

    assert run_queued(store_id=store.pk, run_id=queued.pk, what="test", work=busy) == queued.pk
    queued.refresh_from_db()
    assert queued.state == SyncRun.State.SKIPPED and "already running" in queued.message


def test_run_queued_fails_the_run_of_a_store_no_longer_connected(store):
    queued = run_create(store=store, kind=SyncRun.Kind.ORDERS_IMPORT)
    assert run_queued(store_id=store.pk, run_id=queued.pk, what="test", work=lambda s, r: pytest.fail("ran")) is None
    queued.refresh_from_db()
    assert queued.state == SyncRun.State.FAILED and "not connected" in queued.message
