"""Draining the stock/price outbox to FNAC: claim, coalesce, send in batches of 10,000, follow, record.

One drain per store at a time (the ``stock_push`` store lock); rows are additionally claimed with a token and a
lease so a drain whose worker died is taken over by the next one once the lease has expired. Both leases are
short (``INVENTORY_PUSH_LEASE_SECONDS``, 60 s) and renewed by heartbeat threads while the drain lives, so a
killed worker blocks nothing for more than about a minute. Offers are absolute values (quantity, price), so
sending one twice is harmless.

Never assume after an unknown outcome: a call whose answer was lost (``OutcomeUnknown``, a cut answer, a batch
accepted but not followed to its end) may have landed, and a failed one may have landed in part. Its rows stay
pending with ``force`` set, so the next push sends the current absolute values even when the product's record
("last pushed") says FNAC already has them; the batch is recorded ``UNKNOWN``, not ``FAILED``. What is left
wrong on FNAC anyway is found by the offers reconciliation (``inventory.reconcile``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Min, Q, Value, When
from django.utils import timezone

from catalogue.models import Product
from catalogue.rules import fnac_price_for, fnac_quantity_for, price_problem
from fnac_connector.marketplace.errors import BadResponse, MarketplaceError, OutcomeUnknown, Rejected
from fnac_connector.marketplace.fnac.client import offers_update_isolating
from fnac_connector.marketplace.fnac.limits import MAX_OFFERS_PER_UPDATE
from fnac_connector.marketplace.fnac.types import OfferUpdate
from inventory.models import OfferChange, PushBatch, PushQueue
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import LockBusy, RunRecorder, heartbeat, heartbeat_every, lock_acquire, lock_held, sync_run

log = logging.getLogger(__name__)

LOCK_NAME = "stock_push"
PUSHABLE_LISTING_STATES = (Product.ListingState.LIVE, Product.ListingState.PENDING)
RETRY_SCHEDULE_PREFIX = "inventory:retry:"


def _setting(name: str, default):
    return getattr(settings, name, default)


def lease() -> dt.timedelta:
    """Lease of the drain's store lock and of its claimed outbox rows; heartbeats renew both every third of it."""
    return dt.timedelta(seconds=float(_setting("INVENTORY_PUSH_LEASE_SECONDS", 60)))


def max_offers() -> int:
    return min(MAX_OFFERS_PER_UPDATE, int(_setting("INVENTORY_PUSH_MAX_OFFERS", MAX_OFFERS_PER_UPDATE)))


def backoff_seconds(attempts: int) -> float:
    steps = _setting("INVENTORY_PUSH_BACKOFF", (5, 15, 30, 60, 120, 300, 600))
    return float(steps[min(max(attempts, 1), len(steps)) - 1])


def burst_threshold() -> int:
    return int(_setting("INVENTORY_PUSH_BURST_THRESHOLD", 100))


def burst_window() -> float:
    return float(_setting("INVENTORY_PUSH_BURST_WINDOW_SECONDS", 15))


def burst_quiet() -> float:
    return float(_setting("INVENTORY_PUSH_BURST_QUIET_SECONDS", 2))


def _burst_hold(store_id: int, *, ignore_backoff: bool) -> float:
    """Seconds to wait before claiming, so that changes still arriving in bulk travel together.

    A few pending changes (a single stock movement) go at once: that is the latency path. When more than
    ``burst_threshold`` are pending but fewer than a full call AND changes are still arriving (the newest is
    younger than ``burst_quiet``), the drain waits, at most until the oldest pending change is ``burst_window``
    old: 10,000 changes made over a minute then take a handful of offers_update calls, while a batch made in one
    go (nothing new arriving) is sent as soon as it is quiet.
    """
    window = burst_window()
    if window <= 0 or ignore_backoff:
        return 0.0
    now = timezone.now()
    pending = _claimable(store_id, now)
    count = pending[: max_offers()].count()
    if count <= burst_threshold() or count >= max_offers():
        return 0.0
    ages = pending.aggregate(oldest=Min("changed_at"), newest=Max("changed_at"))
    if ages["oldest"] is None or (now - ages["newest"]).total_seconds() >= burst_quiet():
        return 0.0
    return max(0.0, min(1.0, window - (now - ages["oldest"]).total_seconds()))


def poll_delays() -> Iterable[float]:
    """Waits between batch_status calls: quick at first (sandbox, small batches), then slower; ~10 min in all."""
    yield from _setting("INVENTORY_BATCH_POLL", (0.2, 0.3, 0.5, 0.5, 1, 1, 2, 2, 3, 5, 5, 10, 10, 15, 15,
                                                 30, 30, 60, 60, 60, 60, 60, 60, 60, 60))


# ================================================================ waking the drain
QUEUED_FOR = dt.timedelta(seconds=30)


def drain_soon(store_id: int) -> None:
    """After the current transaction commits, make sure a drain of this store's outbox is queued (once)."""
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        for entry in conn.run_on_commit:
            if getattr(entry[1], "_inventory_drain", None) == store_id:
                return

    def _wake():
        _enqueue_drain(store_id)

    _wake._inventory_drain = store_id
    transaction.on_commit(_wake)


def _enqueue_drain(store_id: int) -> None:
    """Queue one drain task unless one is queued and not yet started (a flag row per store, reset by the drain
    before it claims, so a change committed after that reset always queues a new drain)."""
    now = timezone.now()
    try:
        flagged = PushQueue.objects.filter(store_id=store_id).filter(
            Q(queued_at__isnull=True) | Q(queued_at__lt=now - QUEUED_FOR)).update(queued_at=now)
        if not flagged:
            if PushQueue.objects.filter(store_id=store_id).exists():
                return  # a drain is queued and has not started: it will see this change
            try:
                with transaction.atomic():
                    PushQueue.objects.create(store_id=store_id, queued_at=now)
            except IntegrityError:
                return
        from django_q.tasks import async_task

        async_task("inventory.tasks.stock_push_task", store_id, q_options={"task_name": f"stock push {store_id}",
                                                                           "group": "stock_push"})
    except Exception:  # never fail the caller's request: the per-minute safety drain picks the rows up
        log.exception("could not queue the stock push of store %s", store_id)


def _schedule_retry(store_id: int, delay: float) -> None:
    """A one-off drain after ``delay`` seconds (the backoff of a retryable failure)."""
    from django_q.models import Schedule

    when = timezone.now() + dt.timedelta(seconds=delay)
    name = f"{RETRY_SCHEDULE_PREFIX}{store_id}"
    try:
        schedule, created = Schedule.objects.get_or_create(
            name=name, defaults=dict(func="inventory.tasks.stock_push_task", args=repr(store_id),
                                     schedule_type=Schedule.ONCE, repeats=-1, next_run=when))
        if not created and schedule.next_run and schedule.next_run > when:
            Schedule.objects.filter(pk=schedule.pk).update(next_run=when)
    except Exception:
        log.exception("could not schedule the stock push retry of store %s", store_id)


# ================================================================ what to send
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


@dataclass
class DrainReport:
    sent: int = 0
    calls: int = 0
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    deferred: int = 0
    unknown: int = 0  # of the deferred: sent in a call whose outcome is unknown (it may have landed)
    changed: list[str] = field(default_factory=list)  # "SKU: qty 5 -> 3, price 10.00 -> 9.90"
    rejections: dict[str, str] = field(default_factory=dict)  # sku -> message
    batch_ids: list[str] = field(default_factory=list)
    error: str = ""
    held_seconds: float = 0.0  # waited to gather a burst of changes into one call

    def merge_counts(self) -> dict:
        return {"sent": self.sent, "calls": self.calls, "accepted": self.accepted, "rejected": self.rejected,
                "skipped": self.skipped, "deferred": self.deferred, "outcome_unknown": self.unknown,
                "changed_on_fnac": len(self.changed)}


def _plan(store: Store, rows: list[dict]) -> tuple[list[Planned], list[Planned], list[int]]:
    """(to send, unchanged, not pushable row ids). Values are read now, after the claim: the newest ones."""
    by_product = {r["product_id"]: r for r in rows}
    products = Product.objects.filter(pk__in=[r["product_id"] for r in rows]).only(
        "id", "sku", "store_id", "stock_on_hand", "stock_reserved", "is_active", "price", "sale_price",
        "listing_state", "fnac_offer_id", "removed_on_fnac", "pushed_quantity", "pushed_price", "pushed_at",
        "fnac_quantity", "fnac_price")
    send, unchanged, skip = [], [], []
    for product in products:
        row = by_product[product.pk]
        pushable = (product.listing_state in PUSHABLE_LISTING_STATES or product.fnac_offer_id) \
            and not product.removed_on_fnac
        if not pushable:
            skip.append(row["id"])
            continue
        quantity = fnac_quantity_for(product, store) if store.sync_stock_enabled else None
        price = fnac_price_for(product, store) if store.sync_prices_enabled else None
        note = ""
        if price is not None and price_problem(price, label="FNAC price"):
            note = f"{price_problem(price, label='FNAC price')}: price not sent"
            price = None
        plan = Planned(row_id=row["id"], product_id=product.pk, sku=product.sku, quantity=quantity, price=price,
                       is_active=product.is_active,
                       previous_quantity=product.fnac_quantity if product.fnac_quantity is not None
                       else product.pushed_quantity,
                       previous_price=product.fnac_price if product.fnac_price is not None else product.pushed_price,
                       note=note)
        if quantity is None and price is None:
            skip.append(row["id"])
            continue
        same = product.pushed_at is not None and not note \
            and (quantity is None or quantity == product.pushed_quantity) \
            and (price is None or price == product.pushed_price)
        if same and not row["force"]:
            unchanged.append(plan)
        else:
            send.append(plan)
    missing = set(by_product) - {p.pk for p in products}
    skip.extend(by_product[pid]["id"] for pid in missing)
    return send, unchanged, skip


# ================================================================ claiming
def _claimable(store_id: int, now: dt.datetime, *, ignore_backoff: bool = False):
    qs = OfferChange.objects.filter(store_id=store_id, version__gt=F("done_version")).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    if not ignore_backoff:
        qs = qs.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    return qs


def claim(*, store_id: int, limit: int | None = None, ignore_backoff: bool = False) -> tuple[str, list[dict]]:
    """Claim up to ``limit`` pending rows (oldest change first) for one push. Returns (token, rows)."""
    limit = limit or max_offers()
    now = timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        # PostgreSQL: rows another drain is claiming right now are skipped, not waited for; the UPDATE checks the
        # conditions again anyway, so two drains never claim the same row (SQLite serialises writers)
        ids = list(_claimable(store_id, now, ignore_backoff=ignore_backoff).select_for_update(skip_locked=True)
                   .order_by("changed_at", "id").values_list("id", flat=True)[:limit])
        if not ids:
            return token, []
        for start in range(0, len(ids), 5000):
            _claimable(store_id, now, ignore_backoff=ignore_backoff).filter(pk__in=ids[start:start + 5000]).update(
                claim_token=token, claimed_until=now + lease(), claimed_version=F("version"),
                # a lapsed claim belonged to a drain that died mid-push: what it sent may have landed (outcome
                # unknown), so these rows are sent whatever the products' "last pushed" record says
                force=Case(When(~Q(claim_token=""), then=Value(True)), default=F("force")))
    rows = list(OfferChange.objects.filter(claim_token=token).values(
        "id", "product_id", "claimed_version", "force", "attempts"))
    return token, rows


def claim_renew(token: str) -> int:
    """The drain holding ``token`` is alive: extend its rows' lease. Rows the drain is finishing right now (locked
    by its own transaction) are skipped rather than waited for, so the heartbeat never deadlocks the drain."""
    with transaction.atomic():
        ids = list(OfferChange.objects.filter(claim_token=token).select_for_update(skip_locked=True)
                   .values_list("id", flat=True))
        if not ids:
            return 0
        return OfferChange.objects.filter(pk__in=ids, claim_token=token).update(claimed_until=timezone.now() + lease())


def _finish_rows(token: str, row_ids: list[int], *, now: dt.datetime) -> None:
    """FNAC answered for these rows: their claimed version is done (a newer change keeps the row pending)."""
    for start in range(0, len(row_ids), 5000):
        OfferChange.objects.filter(claim_token=token, pk__in=row_ids[start:start + 5000]).update(
            done_version=F("claimed_version"), claim_token="", claimed_until=None, claimed_version=None,
            attempts=0, next_attempt_at=None, last_error="", force=False, pushed_at=now)


def _release_rows(token: str, *, error: str, delay_for: Callable[[int], float]) -> float:
    """A retryable failure: the rows stay pending, retried after a backoff. Returns the delay used.

    The call may have landed (outcome unknown) or landed in part, so the product's "last pushed" record proves
    nothing about what FNAC shows now: ``force`` makes the next push send the current values whatever that
    record says."""
    rows = list(OfferChange.objects.filter(claim_token=token).values_list("attempts", flat=True)[:1])
    attempts = (rows[0] if rows else 0) + 1
    delay = delay_for(attempts)
    OfferChange.objects.filter(claim_token=token).update(
        claim_token="", claimed_until=None, claimed_version=None, attempts=F("attempts") + 1, force=True,
        next_attempt_at=timezone.now() + dt.timedelta(seconds=delay), last_error=error[:2000])
    return delay


# ================================================================ the drain
def stock_push(*, store: Store, trigger: str = "task", client=None, rec: RunRecorder | None = None,
               ignore_backoff: bool = False, sleep: Callable[[float], None] = time.sleep,
               max_rounds: int = 50) -> DrainReport:
    """Push every pending change of the store's outbox to FNAC (see the module docstring).

    Returns what was done; a drain already running for the store makes this one a no-op (the running one
    re-checks the outbox after releasing its lock, so nothing committed before is left behind).
    """
    report = DrainReport()
    PushQueue.objects.filter(store_id=store.pk).update(queued_at=None)  # changes from now on queue a new drain
    for _ in range(max_rounds):
        try:
            token = lock_acquire(store=store, name=LOCK_NAME, ttl=lease())
        except LockBusy:
            return report
        with lock_held(store=store, name=LOCK_NAME, token=token, ttl=lease()):
            _drain_locked(store, report, client=client, rec=rec, ignore_backoff=ignore_backoff, sleep=sleep)
        if report.error or not _claimable(store.pk, timezone.now(), ignore_backoff=ignore_backoff).exists():
            break
    return report


def _drain_locked(store: Store, report: DrainReport, *, client, rec, ignore_backoff, sleep) -> None:
    store = Store.objects.get(pk=store.pk)  # the flags as they are now
    if not store.is_connected or not (store.sync_stock_enabled or store.sync_prices_enabled):
        return  # rows stay pending until the store is connected / a flow switched on again
    while True:
        held = 0.0
        while held < burst_window():  # bounded, whatever the clock does
            hold = _burst_hold(store.pk, ignore_backoff=ignore_backoff)
            if hold <= 0:
                break
            sleep(hold)
            held += hold
        report.held_seconds += held
        token, rows = claim(store_id=store.pk, ignore_backoff=ignore_backoff)
        if not rows:
            return
        send, unchanged, skip = _plan(store, rows)
        now = timezone.now()
        report.skipped += len(skip) + len(unchanged)
        if unchanged:
            _record_unchanged(unchanged, now=now)
        _finish_rows(token, skip + [p.row_id for p in unchanged], now=now)
        if not send:
            continue
        if client is None:
            client = fnac_client_for(store)
        # the claim lives as long as this drain does, however long FNAC takes to answer
        with heartbeat(lambda token=token: claim_renew(token), interval=heartbeat_every(lease()),
                       name=f"claim:{store.pk}"):
            ok = _send_batch(store, token, send, report, client=client, rec=rec, sleep=sleep)
        if not ok:
            return


def _record_unchanged(plans: list[Planned], *, now: dt.datetime) -> None:
    for state in (Product.PushState.IN_SYNC, Product.PushState.HELD):
        ids = [p.product_id for p in plans if (state == Product.PushState.HELD) == (not p.is_active)]
        for start in range(0, len(ids), 5000):
            Product.objects.filter(pk__in=ids[start:start + 5000], push_state=Product.PushState.PENDING).update(
                push_state=state)


def _send_batch(store: Store, token: str, plans: list[Planned], report: DrainReport, *, client, rec, sleep) -> bool:
    """One offers_update (split by the client when FNAC refuses it whole, to isolate the offending offers), each
    batch followed with batch_status. False when the drain must stop (FNAC down, auth refused)."""
    offers = [OfferUpdate(sku=p.sku, quantity=p.quantity, price=p.price) for p in plans]
    batch = PushBatch.objects.create(store=store, run=rec.run if rec else None, offers=len(offers))
    report.calls += 1
    try:
        outcome = offers_update_isolating(client, offers)
    except (MarketplaceError, ValueError) as exc:
        message = f"{exc}" if isinstance(exc, Rejected) else f"{exc.__class__.__name__}: {exc}"
        if isinstance(exc, ValueError) or (isinstance(exc, Rejected) and not exc.retryable):
            # FNAC (or the request builder) refused the whole call: every SKU is rejected with the reason
            _apply_results(store, token, plans, {p.sku: ("ERROR", message) for p in plans}, report, batch)
            PushBatch.objects.filter(pk=batch.pk).update(status="ERROR", message=message[:2000],
                                                         finished_at=timezone.now())
            return True
        return _defer(store, token, plans, report, batch, exc,
                      unknown=len(plans) if isinstance(exc, OutcomeUnknown | BadResponse) else 0)
    report.calls += outcome.calls - 1
    by_sku = {p.sku: p for p in plans}
    if outcome.refused:
        refused = [by_sku[sku] for sku in outcome.refused]
        _apply_results(store, token, refused, {sku: ("ERROR", f"{e.code}: {e.message}" if e.code else e.message)
                                               for sku, e in outcome.refused.items()}, report, batch)
        PushBatch.objects.filter(pk=batch.pk).update(
            offers=len(refused), message=f"FNAC refused the call whole; sent again in parts: {len(refused)} offer(s) "
                                         "refused alone, the others sent in their own batches")
        batch = None
    followed: set[str] = set(outcome.refused)
    for batch_id, chunk in outcome.batches:
        if batch is None:
            batch = PushBatch.objects.create(store=store, run=rec.run if rec else None, offers=len(chunk))
        batch.batch_id = batch_id
        PushBatch.objects.filter(pk=batch.pk).update(batch_id=batch_id, offers=len(chunk))
        report.batch_ids.append(batch_id)
        chunk_plans = [by_sku[o.sku] for o in chunk]
        try:
            status = _follow(client, batch, sleep)
        except (MarketplaceError, _StillRunning) as exc:
            # this batch and the ones not followed yet may have landed: their rows stay pending, forced
            unsent = {o.sku for o in outcome.unsent}
            rest = [p for p in plans if p.sku not in followed]
            return _defer(store, token, rest, report, batch, exc,
                          unknown=sum(1 for p in rest if p.sku not in unsent))
        results = status.results_for([p.sku for p in chunk_plans])
        _apply_results(store, token, chunk_plans, {sku: ("OK" if r.ok else "ERROR", r.message)
                                                   for sku, r in results.items()}, report, batch,
                       final_status=status.status)
        followed.update(p.sku for p in chunk_plans)
        batch = None
    if outcome.error is not None:
        unsent = [by_sku[o.sku] for o in outcome.unsent]
        row = PushBatch.objects.create(store=store, run=rec.run if rec else None, offers=len(unsent))
        return _defer(store, token, unsent, report, row, outcome.error,
                      unknown=len(unsent) if isinstance(outcome.error, OutcomeUnknown | BadResponse) else 0)
    return True


def _follow(client, batch: PushBatch, sleep):
    """batch_status until final (``_StillRunning`` past the poll schedule)."""
    status = None
    for delay in poll_delays():
        sleep(delay)
        status = client.batch_status(batch.batch_id)
        batch.polls += 1
        if status.is_final:
            return status
    raise _StillRunning(f"batch {batch.batch_id} still {status.status if status else 'unknown'} after "
                        f"{batch.polls} polls")


def _defer(store: Store, token: str, plans: list[Planned], report: DrainReport, batch: PushBatch, exc: Exception,
           *, unknown: int) -> bool:
    """Unreachable, rate limited, token refused, batch not final yet or unknown: the claimed rows not answered
    for stay pending, forced (see _release_rows); a call that may have landed is UNKNOWN, not FAILED.
    ``unknown``: how many of ``plans`` were in a call that may have landed."""
    message = f"{exc}" if isinstance(exc, Rejected) else f"{exc.__class__.__name__}: {exc}"
    delay = _release_rows(token, error=message, delay_for=backoff_seconds)
    report.deferred += len(plans)
    report.unknown += unknown
    report.error = f"{message} (retry in {delay:.0f}s)"
    PushBatch.objects.filter(pk=batch.pk).update(status="UNKNOWN" if unknown else "FAILED",
                                                 message=report.error[:2000], polls=batch.polls,
                                                 finished_at=timezone.now())
    prefix = ("Push outcome unknown (it may have landed); the current values will be sent again"
              if unknown else "Push deferred")
    ids = [p.product_id for p in plans]
    for start in range(0, len(ids), 5000):
        Product.objects.filter(pk__in=ids[start:start + 5000]).update(push_message=f"{prefix}: {report.error}"[:2000])
    _schedule_retry(store.pk, delay)
    log.warning("stock push of store %s deferred: %s", store.pk, report.error)
    return False


class _StillRunning(Exception):
    retryable = True


def _apply_results(store: Store, token: str, plans: list[Planned], results: dict[str, tuple[str, str]],
                   report: DrainReport, batch: PushBatch, final_status: str = "ERROR") -> None:
    now = timezone.now()
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
    with transaction.atomic():
        by_fields: dict[tuple, list[Product]] = {}
        for product in updated:
            by_fields.setdefault(tuple(product._fields), []).append(product)
        for fields, products in by_fields.items():
            Product.objects.bulk_update(products, list(fields), batch_size=1000)
        _finish_rows(token, [p.row_id for p in plans], now=now)
        PushBatch.objects.filter(pk=batch.pk).update(status=final_status, accepted=accepted, rejected=rejected,
                                                     polls=batch.polls, finished_at=now)
    report.sent += len(plans)
    report.accepted += accepted
    report.rejected += rejected


def _show(value) -> str:
    return "?" if value is None else str(value)


# ================================================================ jobs around the drain
def stock_push_job(*, store: Store, trigger: str = "task", **kwargs) -> DrainReport:
    """The drain as a recorded job: a SyncRun only when something was sent or failed (no empty runs)."""
    if not OfferChange.objects.filter(store_id=store.pk, version__gt=F("done_version")).exists():
        PushQueue.objects.filter(store_id=store.pk).update(queued_at=None)
        return DrainReport()
    with sync_run(store=store, kind=SyncRun.Kind.STOCK_PUSH, trigger=trigger) as rec:
        report = stock_push(store=store, trigger=trigger, rec=rec, **kwargs)
        _report_to_run(rec, report)
    if not report.calls:
        SyncRun.objects.filter(pk=rec.run.pk).delete()
    return report


def _report_to_run(rec: RunRecorder, report: DrainReport) -> None:
    rec.set_total(report.sent + report.skipped + report.deferred)
    for sku, message in report.rejections.items():
        rec.issue("offer_rejected", message, reference=sku)
    rec.advance(report.sent + report.skipped, counts=report.merge_counts())
    lines = []
    if report.changed:
        shown = report.changed[:50]
        lines.append(f"Changed on FNAC ({len(report.changed)}): " + "; ".join(shown)
                     + (" ..." if len(report.changed) > len(shown) else ""))
    if report.rejections:
        lines.append(f"Rejected by FNAC: {len(report.rejections)} SKU(s), see the issues.")
    if report.error:
        lines.append(f"Deferred: {report.error}")
    rec.note("\n".join(lines) or "Nothing changed on FNAC.")
