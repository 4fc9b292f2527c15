"""Sync-run recording, per-store locks and cursors: the plumbing every job uses.

Usage in a service::

    with sync_run(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, trigger="schedule") as run:
        run.set_total(n)
        ...
        run.advance(100, counts={"created": 3})
        run.issue("malformed_order", "missing order_id", reference="", raw=fragment)

The run row is written outside the job's own transactions so progress is visible while it runs,
and it ends ``failed`` with the error message when the block raises.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections import Counter

from django.db import IntegrityError, transaction
from django.db.models import F, Q, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone

from stores.models import Store, SyncCursor, SyncIssue, SyncLock, SyncRun

log = logging.getLogger(__name__)

HOLDER = f"{socket.gethostname()}:{os.getpid()}"


class LockBusy(Exception):
    """Another worker holds the lock; the job is skipped, not failed."""


class RunRecorder:
    def __init__(self, run: SyncRun):
        self.run = run
        self.counts: Counter = Counter(run.counts or {})
        self._pending_issues: list[SyncIssue] = []

    def set_total(self, total: int | None) -> None:
        self.run.total = total
        SyncRun.objects.filter(pk=self.run.pk).update(total=total, heartbeat_at=timezone.now())

    def advance(self, processed: int = 0, counts: dict | None = None) -> None:
        if counts:
            self.counts.update(counts)
        self.run.processed += processed
        self.flush_issues()
        SyncRun.objects.filter(pk=self.run.pk).update(
            processed=self.run.processed, counts=dict(self.counts), heartbeat_at=timezone.now(),
            error_count=self.run.error_count)

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] += n

    def issue(self, code: str, message: str, *, reference: str = "", details: dict | None = None,
              raw: str = "") -> None:
        self._pending_issues.append(SyncIssue(run=self.run, code=code, message=message,
                                              reference=str(reference)[:200], details=details or {},
                                              raw=raw or ""))
        self.run.error_count += 1
        if len(self._pending_issues) >= 500:
            self.flush_issues()

    def flush_issues(self) -> None:
        if self._pending_issues:
            SyncIssue.objects.bulk_create(self._pending_issues, batch_size=500)
            self._pending_issues = []

    def note(self, message: str) -> None:
        self.run.message = message


def run_create(*, store: Store, kind: str, trigger: str = "", params: dict | None = None) -> SyncRun:
    """A queued run, so a door can answer with its id before the worker picks the job up."""
    return SyncRun.objects.create(store=store, kind=kind, trigger=trigger, params=params or {})


@contextlib.contextmanager
def sync_run(*, store: Store, kind: str, trigger: str = "", run: SyncRun | None = None,
             params: dict | None = None):
    if run is None:
        run = SyncRun.objects.create(store=store, kind=kind, trigger=trigger, params=params or {})
    now = timezone.now()
    run.state, run.started_at, run.heartbeat_at = SyncRun.State.RUNNING, now, now
    SyncRun.objects.filter(pk=run.pk).update(state=run.state, started_at=now, heartbeat_at=now)
    recorder = RunRecorder(run)
    try:
        yield recorder
    except BaseException as exc:
        recorder.flush_issues()
        run.state = SyncRun.State.SKIPPED if isinstance(exc, LockBusy) else SyncRun.State.FAILED
        run.message = (run.message + "\n" if run.message else "") + _describe(exc)
        _finish(recorder)
        raise
    else:
        recorder.flush_issues()
        run.state = SyncRun.State.PARTIAL if run.error_count else SyncRun.State.SUCCEEDED
        _finish(recorder)


def _describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}" if not isinstance(exc, LockBusy) else text


def _finish(recorder: RunRecorder) -> None:
    run = recorder.run
    run.finished_at = timezone.now()
    run.counts = dict(recorder.counts)
    SyncRun.objects.filter(pk=run.pk).update(
        state=run.state, finished_at=run.finished_at, processed=run.processed, counts=run.counts,
        error_count=run.error_count, message=run.message, heartbeat_at=run.finished_at)


# ---------------------------------------------------------------- locks
def lock_acquire(*, store: Store, name: str, ttl: dt.timedelta = dt.timedelta(minutes=30)) -> str:
    """Take the (store, name) lease or raise LockBusy. Atomic on SQLite and PostgreSQL alike:
    a conditional UPDATE of an expired lease, or the INSERT of a new one guarded by a unique key."""
    token = f"{HOLDER}:{uuid.uuid4().hex[:8]}"
    now = timezone.now()
    taken = SyncLock.objects.filter(store=store, name=name).filter(
        Q(expires_at__isnull=True) | Q(expires_at__lt=now)).update(holder=token, expires_at=now + ttl)
    if taken:
        return token
    try:
        with transaction.atomic():
            SyncLock.objects.create(store=store, name=name, holder=token, expires_at=now + ttl)
        return token
    except IntegrityError:
        raise LockBusy(f"{name} is already running for store {store.pk}") from None


def lock_renew(*, store: Store, name: str, token: str, ttl: dt.timedelta = dt.timedelta(minutes=30)) -> bool:
    return bool(SyncLock.objects.filter(store=store, name=name, holder=token).update(
        expires_at=timezone.now() + ttl))


def lock_release(*, store: Store, name: str, token: str) -> None:
    SyncLock.objects.filter(store=store, name=name, holder=token).update(holder="", expires_at=None)


@contextlib.contextmanager
def store_lock(*, store: Store, name: str, ttl: dt.timedelta = dt.timedelta(minutes=30)):
    token = lock_acquire(store=store, name=name, ttl=ttl)
    try:
        yield token
    finally:
        lock_release(store=store, name=name, token=token)


# ---------------------------------------------------------------- cursors
def cursor_get(*, store: Store, name: str) -> dt.datetime | None:
    return SyncCursor.objects.filter(store=store, name=name).values_list("position", flat=True).first()


def cursor_set(*, store: Store, name: str, position: dt.datetime) -> None:
    """Move forward only: an older position never overwrites a newer one."""
    updated = SyncCursor.objects.filter(store=store, name=name).filter(
        Q(position__isnull=True) | Q(position__lt=position)).update(position=position, updated_at=timezone.now())
    if not updated and not SyncCursor.objects.filter(store=store, name=name).exists():
        try:
            with transaction.atomic():
                SyncCursor.objects.create(store=store, name=name, position=position)
        except IntegrityError:
            cursor_set(store=store, name=name, position=position)


def runs_mark_stale(*, older_than: dt.timedelta = dt.timedelta(hours=1)) -> int:
    """Runs whose worker died (no heartbeat for a long time) are closed as failed, so the admin is honest."""
    limit = timezone.now() - older_than
    return SyncRun.objects.filter(state=SyncRun.State.RUNNING, heartbeat_at__lt=limit).update(
        state=SyncRun.State.FAILED, finished_at=timezone.now(),
        message=Concat(F("message"), Value("\nWorker stopped without finishing (no heartbeat)."),
                       output_field=TextField()),
    )
