from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from stores.models import SyncRun
from stores.syncs import LockBusy, cursor_get, cursor_set, lock_acquire, lock_release, store_lock, sync_run

pytestmark = pytest.mark.django_db


def test_sync_run_records_progress_issues_and_state(store):
    with sync_run(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, trigger="test") as run:
        run.set_total(10)
        run.advance(4, counts={"created": 4})
        run.issue("malformed_order", "missing order_id", reference="X1", raw="<order/>")
        run.advance(6, counts={"created": 5, "updated": 1})
    row = SyncRun.objects.get(pk=run.run.pk)
    assert row.state == SyncRun.State.PARTIAL
    assert (row.processed, row.total, row.progress_percent) == (10, 10, 100)
    assert row.counts == {"created": 9, "updated": 1}
    issue = row.issues.get()
    assert (issue.code, issue.reference, issue.raw) == ("malformed_order", "X1", "<order/>")


def test_sync_run_failure_is_recorded(store):
    with pytest.raises(RuntimeError):
        with sync_run(store=store, kind=SyncRun.Kind.ORDERS_IMPORT) as run:
            run.advance(3)
            raise RuntimeError("FNAC went away")
    row = SyncRun.objects.get(pk=run.run.pk)
    assert row.state == SyncRun.State.FAILED
    assert "FNAC went away" in row.message
    assert row.finished_at is not None and row.processed == 3


def test_lock_is_exclusive_until_released_or_expired(store):
    token = lock_acquire(store=store, name="orders")
    with pytest.raises(LockBusy):
        lock_acquire(store=store, name="orders")
    lock_release(store=store, name="orders", token=token)
    token2 = lock_acquire(store=store, name="orders", ttl=dt.timedelta(seconds=-1))  # already expired lease
    assert token2 != token
    token3 = lock_acquire(store=store, name="orders")  # a dead holder's lease is taken over
    assert token3 not in (token, token2)
    with store_lock(store=store, name="other"):
        with pytest.raises(LockBusy):
            lock_acquire(store=store, name="other")
    lock_release(store=store, name="other", token=lock_acquire(store=store, name="other"))


def test_cursor_only_moves_forward(store):
    now = timezone.now()
    assert cursor_get(store=store, name="orders") is None
    cursor_set(store=store, name="orders", position=now)
    cursor_set(store=store, name="orders", position=now - dt.timedelta(hours=1))
    assert cursor_get(store=store, name="orders") == now
    cursor_set(store=store, name="orders", position=now + dt.timedelta(minutes=5))
    assert cursor_get(store=store, name="orders") == now + dt.timedelta(minutes=5)


def test_busy_lock_marks_run_skipped_not_failed(store):
    with store_lock(store=store, name="orders"):
        with pytest.raises(LockBusy):
            with sync_run(store=store, kind=SyncRun.Kind.ORDERS_IMPORT) as run:
                with store_lock(store=store, name="orders"):
                    pass
    row = SyncRun.objects.get(pk=run.run.pk)
    assert row.state == SyncRun.State.SKIPPED
    assert "already running" in row.message
