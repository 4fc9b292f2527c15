"""The chaos run shared by ``tests/test_chaos.py`` (small, < 60 s) and ``bench/chaos.py`` (larger, prints figures).

The sandbox marketplace injects faults (429, 500, 503, slow answers, dropped connections, cut bodies, expired
tokens) on a share of the calls while many stock and price changes are made; stock pushes and order imports run
in worker processes (``python -c`` / ``manage.py sync_orders``) that are killed with SIGKILL in the middle of
their work. Then the faults stop and the product is left to converge the way it does in production: dead leases
lapse, the stale-run job closes the dead runs, an import and the push drain run, the offers reconciliation
repairs drift. What both sides hold is then compared by reading the sandbox's own state: every order exactly
once, every SKU's quantity and price equal.

Needs a database the worker processes share with this one (PostgreSQL; a file database would do too).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import connection
from django.utils import timezone

ROOT = Path(__file__).resolve().parent.parent

PUSH_WORKER = """
import django
django.setup()
from inventory.push import stock_push_job
from stores.models import Store
stock_push_job(store=Store.objects.get(pk={store_id}), trigger="chaos", ignore_backoff=True)
"""


@dataclass
class ChaosConfig:
    skus: int = 60
    orders: int = 40
    rounds: int = 4
    changes_per_round: int = 30
    fault_rate: float = 0.3
    seed: int = 9
    deadline: float = 60.0  # seconds the convergence may take before the run gives up (a failure)


@dataclass
class ChaosResult:
    skus: int = 0
    stock_changes: int = 0
    price_changes: int = 0
    orders_on_fnac: int = 0
    orders_imported: int = 0
    orders_missing: int = 0
    orders_duplicated: int = 0
    marketplace_calls: int = 0  # FNAC and Mirakl calls the sandbox received while the faults were on
    faults_injected: int = 0
    faulted_writes: int = 0  # offers_update / orders_update calls that met a fault
    kills_push: int = 0
    kills_import: int = 0
    claims_left_by_kills: int = 0  # outbox rows a killed push left claimed
    lease_takeover_seconds: float = 0.0  # longest wait, after a kill, before a live worker held the lock again
    stale_runs_closed: int = 0
    runs_left_running: int = 0
    pushes_unknown: int = 0  # offers_update calls recorded UNKNOWN (may have landed)
    drift_before_reconcile: int = 0  # SKUs whose FNAC values differed once the push had drained
    reconcile_drifted: int = 0  # what the reconciliation found (and repaired)
    drift_after_reconcile: int = 0
    drifted_skus: list[str] = field(default_factory=list)
    seconds: float = 0.0
    worker_errors: str = field(default="", repr=False)  # the end of the workers' stderr, to explain a failure

    def as_dict(self) -> dict:
        return asdict(self)


def worker_env(**extra) -> dict:
    """Environment of a worker process: this process's database and encryption keys, the chaos settings, quiet
    logs."""
    from django.conf import settings

    db = connection.settings_dict
    url = f"postgres://{db['USER']}{':' + db['PASSWORD'] if db.get('PASSWORD') else ''}@{db['HOST'] or '127.0.0.1'}" \
          f":{db['PORT'] or 5432}/{db['NAME']}"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.chaos_settings", "DATABASE_URL": url,
           "LOG_LEVEL": "ERROR", "DJANGO_DEBUG": "false",
           "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS)}
    env.pop("Q_SYNC", None)
    env.update(extra)
    return env


def expected_values(store) -> dict[str, tuple[int, Decimal | None]]:
    """What FNAC must show for each product: the sellable quantity and the mapped price, now."""
    from catalogue.models import Product
    from inventory.services import fnac_price_for, fnac_quantity_for

    return {p.sku: (fnac_quantity_for(p, store), fnac_price_for(p, store))
            for p in Product.objects.filter(store=store).order_by("id")}


def drifted(sandbox, store) -> list[str]:
    """SKUs whose quantity or price on the sandbox (its own state, not an API answer) differs from the OMS."""
    with sandbox.state.lock:
        fnac = {sku: (o.quantity, o.price) for sku, o in sandbox.state.offers.items()}
    return [sku for sku, value in expected_values(store).items() if fnac.get(sku) != value]


class _Workers:
    """Worker processes started and killed by the run."""

    def __init__(self, env: dict):
        self.env = env
        self.errors = tempfile.TemporaryFile()

    def start(self, args: list[str]) -> subprocess.Popen:
        return subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=self.errors)

    def push(self, store_id: int) -> subprocess.Popen:
        return self.start([sys.executable, "-c", PUSH_WORKER.format(store_id=store_id)])

    def orders_import(self, store_id: int) -> subprocess.Popen:
        return self.start([sys.executable, str(ROOT / "manage.py"), "sync_orders", "--store", str(store_id),
                           "--full"])

    @staticmethod
    def kill_when(proc: subprocess.Popen, busy: Callable[[], bool], rng: random.Random,
                  *, wait: float = 20.0) -> bool:
        """SIGKILL ``proc`` a random moment after ``busy()`` shows it working; False if it ended first."""
        end = time.monotonic() + wait
        while proc.poll() is None and time.monotonic() < end and not busy():
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.25))
        if proc.poll() is not None:
            return False
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return True

    def tail(self) -> str:
        self.errors.seek(0)
        return self.errors.read().decode(errors="replace")[-3000:]


def _setup(sandbox, store, cfg: ChaosConfig, rng: random.Random) -> None:
    from catalogue.models import Product
    from inventory import services

    offers = sandbox.seed_offers(cfg.skus)
    Product.objects.bulk_create([
        Product(store=store, sku=o.sku, ean=o.ean, name=o.product_name, price=Decimal(rng.choice(
            ["9.90", "19.90", "24.50", "49.00"])), stock_on_hand=rng.randint(0, 40),
            listing_state=Product.ListingState.LIVE, fnac_offer_id=o.offer_fnac_id) for o in offers])
    # (stock_on_hand 0..40 above; orders then reserve part of it)
    services.products_mark_changed(store=store, product_ids=list(
        Product.objects.filter(store=store).values_list("id", flat=True)), reason="chaos_setup")
    sandbox.seed_orders(cfg.orders, days=2)


def _changes(store, cfg: ChaosConfig, rng: random.Random, result: ChaosResult, share: float = 1.0) -> None:
    from catalogue.models import Product
    from fnac_connector.errors import InvalidInput
    from inventory import services

    skus = list(Product.objects.filter(store=store).values_list("sku", flat=True))
    items = []
    # small values, often back to where they were: the case where a lost answer and an "already there"
    # shortcut leave FNAC one unit off
    for sku in rng.sample(skus, min(max(1, int(cfg.changes_per_round * share)), len(skus))):
        items.append({"sku": sku, "quantity": rng.randint(0, 4)} if rng.random() < 0.5
                     else {"sku": sku, "delta": rng.choice([-1, 1])})
    result.stock_changes += services.stock_batch(store=store, items=items, source="chaos").applied
    for product in Product.objects.filter(store=store, sku__in=rng.sample(skus, max(1, len(skus) // 20))) \
            .select_related("store"):
        try:
            services.price_set(product=product, price=rng.choice(["9.90", "12.00", "19.90", "33.30"]),
                               source="chaos")
            result.price_changes += 1
        except InvalidInput:
            pass


def _retry_until(step: Callable[[], object], *, deadline: float, what: str):
    """Run ``step`` until it stops raising LockBusy (a dead holder's lease must lapse first)."""
    from stores.syncs import LockBusy

    end = time.monotonic() + deadline
    while True:
        try:
            return step()
        except LockBusy:
            if time.monotonic() > end:
                raise AssertionError(f"{what}: the lock was never free again (a dead holder's lease did not lapse)")
            time.sleep(0.1)


def _takeover(store, name: str, killed_at: float, *, deadline: float) -> float:
    """Seconds from a kill until another worker can take the lock the dead one held (its lease lapsed)."""
    from stores.syncs import lock_acquire, lock_release

    token = _retry_until(lambda: lock_acquire(store=store, name=name), deadline=deadline, what=f"{name} lock")
    lock_release(store=store, name=name, token=token)
    return time.monotonic() - killed_at


def _drain(store, *, deadline: float) -> None:
    """Push until the outbox is empty (dead drains' claims lapse first)."""
    from django.db.models import F

    from inventory import push
    from inventory.models import OfferChange

    end = time.monotonic() + deadline
    pending = OfferChange.objects.filter(store=store, version__gt=F("done_version"))
    while pending.exists():
        if time.monotonic() > end:
            raise AssertionError(f"the outbox did not drain: {pending.count()} rows still pending")
        push.stock_push(store=store, ignore_backoff=True)
        time.sleep(0.1)


def run_chaos(*, sandbox, store, cfg: ChaosConfig, log: Callable[[str], None] = lambda _: None) -> ChaosResult:
    """See the module docstring. ``store``: connected to ``sandbox``; the caller applies ``CHAOS_OVERRIDES``."""
    from fnac_connector.marketplace.errors import MarketplaceError
    from inventory import push
    from inventory.models import OfferChange, PushBatch
    from inventory.reconcile import offers_reconcile
    from orders.models import Order
    from orders.services import LOCK_NAME as ORDERS_LOCK
    from orders.services import SyncMode, orders_sync
    from stores.models import SyncRun
    from stores.syncs import LockBusy, runs_mark_stale

    started = time.monotonic()
    rng = random.Random(cfg.seed)
    result = ChaosResult(skus=cfg.skus)
    workers = _Workers(worker_env())
    # in this process, changes only fill the outbox: the pushes are the workers' (and, at the end, this one's)
    saved_enqueue = push._enqueue_drain
    push._enqueue_drain = lambda store_id: None
    try:
        _setup(sandbox, store, cfg, rng)
        sandbox.set_faults(cfg.fault_rate)
        first_seq = sandbox.last_seq
        last_kill = 0.0
        for round_no in range(cfg.rounds):
            _changes(store, cfg, rng, result)
            batches = PushBatch.objects.filter(store=store).count()

            def pushing(batches=batches):  # rows claimed or a batch sent: the worker is mid-push
                return OfferChange.objects.filter(store=store).exclude(claim_token="").exists() \
                    or PushBatch.objects.filter(store=store).count() > batches

            proc = workers.push(store.pk)
            if workers.kill_when(proc, pushing, rng):
                result.kills_push += 1
                last_kill = time.monotonic()
                result.claims_left_by_kills += OfferChange.objects.filter(store=store).exclude(
                    claim_token="").count()
                result.lease_takeover_seconds = max(result.lease_takeover_seconds, _takeover(
                    store, push.LOCK_NAME, last_kill, deadline=cfg.deadline))
            log(f"{time.monotonic() - started:5.1f}s round {round_no + 1}: push worker "
                f"{'killed' if proc.returncode == -9 else 'ended'}")
            if round_no % 2 == 0:
                last_run = SyncRun.objects.filter(store=store).order_by("-id").values_list("id", flat=True).first()

                def importing(last_run=last_run or 0):  # its run has read the first page: mid-import
                    return SyncRun.objects.filter(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, id__gt=last_run,
                                                  state=SyncRun.State.RUNNING, total__isnull=False).exists()

                proc = workers.orders_import(store.pk)
                if workers.kill_when(proc, importing, rng):
                    result.kills_import += 1
                    last_kill = time.monotonic()
                    result.lease_takeover_seconds = max(result.lease_takeover_seconds, _takeover(
                        store, ORDERS_LOCK, last_kill, deadline=cfg.deadline))
                log(f"{time.monotonic() - started:5.1f}s round {round_no + 1}: import worker "
                    f"{'killed' if proc.returncode == -9 else 'ended'}")
            # this process works too, through the faults (a failed step is left for the next one)
            for _ in range(3):
                push.stock_push(store=store, ignore_backoff=True)
                _changes(store, cfg, rng, result, share=0.3)
            if round_no % 2:
                try:
                    orders_sync(store=store, mode=SyncMode.MANUAL, trigger="chaos")
                except (LockBusy, MarketplaceError):
                    pass

        records = [r for r in sandbox.requests if r.seq > first_seq]
        result.marketplace_calls = sum(1 for r in records if r.api in ("fnac", "mirakl"))
        result.faults_injected = sum(1 for r in records if r.fault)
        result.faulted_writes = sum(1 for r in records if r.fault and r.service in ("offers_update", "orders_update"))
        sandbox.set_faults(0.0)
        log(f"{time.monotonic() - started:5.1f}s faults off: {result.faults_injected} injected, "
            f"{result.kills_push} push and {result.kills_import} import workers killed")

        # ---- convergence, as production does it
        def import_orders():
            return orders_sync(store=store, mode=SyncMode.FULL, trigger="chaos")

        _retry_until(import_orders, deadline=cfg.deadline, what="order import")
        _drain(store, deadline=cfg.deadline)
        result.pushes_unknown = PushBatch.objects.filter(store=store, status="UNKNOWN").count()
        before = drifted(sandbox, store)
        result.drift_before_reconcile = len(before)
        run = _retry_until(lambda: offers_reconcile(store=store, full=True, trigger="chaos"), deadline=cfg.deadline,
                           what="reconciliation")
        result.reconcile_drifted = (run.counts or {}).get("drifted", 0)
        _drain(store, deadline=cfg.deadline)
        run = offers_reconcile(store=store, full=True, trigger="chaos")
        assert (run.counts or {}).get("drifted", 0) == 0, f"the second reconciliation still found drift: {run.counts}"
        after = drifted(sandbox, store)
        result.drift_after_reconcile = len(after)
        result.drifted_skus = sorted(set(before) | set(after))[:50]

        # ---- the runs of killed workers: closed by the stale-run job once their heartbeat is old enough
        from django.conf import settings

        stale_wait = float(settings.SYNC_RUN_STALE_SECONDS) - (time.monotonic() - last_kill) + 0.5
        if last_kill and stale_wait > 0:
            time.sleep(stale_wait)
        result.stale_runs_closed = runs_mark_stale()
        result.runs_left_running = SyncRun.objects.filter(store=store, state=SyncRun.State.RUNNING).count()

        # ---- orders: exactly once each
        with sandbox.state.lock:
            on_fnac = set(sandbox.state.orders)
        ids = list(Order.objects.filter(store=store).values_list("marketplace_order_id", flat=True))
        result.orders_on_fnac = len(on_fnac)
        result.orders_imported = len(set(ids))
        result.orders_missing = len(on_fnac - set(ids))
        result.orders_duplicated = len(ids) - len(set(ids))
    finally:
        push._enqueue_drain = saved_enqueue
        sandbox.set_faults(0.0)
    result.seconds = round(time.monotonic() - started, 1)
    result.lease_takeover_seconds = round(result.lease_takeover_seconds, 1)
    log(f"done in {result.seconds} s at {timezone.now():%H:%M:%S}")
    result.worker_errors = workers.tail()
    return result
