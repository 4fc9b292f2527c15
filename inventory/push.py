"""Draining the stock/price outbox to FNAC: claim, coalesce, send in batches of 10,000, record.

Pipelined (issue 14): the drain sends and goes on; it never waits for FNAC's batch time. An accepted batch is
"in flight" until the follow-up (``inventory.follow``: a ticker and a short pass per store) reads its final
batch_status and applies the results per SKU, never letting an older batch overwrite a newer one. At most
``INVENTORY_PUSH_MAX_IN_FLIGHT`` batches per store are in flight; when FNAC answers 429/503 (after the client's
own retries) the store's sending and polling pause (``PushQueue.backoff_until``). ``stock_push`` called directly
(Sync Stock, the command, tests) also follows its batches to the end before it returns.

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
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Min, Q, Sum, Value, When
from django.utils import timezone

from catalogue.models import Product
from catalogue.rules import fnac_price_for, fnac_quantity_for, price_problem
from fnac_connector.marketplace.errors import (
    BadResponse,
    MarketplaceError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    Unavailable,
)
from fnac_connector.marketplace.fnac.client import offers_update_isolating
from fnac_connector.marketplace.fnac.limits import MAX_OFFERS_PER_UPDATE
from fnac_connector.marketplace.fnac.types import OfferUpdate
from inventory import follow
from inventory.follow import DrainReport, Planned, backoff_seconds, poll_delay
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


def burst_threshold() -> int:
    return int(_setting("INVENTORY_PUSH_BURST_THRESHOLD", 100))


def burst_window() -> float:
    return float(_setting("INVENTORY_PUSH_BURST_WINDOW_SECONDS", 15))


def burst_quiet() -> float:
    return float(_setting("INVENTORY_PUSH_BURST_QUIET_SECONDS", 2))


def spray_min() -> int:
    return int(_setting("INVENTORY_PUSH_BURST_SPRAY_MIN", 2))


def _burst_hold(store_id: int, *, ignore_backoff: bool, just_sent: bool = False) -> float:
    """Seconds to wait before claiming, so that changes still arriving in bulk travel together.

    A few changes (a single stock movement, one every few seconds) go at once: that is the latency path. When
    more than ``burst_threshold`` products are pending, or changed within the last ``burst_window`` seconds
    (sent already or not: with batches in flight the drain is free again at once, so the pending count alone
    stays small in a stream of changes), but fewer than a full call are pending AND changes are still arriving
    (the newest is younger than ``burst_quiet``), the drain waits, at most until the oldest pending change is
    ``burst_window`` old: 10,000 changes made over a minute then take a handful of offers_update calls, while a
    batch made in one go (nothing new arriving) is sent as soon as it is quiet.

    The head of a flood: in its first second fewer than ``burst_threshold`` changes exist yet, so the first call
    goes at once (the latency path), but with batches in flight the drain is free again within milliseconds and
    would spray the rest of that second in calls of ten offers each (bench/stock_push.py counted 7 to 17 such
    calls, one per round trip, whatever the threshold). So when this drain ``just_sent`` a call (less than a second
    ago) and more than ``spray_min`` (2) changes have come since, it is a stream, and the same hold applies. A
    single change, or one order's few lines, finds no call just sent (each starts a drain of its own) and goes at
    once.
    """
    window = burst_window()
    if window <= 0 or ignore_backoff:
        return 0.0
    now = timezone.now()
    pending = _claimable(store_id, now)
    count = pending[: max_offers()].count()
    if count == 0 or count >= max_offers():
        return 0.0
    if count <= burst_threshold() and not (just_sent and count > spray_min()):
        recent = OfferChange.objects.filter(store_id=store_id, changed_at__gte=now - dt.timedelta(seconds=window))
        if recent[: burst_threshold() + 1].count() <= burst_threshold():
            return 0.0
    ages = pending.aggregate(oldest=Min("changed_at"), newest=Max("changed_at"))
    if ages["oldest"] is None or (now - ages["newest"]).total_seconds() >= burst_quiet():
        return 0.0
    return max(0.0, min(1.0, window - (now - ages["oldest"]).total_seconds()))


__all__ = ["DrainReport", "Planned", "backoff_seconds", "poll_delay"]


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
def _plan(store: Store, rows: list[dict]) -> tuple[list[Planned], list[Planned], list[int]]:
    """(to send, unchanged, not pushable row ids). Values are read now, after the claim: the newest ones."""
    by_product = {r["product_id"]: r for r in rows}
    # a row with a batch still in flight is sent even when its values equal the last answered ones: the batch in
    # flight carries other values (FNAC may end up with those)
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
                       note=note, version=row["claimed_version"])
        if quantity is None and price is None:
            skip.append(row["id"])
            continue
        same = product.pushed_at is not None and not note \
            and (quantity is None or quantity == product.pushed_quantity) \
            and (price is None or price == product.pushed_price)
        if same and not row["force"] and not row["in_flight"]:
            unchanged.append(plan)
        else:
            send.append(plan)
    missing = set(by_product) - {p.pk for p in products}
    skip.extend(by_product[pid]["id"] for pid in missing)
    return send, unchanged, skip


# ================================================================ claiming
def _claimable(store_id: int, now: dt.datetime, *, ignore_backoff: bool = False):
    qs = OfferChange.objects.filter(store_id=store_id, version__gt=F("sent_version")).filter(
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
        "id", "product_id", "claimed_version", "force", "attempts", "in_flight"))
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
            done_version=F("claimed_version"), sent_version=F("claimed_version"), claim_token="", claimed_until=None,
            claimed_version=None,
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
               max_rounds: int = 50, follow_batches: bool = True) -> DrainReport:
    """Push every pending change of the store's outbox to FNAC (see the module docstring).

    ``follow_batches``: also follow every batch of the store in flight to its final status before returning
    (Sync Stock, the command, tests); the queued drain task passes False and leaves that to the follow-up.
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
            _drain_locked(store, report, client=client, rec=rec, ignore_backoff=ignore_backoff, sleep=sleep,
                          wake_follow=not follow_batches)
        if follow_batches:  # also the batches sent before a failure
            _follow_to_the_end(store, report, client=client, sleep=sleep)
        if report.error or not _claimable(store.pk, timezone.now(), ignore_backoff=ignore_backoff).exists():
            break
        if not follow_batches and report.waited_for_room:
            break  # the follow-up queues a drain when a batch is answered
    if not follow_batches:
        report.in_flight = PushBatch.objects.filter(batch_id__in=report.batch_ids, finished_at__isnull=True).aggregate(
            offers=Sum("offers"))["offers"] or 0
    return report


def _follow_to_the_end(store: Store, report: DrainReport, *, client, sleep) -> None:
    """Synchronous follow-up: poll the store's batches in flight until each is final (the ramp of
    ``INVENTORY_BATCH_POLL``, then its last step, at most ``INVENTORY_BATCH_FOLLOW_SECONDS``). A batch_status
    that fails, or a batch not final by then, gives the batches still in flight up as UNKNOWN: their rows are
    sent again, forced."""
    waited, polls = 0.0, 0
    passed = follow.FollowReport(drain=report)
    while follow.in_flight(store.pk).exists():
        if waited >= follow.follow_seconds():
            _give_up(store, report, f"still not final after {waited:.0f} s")
            return
        delay = poll_delay(polls)
        sleep(delay)
        waited, polls = waited + delay, polls + 1
        if client is None:
            client = fnac_client_for(store)
        passed.error = ""
        follow.follow_pass(store=store, client=client, due_only=False, ignore_backoff=True, report=passed,
                           to_run=False)
        if passed.error:
            _give_up(store, report, passed.error)
            return


def _give_up(store: Store, report: DrainReport, reason: str) -> None:
    for batch in follow.in_flight(store.pk).defer("items").order_by("id"):
        follow.apply_final(batch=batch, report=report, to_run=False,
                           unknown_reason=f"batch {batch.batch_id} not followed to its end: {reason}")
    delay = backoff_seconds(1)
    report.error = f"{reason} (retry in {delay:.0f}s)"
    _schedule_retry(store.pk, delay)
    log.warning("stock push of store %s: batches given up as unknown: %s", store.pk, reason)


def _drain_locked(store: Store, report: DrainReport, *, client, rec, ignore_backoff, sleep,
                  wake_follow: bool = True) -> None:
    """Send until nothing is left to claim, the in-flight bound is reached or FNAC says "not now".
    ``wake_follow``: wake the follow-up ticker for the batches sent (False: the caller follows them itself)."""
    store = Store.objects.get(pk=store.pk)  # the flags as they are now
    if not store.is_connected or not (store.sync_stock_enabled or store.sync_prices_enabled):
        return  # rows stay pending until the store is connected / a flow switched on again
    last_sent = None  # time.monotonic() of this drain's last call (the head of a flood, see _burst_hold)
    while True:
        until = None if ignore_backoff else follow.backoff_until(store.pk)
        if until is not None:  # FNAC said "not now": come back when the pause ends
            _schedule_retry(store.pk, max(0.0, (until - timezone.now()).total_seconds()))
            return
        if follow.in_flight_count(store.pk) >= follow.max_in_flight():
            report.waited_for_room = True  # the follow-up queues a drain once a batch is answered
            return
        held = 0.0
        just_sent = last_sent is not None and time.monotonic() - last_sent < 1.0
        while held < burst_window():  # bounded, whatever the clock does
            hold = _burst_hold(store.pk, ignore_backoff=ignore_backoff, just_sent=just_sent)
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
            ok = _send_batch(store, token, send, report, client=client, rec=rec, wake_follow=wake_follow)
        last_sent = time.monotonic()
        if not ok:
            return


def _record_unchanged(plans: list[Planned], *, now: dt.datetime) -> None:
    for state in (Product.PushState.IN_SYNC, Product.PushState.HELD):
        ids = [p.product_id for p in plans if (state == Product.PushState.HELD) == (not p.is_active)]
        for start in range(0, len(ids), 5000):
            Product.objects.filter(pk__in=ids[start:start + 5000], push_state=Product.PushState.PENDING).update(
                push_state=state)


def _send_batch(store: Store, token: str, plans: list[Planned], report: DrainReport, *, client, rec,
                wake_follow: bool = True) -> bool:
    """One offers_update (split by the client when FNAC refuses it whole, to isolate the offending offers); each
    accepted batch is recorded in flight for the follow-up. False when the drain must stop (FNAC down, rate
    limited, auth refused)."""
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
                                         "refused alone, the others sent in their own batches",
            finished_at=timezone.now(), status="ERROR")
        batch = None
    for batch_id, chunk in outcome.batches:
        if batch is None:
            batch = PushBatch.objects.create(store=store, run=rec.run if rec else None, offers=len(chunk))
        follow.record_sent(batch=batch, batch_id=batch_id, token=token, plans=[by_sku[o.sku] for o in chunk])
        report.batch_ids.append(batch_id)
        report.sent += len(chunk)
        batch = None
    if outcome.batches and wake_follow:
        follow.follow_soon()
    if outcome.error is not None:
        unsent = [by_sku[o.sku] for o in outcome.unsent]
        row = PushBatch.objects.create(store=store, run=rec.run if rec else None, offers=len(unsent))
        return _defer(store, token, unsent, report, row, outcome.error,
                      unknown=len(unsent) if isinstance(outcome.error, OutcomeUnknown | BadResponse) else 0)
    return True


def _defer(store: Store, token: str, plans: list[Planned], report: DrainReport, batch: PushBatch, exc: Exception,
           *, unknown: int) -> bool:
    """Unreachable, rate limited, token refused or unknown: the claimed rows not answered for stay pending,
    forced (see _release_rows); a call that may have landed is UNKNOWN, not FAILED. 429/503 (FNAC's "not now")
    also pause the store's sending and polling (``follow.backoff_start``).
    ``unknown``: how many of ``plans`` were in a call that may have landed."""
    message = f"{exc}" if isinstance(exc, Rejected) else f"{exc.__class__.__name__}: {exc}"
    delay = _release_rows(token, error=message, delay_for=backoff_seconds)
    if isinstance(exc, RateLimited | Unavailable) and not isinstance(exc, OutcomeUnknown):
        delay = max(delay, follow.backoff_start(store.pk, exc))
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


def _apply_results(store: Store, token: str, plans: list[Planned], results: dict[str, tuple[str, str]],
                   report: DrainReport, batch: PushBatch, final_status: str = "ERROR") -> None:
    """Results known at once (FNAC refused the call): on the products, and the claimed rows done."""
    now = timezone.now()
    with transaction.atomic():
        accepted, rejected = follow._apply_products(plans, results, report, now=now)
        _finish_rows(token, [p.row_id for p in plans], now=now)
        PushBatch.objects.filter(pk=batch.pk).update(status=final_status, accepted=accepted, rejected=rejected,
                                                     polls=batch.polls, finished_at=now)
    report.sent += len(plans)
    report.accepted += accepted
    report.rejected += rejected


# ================================================================ jobs around the drain
def stock_push_job(*, store: Store, trigger: str = "task", **kwargs) -> DrainReport:
    """The drain as a recorded job: a SyncRun only when something was sent or failed (no empty runs)."""
    if not OfferChange.objects.filter(store_id=store.pk, version__gt=F("sent_version")).exists():
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
