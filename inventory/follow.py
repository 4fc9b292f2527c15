"""Batches in flight (issue 14, pipelined push): what each accepted offers_update carries, its batch_status
follow-up, and its results applied per SKU without ever letting an older batch overwrite a newer one.

Sending (``inventory.push``) never waits for FNAC's batch time: once FNAC has accepted a batch (a batch id),
its rows leave the claim with ``sent_version`` = the version sent and ``in_flight`` + 1, the batch records what
it carries (``PushBatch.items``) and when to poll it (``next_poll_at``), and the drain goes on with the next
change. The follow-up is separate:

* one **ticker** task for the whole site (``follow_tick``, a single lease row ``PushFollower``) wakes every
  second while any batch is in flight and queues a short **follow-up pass** for each store whose batches are
  due (one queued pass per store, like the drain); it ends when nothing is in flight. Only the ticker sleeps,
  so 200 stores with batches in flight keep one worker busy, not 200.
* a **pass** (``follow_pass``, the store lock ``stock_push_follow``) asks batch_status of each due batch;
  a final one is applied (``apply_final``), the others are polled again after ``poll_delay`` (quick at first,
  then every ``INVENTORY_BATCH_POLL``'s last step). 429/503 (after the client's own retries, which honour
  ``Retry-After``) pause both the follow-up and the sending of the store (``PushQueue.backoff_until``).

Applying a final batch happens once (a conditional update of ``finished_at``) and only moves a row forward:
a SKU's result counts only when the batch's version is newer than the one FNAC last answered for
(``done_version``); an older batch answered after a newer one changes nothing on the product. FNAC does not say
in which order it applies batches, so a row sent while another batch carrying it was in flight (``overlapped``)
or answered out of order is sent once more, forced, with its current values, once none of its batches is in
flight any more. A batch whose outcome is unknown (not final after ``INVENTORY_BATCH_FOLLOW_SECONDS``, or
given up by a synchronous push) is recorded ``UNKNOWN`` and its rows are sent again the same way.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import BigIntegerField, Case, F, PositiveIntegerField, Q, Value, When
from django.utils import timezone

from catalogue.models import Product
from fnac_connector.marketplace.errors import MarketplaceError
from inventory.models import OfferChange, PushBatch, PushFollower, PushQueue
from stores.clients import fnac_client_for
from stores.models import Store, SyncIssue, SyncRun
from stores.syncs import LockBusy, lock_acquire, lock_held

log = logging.getLogger(__name__)

FOLLOW_LOCK_NAME = "stock_push_follow"
QUEUED_FOR = dt.timedelta(seconds=30)


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_in_flight() -> int:
    """Accepted batches per store FNAC has not answered yet; the drain sends no more until one is answered."""
    return max(1, int(_setting("INVENTORY_PUSH_MAX_IN_FLIGHT", 20)))


def poll_delay(polls: int) -> float:
    """Seconds until the next batch_status of a batch polled ``polls`` times: the ramp of
    ``INVENTORY_BATCH_POLL``, then its last step again and again."""
    steps = tuple(_setting("INVENTORY_BATCH_POLL", (0.3, 0.5, 1, 1, 2, 2, 3, 5)))
    return float(steps[min(max(polls, 0), len(steps) - 1)])


def follow_seconds() -> float:
    """A batch still not final this long after it was sent is given up: UNKNOWN, its rows sent again."""
    return float(_setting("INVENTORY_BATCH_FOLLOW_SECONDS", 900))


def backoff_seconds(attempts: int) -> float:
    steps = _setting("INVENTORY_PUSH_BACKOFF", (5, 15, 30, 60, 120, 300, 600))
    return float(steps[min(max(attempts, 1), len(steps)) - 1])


def tick_seconds() -> float:
    return float(_setting("INVENTORY_FOLLOW_TICK_SECONDS", 1.0))


def in_flight(store_id: int):
    """The store's batches FNAC accepted and has not answered yet (a batch id, not finished)."""
    return PushBatch.objects.filter(store_id=store_id, finished_at__isnull=True).exclude(batch_id="")


def in_flight_count(store_id: int) -> int:
    return in_flight(store_id).count()


# ================================================================ what was sent
@dataclass
class Planned:
    row_id: int
    product_id: int
    sku: str
    quantity: int | None
    price: Decimal | None
    is_active: bool
    previous_quantity: int | None
    previous_price: Decimal | None
    note: str = ""
    version: int = 0

    def as_item(self) -> list:
        return [self.row_id, self.product_id, self.version, self.quantity, _dec(self.price), self.is_active,
                self.note, self.previous_quantity, _dec(self.previous_price), self.sku]

    @classmethod
    def from_item(cls, item: list) -> Planned:
        row_id, product_id, version, quantity, price, is_active, note, prev_q, prev_p, sku = item
        return cls(row_id=row_id, product_id=product_id, sku=sku, quantity=quantity,
                   price=Decimal(price) if price is not None else None, is_active=is_active,
                   previous_quantity=prev_q, previous_price=Decimal(prev_p) if prev_p is not None else None,
                   note=note, version=version)


def _dec(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass
class DrainReport:
    sent: int = 0
    calls: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    deferred: int = 0
    unknown: int = 0  # of the deferred: sent in a call whose outcome is unknown (it may have landed)
    in_flight: int = 0  # offers sent in batches FNAC had not answered when the drain ended
    stale: int = 0  # results of an older batch answered after a newer one: not applied, the SKU sent again
    changed: list[str] = field(default_factory=list)  # "SKU: qty 5 -> 3, price 10.00 -> 9.90"
    rejections: dict[str, str] = field(default_factory=dict)  # sku -> message
    batch_ids: list[str] = field(default_factory=list)
    error: str = ""
    held_seconds: float = 0.0  # waited to gather a burst of changes into one call
    waited_for_room: bool = False  # stopped sending: INVENTORY_PUSH_MAX_IN_FLIGHT batches were in flight

    def merge_counts(self) -> dict:
        return {"sent": self.sent, "calls": self.calls, "accepted": self.accepted, "rejected": self.rejected,
                "skipped": self.skipped, "deferred": self.deferred, "outcome_unknown": self.unknown,
                "in_flight": self.in_flight, "changed_on_fnac": len(self.changed)}


def record_sent(*, batch: PushBatch, batch_id: str, token: str, plans: list[Planned]) -> None:
    """FNAC accepted ``plans`` as batch ``batch_id``: the batch is in flight, its rows leave the claim."""
    now = timezone.now()
    with transaction.atomic():
        PushBatch.objects.filter(pk=batch.pk).update(
            batch_id=batch_id, offers=len(plans), status="SENT", items=[p.as_item() for p in plans],
            next_poll_at=now + dt.timedelta(seconds=poll_delay(0)))
        ids = [p.row_id for p in plans]
        for start in range(0, len(ids), 5000):
            OfferChange.objects.filter(claim_token=token, pk__in=ids[start:start + 5000]).update(
                sent_version=F("claimed_version"), in_flight=F("in_flight") + 1,
                # another batch carrying the row is in flight: FNAC may apply the two in either order
                overlapped=Case(When(in_flight__gt=0, then=Value(True)), default=F("overlapped")),
                claim_token="", claimed_until=None, claimed_version=None, attempts=0, next_attempt_at=None,
                last_error="", force=False, pushed_at=now)
    batch.batch_id = batch_id


# ================================================================ applying a final answer
def apply_final(*, batch: PushBatch, status=None, report: DrainReport | None = None, unknown_reason: str = "",
                final_status: str = "", to_run: bool = True) -> bool:
    """Apply FNAC's final answer for ``batch`` (``status``: its BatchStatus), or, with ``status=None``, give it up
    as UNKNOWN (``unknown_reason``). Once per batch: False when another follow-up already did. ``to_run``: add the
    figures and rejected SKUs to the run of the drain that sent it (a synchronous push reports them itself)."""
    report = report if report is not None else DrainReport()
    now = timezone.now()
    plans = [Planned.from_item(item) for item in PushBatch.objects.filter(pk=batch.pk).values_list(
        "items", flat=True).first() or []]
    results = {}
    if status is not None:
        results = {sku: ("OK" if r.ok else "ERROR", r.message)
                   for sku, r in status.results_for([p.sku for p in plans]).items()}
    label = (final_status or status.status) if status is not None else "UNKNOWN"
    with transaction.atomic():
        if not PushBatch.objects.filter(pk=batch.pk, finished_at__isnull=True).update(
                finished_at=now, status=label, next_poll_at=None, polls=batch.polls):
            return False
        rows = {r.pk: r for r in OfferChange.objects.select_for_update().filter(pk__in=[p.row_id for p in plans])
                .only("id", "done_version", "in_flight", "overlapped")}
        apply, stale, resend = [], [], []
        for plan in plans:
            row = rows.get(plan.row_id)
            if row is None:  # the product was deleted meanwhile
                continue
            row.in_flight = max(0, row.in_flight - 1)
            if status is None:
                row.overlapped = True  # it may or may not have landed: send the current values again
            elif plan.version > row.done_version:
                row.done_version = plan.version
                apply.append(plan)
            else:
                row.overlapped = True  # a newer batch was answered first: this older one may have landed last
                stale.append(plan)
            if row.in_flight == 0 and row.overlapped:
                row.overlapped = False
                resend.append(row.pk)
        _save_rows(rows.values(), {p.row_id: p.version for p in apply})
        accepted, rejected = _apply_products(apply, results, report, now=now) if status is not None else (0, 0)
        if status is None:
            _mark_unknown(plans, f"Push outcome unknown (it may have landed); the current values will be sent "
                                 f"again: {unknown_reason}")
        _resend(resend, now=now, reason="resend_unknown" if status is None else "resend_out_of_order")
        PushBatch.objects.filter(pk=batch.pk).update(
            accepted=accepted, rejected=rejected,
            message=(unknown_reason if status is None else
                     f"{len(stale)} result(s) older than a newer batch's, not applied; those SKUs are sent again"
                     if stale else "")[:2000])
        if to_run and batch.run_id and (accepted or rejected):
            _add_to_run(batch.run_id, accepted=accepted, rejected=rejected,
                        rejections={p.sku: report.rejections[p.sku] for p in apply if p.sku in report.rejections})
    report.accepted += accepted
    report.rejected += rejected
    report.stale += len(stale)
    if status is None:
        report.unknown += len(plans)
        report.deferred += len(plans)
    return True


def _save_rows(rows, done: dict[int, int]) -> None:
    """Write what ``apply_final`` decided, in a few set-based UPDATEs (a batch carries up to 10,000 rows):
    one in flight less each, ``done_version`` raised (never lowered) per version, ``overlapped`` as decided."""
    rows = list(rows)
    ids = [r.pk for r in rows]
    for start in range(0, len(ids), 5000):
        OfferChange.objects.filter(pk__in=ids[start:start + 5000]).update(
            in_flight=Case(When(in_flight__gt=0, then=F("in_flight") - 1), default=Value(0),
                           output_field=PositiveIntegerField()))
    by_version: dict[int, list[int]] = {}
    for row_id, version in done.items():
        by_version.setdefault(version, []).append(row_id)
    for version, row_ids in by_version.items():
        for start in range(0, len(row_ids), 5000):
            OfferChange.objects.filter(pk__in=row_ids[start:start + 5000], done_version__lt=version).update(
                done_version=version)
    for flag in (True, False):
        flagged = [r.pk for r in rows if r.overlapped is flag]
        for start in range(0, len(flagged), 5000):
            OfferChange.objects.filter(pk__in=flagged[start:start + 5000]).exclude(overlapped=flag).update(
                overlapped=flag)


def _apply_products(plans: list[Planned], results: dict[str, tuple[str, str]], report: DrainReport, *,
                    now: dt.datetime) -> tuple[int, int]:
    """Each SKU's result on its product (only the SKUs whose batch is the newest FNAC answered for)."""
    updated: list[Product] = []
    accepted = rejected = 0
    for plan in plans:
        status, message = results[plan.sku]
        product = Product(pk=plan.product_id)
        if status in ("OK", "WARNING"):
            accepted += 1
            product.push_state = Product.PushState.IN_SYNC if plan.is_active else Product.PushState.HELD
            product.push_message = "; ".join(m for m in (plan.note, message) if m)
            if plan.note:
                product.push_state = Product.PushState.REJECTED
            product.pushed_quantity = plan.quantity
            product.pushed_price = plan.price
            product.pushed_at = now
            changes = []
            if plan.quantity is not None and plan.quantity != plan.previous_quantity:
                changes.append(f"quantity {_show(plan.previous_quantity)} -> {plan.quantity}")
            if plan.price is not None and plan.price != plan.previous_price:
                changes.append(f"price {_show(plan.previous_price)} -> {plan.price}")
            if changes:
                report.changed.append(f"{plan.sku}: {', '.join(changes)}")
            product._fields = ["push_state", "push_message", "pushed_at"] + \
                (["pushed_quantity", "fnac_quantity"] if plan.quantity is not None else []) + \
                (["pushed_price", "fnac_price"] if plan.price is not None else [])
            product.fnac_quantity, product.fnac_price = plan.quantity, plan.price
        else:
            rejected += 1
            product.push_state = Product.PushState.REJECTED
            product.push_message = message or f"rejected by FNAC ({status})"
            product._fields = ["push_state", "push_message"]
            report.rejections[plan.sku] = product.push_message
        updated.append(product)
    by_fields: dict[tuple, list[Product]] = {}
    for product in updated:
        by_fields.setdefault(tuple(product._fields), []).append(product)
    for fields, products in by_fields.items():
        Product.objects.bulk_update(products, list(fields), batch_size=1000)
    return accepted, rejected


def _show(value) -> str:
    return "?" if value is None else str(value)


def _mark_unknown(plans: list[Planned], message: str) -> None:
    ids = [p.product_id for p in plans]
    for start in range(0, len(ids), 5000):
        Product.objects.filter(pk__in=ids[start:start + 5000]).update(push_message=message[:2000])


def _resend(row_ids: list[int], *, now: dt.datetime, reason: str) -> None:
    """Send these rows once more, forced, with their current values: a new version unless a newer change is
    already waiting to be sent (then that one goes, forced)."""
    for start in range(0, len(row_ids), 5000):
        OfferChange.objects.filter(pk__in=row_ids[start:start + 5000]).update(
            force=True, changed_at=now, reason=reason,
            version=Case(When(version__lte=F("sent_version"), then=F("version") + 1), default=F("version"),
                         output_field=BigIntegerField()))
        Product.objects.filter(offer_change__pk__in=row_ids[start:start + 5000]).exclude(
            push_state=Product.PushState.PENDING).update(push_state=Product.PushState.PENDING)


def _add_to_run(run_id: int, *, accepted: int, rejected: int, rejections: dict[str, str]) -> None:
    """A batch answered after its drain's run ended: its figures and rejected SKUs join that run."""
    run = SyncRun.objects.select_for_update().filter(pk=run_id).first()
    if run is None:
        return
    counts = dict(run.counts or {})
    counts["accepted"] = counts.get("accepted", 0) + accepted
    counts["rejected"] = counts.get("rejected", 0) + rejected
    counts["in_flight"] = max(0, counts.get("in_flight", 0) - accepted - rejected)
    SyncIssue.objects.bulk_create([SyncIssue(run=run, code="offer_rejected", message=message, reference=sku[:200])
                                   for sku, message in rejections.items()], batch_size=500)
    SyncRun.objects.filter(pk=run_id).update(counts=counts, error_count=F("error_count") + len(rejections))


# ================================================================ FNAC's "not now"
def backoff_until(store_id: int, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the store's pause after FNAC's 429/503 ends (None: not paused)."""
    now = now or timezone.now()
    return PushQueue.objects.filter(store_id=store_id, backoff_until__gt=now).values_list(
        "backoff_until", flat=True).first()


def backoff_active(store_id: int, now: dt.datetime | None = None) -> bool:
    return backoff_until(store_id, now) is not None


def backoff_start(store_id: int, exc: MarketplaceError) -> float:
    """FNAC answered 429/503 (or could not be reached) after the client's retries: the store's push and
    follow-up pause for the next step of ``INVENTORY_PUSH_BACKOFF`` (or FNAC's Retry-After, when longer)."""
    PushQueue.objects.get_or_create(store_id=store_id)
    steps = (PushQueue.objects.filter(store_id=store_id).values_list("backoff_steps", flat=True).first() or 0) + 1
    delay = backoff_seconds(steps)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        delay = max(delay, float(retry_after))
    until = timezone.now() + dt.timedelta(seconds=delay)
    PushQueue.objects.filter(store_id=store_id).update(backoff_until=until, backoff_steps=steps)
    in_flight(store_id).filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lt=until)).update(next_poll_at=until)
    return delay


def backoff_clear(store_id: int) -> None:
    PushQueue.objects.filter(store_id=store_id, backoff_steps__gt=0).update(backoff_steps=0, backoff_until=None)


# ================================================================ the follow-up pass of one store
@dataclass
class FollowReport:
    polled: int = 0
    answered: int = 0
    still_running: int = 0
    given_up: int = 0
    error: str = ""
    drain: DrainReport = field(default_factory=DrainReport)


def follow_pass(*, store: Store, client=None, due_only: bool = True, ignore_backoff: bool = False,
                batch_ids: list[int] | None = None, report: FollowReport | None = None,
                to_run: bool = True) -> FollowReport:
    """batch_status of the store's in-flight batches (those due, or all), oldest first; final ones applied."""
    report = report if report is not None else FollowReport()
    now = timezone.now()
    if not ignore_backoff and backoff_active(store.pk, now):
        return report
    batches = in_flight(store.pk).defer("items").order_by("id")
    if due_only:
        batches = batches.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
    if batch_ids is not None:
        batches = batches.filter(pk__in=batch_ids)
    for batch in batches:
        if (timezone.now() - batch.created_at).total_seconds() > follow_seconds():
            if apply_final(batch=batch, report=report.drain, to_run=to_run, unknown_reason=(
                    f"batch {batch.batch_id} still {batch.status or 'not final'} after {follow_seconds():.0f} s "
                    f"({batch.polls} polls)")):
                report.given_up += 1
            continue
        if client is None:
            client = fnac_client_for(store)
        try:
            status = client.batch_status(batch.batch_id)
        except MarketplaceError as exc:
            delay = backoff_start(store.pk, exc)
            report.error = f"{exc.__class__.__name__}: {exc} (batch_status paused {delay:.0f}s)"
            log.warning("stock push follow-up of store %s: %s", store.pk, report.error)
            return report
        report.polled += 1
        batch.polls += 1
        if status.is_final:
            if apply_final(batch=batch, status=status, report=report.drain, to_run=to_run):
                report.answered += 1
        else:
            report.still_running += 1
            PushBatch.objects.filter(pk=batch.pk, finished_at__isnull=True).update(
                status=status.status, polls=batch.polls,
                next_poll_at=timezone.now() + dt.timedelta(seconds=poll_delay(batch.polls)))
    if report.polled:
        backoff_clear(store.pk)
    return report


def follow_store(*, store: Store, client=None) -> FollowReport | None:
    """One follow-up pass under the store's follow-up lock (None: another pass holds it; the ticker comes back)."""
    PushQueue.objects.filter(store_id=store.pk).update(follow_queued_at=None)
    try:
        token = lock_acquire(store=store, name=FOLLOW_LOCK_NAME)
    except LockBusy:
        return None
    with lock_held(store=store, name=FOLLOW_LOCK_NAME, token=token):
        return follow_pass(store=store, client=client)


# ================================================================ the ticker
def follow_soon() -> None:
    """Make sure the ticker runs (after the current transaction commits): called once a batch is in flight."""
    transaction.on_commit(_wake_ticker)


def _wake_ticker() -> None:
    now = timezone.now()
    try:
        follower, _ = PushFollower.objects.get_or_create(pk=1)
        if follower.lease_until and follower.lease_until > now:
            return  # a ticker is running: it sees every batch in flight (and re-checks before it ends)
        if not PushFollower.objects.filter(pk=1).filter(
                Q(queued_at__isnull=True) | Q(queued_at__lt=now - QUEUED_FOR)).update(queued_at=now):
            return  # queued and not started yet
        from django_q.tasks import async_task

        async_task("inventory.tasks.stock_push_follow_tick_task", q_options={
            "task_name": "stock push follow-up", "group": "stock_push"})
    except Exception:  # never fail the caller: the per-minute safety drain wakes the ticker too
        log.exception("could not queue the stock push follow-up ticker")


def _enqueue_pass(store_id: int) -> None:
    now = timezone.now()
    PushQueue.objects.get_or_create(store_id=store_id)
    if not PushQueue.objects.filter(store_id=store_id).filter(
            Q(follow_queued_at__isnull=True) | Q(follow_queued_at__lt=now - QUEUED_FOR)).update(follow_queued_at=now):
        return
    from django_q.tasks import async_task

    async_task("inventory.tasks.stock_push_follow_task", store_id, q_options={
        "task_name": f"stock push follow-up {store_id}", "group": "stock_push"})


def follow_tick(*, slice_seconds: float = 300.0, sleep: Callable[[float], None] = time.sleep,
                enqueue_pass: Callable[[int], None] = _enqueue_pass) -> int:
    """The ticker: while batches are in flight (at most ``slice_seconds``, then it queues itself again), every
    ``INVENTORY_FOLLOW_TICK_SECONDS`` queue a follow-up pass for each store with a batch due. Returns the
    passes queued."""
    token = uuid.uuid4().hex
    now = timezone.now()
    PushFollower.objects.get_or_create(pk=1)
    ttl = dt.timedelta(seconds=max(10.0, 10 * tick_seconds()))
    if not PushFollower.objects.filter(pk=1).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now)).update(
            token=token, lease_until=now + ttl, queued_at=None):
        return 0
    queued = 0
    end = time.monotonic() + slice_seconds
    try:
        while time.monotonic() < end:
            now = timezone.now()
            if not PushFollower.objects.filter(pk=1, token=token).update(lease_until=now + ttl):
                return queued  # lost the lease (this worker was stalled past it): the new holder goes on
            flying = PushBatch.objects.filter(finished_at__isnull=True).exclude(batch_id="")
            if not flying.exists():
                break
            stores = set(flying.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
                         .values_list("store_id", flat=True).distinct())
            for store_id in sorted(stores):
                enqueue_pass(store_id)
                queued += 1
            sleep(tick_seconds())
    finally:
        PushFollower.objects.filter(pk=1, token=token).update(token="", lease_until=None)
    # a batch sent after the last look, or the slice ran out: the next ticker takes over
    if PushBatch.objects.filter(finished_at__isnull=True).exclude(batch_id="").exists():
        _wake_ticker()
    return queued
