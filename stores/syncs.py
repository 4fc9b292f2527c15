"""Sync-run recording, per-store locks and cursors: the plumbing every job uses.

Usage in a service::

    with sync_run(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, trigger="schedule") as run:
        run.set_total(n)
        ...
        run.advance(100, counts={"created": 3})
        run.issue("malformed_order", "missing order_id", reference="", raw=fragment)

The run row is written outside the job's own transactions so progress is visible while it runs,
and it ends ``failed`` with the error message when the block raises.

Leases and heartbeats: a store lock is a short lease (``SYNC_LOCK_TTL_SECONDS``, 60 s) that a background
heartbeat thread renews every third of its TTL while the holder lives, and a running sync run's
``heartbeat_at`` is refreshed the same way. A worker killed with SIGKILL stops beating: its lease lapses within
one TTL, so the next run of the store takes over, and ``runs_mark_stale`` (a global periodic job) closes its
run as failed ("worker died") once the heartbeat is ``SYNC_RUN_STALE_SECONDS`` old.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, TextField, Value, When
from django.db.models.functions import Concat
from django.utils import timezone

from stores.models import Store, SyncCursor, SyncIssue, SyncLock, SyncRun

log = logging.getLogger(__name__)

HOLDER = f"{socket.gethostname()}:{os.getpid()}"
WORKER_DIED = "Worker died: no heartbeat"


class LockBusy(Exception):
    """Another worker holds the lock; the job is skipped, not failed."""


def lock_ttl() -> dt.timedelta:
    """How long a store lock lives without a renewal (a dead holder's lock lapses after this)."""
    return dt.timedelta(seconds=float(getattr(settings, "SYNC_LOCK_TTL_SECONDS", 60)))


def run_stale_after() -> dt.timedelta:
    """A running sync run whose heartbeat is older than this is closed as failed by ``runs_mark_stale``."""
    return dt.timedelta(seconds=float(getattr(settings, "SYNC_RUN_STALE_SECONDS", 180)))


def heartbeat_every(ttl: dt.timedelta) -> float:
    """Renew three times per TTL: two renewals may be lost (a slow database) before the lease lapses."""
    return max(0.05, ttl.total_seconds() / 3)


class Heartbeat:
    """Calls ``beat()`` every ``interval`` seconds on a daemon thread until ``stop()``.

    The thread has its own database connection, closed when it ends. It is not started when the caller is
    inside a transaction (an atomic block): another connection cannot see the caller's uncommitted rows, so
    renewals then come from the caller's own progress calls. A failed beat is logged, never raised.
    """

    def __init__(self, beat: Callable[[], object], *, interval: float, name: str):
        self.beat, self.interval, self.name = beat, interval, name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Heartbeat:
        if connection.in_atomic_block:
            return self
        self._thread = threading.Thread(target=self._run, name=f"heartbeat:{self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                try:
                    self.beat()
                except Exception:  # the next beat tries again; the lease has two more chances
                    log.warning("heartbeat %s failed", self.name, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=self.interval + 5)
            self._thread = None


@contextlib.contextmanager
def heartbeat(beat: Callable[[], object], *, interval: float, name: str):
    """Run ``beat()`` every ``interval`` seconds while the block runs (see ``Heartbeat``)."""
    hb = Heartbeat(beat, interval=interval, name=name).start()
    try:
        yield hb
    finally:
        hb.stop()


class RunRecorder:
    def __init__(self, run: SyncRun):
        self.run = run
        self.counts: Counter = Counter(run.counts or {})
        self._pending_issues: list[SyncIssue] = []
        self.failed = False

    def fail(self, message: str) -> None:
        """End the run as failed with ``message`` (the reason) when the block ends, without raising: for a job
        that handled its own failure (a refused connect) and must still be recorded as what it was."""
        self.failed = True
        self.run.message = message

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
    # while this process lives, the run shows a fresh heartbeat, even during one long marketplace call
    beat = Heartbeat(lambda: run_heartbeat(run_id=run.pk), interval=heartbeat_every(lock_ttl()),
                     name=f"run:{run.pk}").start()
    try:
        yield recorder
    except BaseException as exc:
        beat.stop()
        recorder.flush_issues()
        run.state = SyncRun.State.SKIPPED if isinstance(exc, LockBusy) else SyncRun.State.FAILED
        run.message = (run.message + "\n" if run.message else "") + _describe(exc)
        _finish(recorder)
        raise
    else:
        beat.stop()
        recorder.flush_issues()
        if recorder.failed:
            run.state = SyncRun.State.FAILED
        else:
            run.state = SyncRun.State.PARTIAL if run.error_count else SyncRun.State.SUCCEEDED
        _finish(recorder)


def run_heartbeat(*, run_id: int) -> bool:
    """The run's worker is alive (only a running run is touched: a finished one stays as it ended)."""
    return bool(SyncRun.objects.filter(pk=run_id, state=SyncRun.State.RUNNING).update(
        heartbeat_at=timezone.now()))


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
def lock_acquire(*, store: Store, name: str, ttl: dt.timedelta | None = None) -> str:
    """Take the (store, name) lease or raise LockBusy. Atomic on SQLite and PostgreSQL alike:
    a conditional UPDATE of an expired lease, or the INSERT of a new one guarded by a unique key.
    The lease is short (``lock_ttl()``): keep it with ``lock_held`` / ``store_lock`` (a heartbeat renews it)."""
    ttl = ttl or lock_ttl()
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


def lock_renew(*, store: Store, name: str, token: str, ttl: dt.timedelta | None = None) -> bool:
    """Extend the lease by ``ttl`` from now; False when it is no longer ours (it lapsed and was taken)."""
    return bool(SyncLock.objects.filter(store=store, name=name, holder=token).update(
        expires_at=timezone.now() + (ttl or lock_ttl())))


def lock_release(*, store: Store, name: str, token: str) -> None:
    SyncLock.objects.filter(store=store, name=name, holder=token).update(holder="", expires_at=None)


@contextlib.contextmanager
def lock_held(*, store: Store, name: str, token: str, ttl: dt.timedelta | None = None):
    """Keep a lease taken with ``lock_acquire`` alive while the block runs (a heartbeat thread renews it every
    third of its TTL), then release it. A holder killed mid-block stops renewing: the lease lapses."""
    ttl = ttl or lock_ttl()
    store_id = store.pk

    def renew():
        if not SyncLock.objects.filter(store_id=store_id, name=name, holder=token).update(
                expires_at=timezone.now() + ttl):
            log.warning("lease %s of store %s was lost (expired and taken over)", name, store_id)

    try:
        with heartbeat(renew, interval=heartbeat_every(ttl), name=f"lock:{store_id}:{name}"):
            yield token
    finally:
        lock_release(store=store, name=name, token=token)


@contextlib.contextmanager
def store_lock(*, store: Store, name: str, ttl: dt.timedelta | None = None):
    """Hold the (store, name) lease for the block, renewed by a heartbeat; raises LockBusy when it is held."""
    token = lock_acquire(store=store, name=name, ttl=ttl)
    with lock_held(store=store, name=name, token=token, ttl=ttl):
        yield token


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


def runs_mark_stale(*, older_than: dt.timedelta | None = None) -> int:
    """Runs whose worker died (no heartbeat for ``older_than``, default ``SYNC_RUN_STALE_SECONDS``) are closed
    as failed with "Worker died", so the admin is honest. A live run beats every ``SYNC_LOCK_TTL_SECONDS / 3``.
    Called by the global ``runs_mark_stale`` schedule."""
    now = timezone.now()
    limit = now - (older_than if older_than is not None else run_stale_after())
    stale = SyncRun.objects.filter(state=SyncRun.State.RUNNING).filter(
        Q(heartbeat_at__lt=limit) | Q(heartbeat_at__isnull=True, started_at__lt=limit))
    note = f"{WORKER_DIED} since {limit:%Y-%m-%d %H:%M:%S %Z}; closed by the stale-run job."
    return stale.update(
        state=SyncRun.State.FAILED, finished_at=now,
        message=Case(When(message="", then=Value(note)),
                     default=Concat(F("message"), Value("\n" + note), output_field=TextField()),
                     output_field=TextField()),
    )


# ---------------------------------------------------------------- queued syncs: one runner
def run_skip(*, store: Store, kind: str, reason: str, trigger: str = "", run: SyncRun | None = None,
             params: dict | None = None) -> SyncRun:
    """Record a run that did not start because its store lock was busy (created when there is none yet).
    Only a queued run is touched: one that started ends as its own block says."""
    if run is None:
        run = SyncRun.objects.create(store=store, kind=kind, trigger=trigger, params=params or {})
    now = timezone.now()
    SyncRun.objects.filter(pk=run.pk, state=SyncRun.State.QUEUED).update(
        state=SyncRun.State.SKIPPED, started_at=now, finished_at=now, heartbeat_at=now, message=reason)
    run.refresh_from_db()
    return run


@contextlib.contextmanager
def locked_run(*, store: Store, kind: str, lock_name: str, trigger: str = "", run: SyncRun | None = None,
               params: dict | None = None):
    """Take the (store, lock_name) lease, then record the run for the block: yields ``(recorder, token)``.

    A busy lock records the run as skipped (``run_skip``) and raises LockBusy, whichever door started it.
    """
    try:
        token = lock_acquire(store=store, name=lock_name)
    except LockBusy as exc:
        run_skip(store=store, kind=kind, reason=str(exc), trigger=trigger, run=run, params=params)
        raise
    with lock_held(store=store, name=lock_name, token=token):
        with sync_run(store=store, kind=kind, trigger=trigger, run=run, params=params) as rec:
            yield rec, token


def run_queued(*, store_id: int, run_id: int | None, what: str,
               work: Callable[[Store, SyncRun | None], SyncRun]) -> int | None:
    """The body of every queued-sync task: ``work(store, run)`` for a store that is still connected.

    A store gone or disconnected ends the queued run failed; a busy store lock ends it skipped (``run_skip``,
    when ``work`` did not record it already) and is not an error. Returns the run id.
    """
    store = Store.objects.filter(pk=store_id).first()
    run = SyncRun.objects.filter(pk=run_id).first() if run_id else None
    if store is None or not store.is_connected:
        if run is not None:
            SyncRun.objects.filter(pk=run.pk).update(state=SyncRun.State.FAILED, finished_at=timezone.now(),
                                                     message="The store is not connected (any more).")
        return None
    try:
        run = work(store, run)
    except LockBusy as exc:  # another worker holds this store's lock: this run is recorded as skipped
        log.info("%s skipped for store %s: %s", what, store_id, exc)
        if run is not None:
            run_skip(store=store, kind=run.kind, reason=str(exc), run=run)
        return run.pk if run else None
    return run.pk
