"""Many stores, several workers (issue 14): N stores on one multi-shop sandbox, their periodic jobs run by two
``manage.py qcluster`` processes on PostgreSQL + Redis, one cluster killed with SIGKILL mid-run.

    REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/scale.py [--stores 200] [--offers 500]
        [--minutes 12] [--changes-per-minute 60] [--order-every 300] [--workers 2] [--batch-delay 2]
        [--database-url postgres://postgres@127.0.0.1:5432/NAME] [--no-kill]

What it does, through the product's public doors only (``store_create``, ``store_schedules_ensure``: the jobs a
connect creates; ``inventory.services.stock_set``; the django-q schedules; the sandbox's control API):
1. one sandbox process serving N shops (``POST /sandbox/shops``), each seeded with ``--offers`` offers; N stores
   connected to them with their products and every periodic job a connect creates (new orders every 5 minutes,
   ...), all created at once (a bulk migration; each job's first run is placed by ``first_run_after``);
2. references, same run, same machine, before the load: one store's order sync run alone, and the stock-push
   latency of single changes on an idle cluster;
3. two qclusters (``Q_WORKERS`` each) run the jobs for ``--minutes`` while the bench makes stock changes
   (``--changes-per-minute``, each a new quantity on a SKU not changed before) and the sandbox receives new orders
   (each shop one every ``--order-every`` seconds on average);
4. once the first 5-minute order syncs are under way and cluster A holds at least one store lease, cluster A's
   whole process group is killed with SIGKILL; the bench watches its leases until the other cluster holds them;
5. after the load, it waits until every change and every order has arrived, then reports: the lag of the
   5-minute order syncs behind their schedule (p50/p95/max, syncs missed), stock-push latency under load
   (p50/p95), overlapping runs per store and kind, orders missing or duplicated (database, and accept calls in
   the sandbox's request log), stock changes lost or pushed more than once (sandbox log), the takeover of the
   dead cluster's leases, runs left running.

Without ``--database-url`` (or DATABASE_URL) a throwaway PostgreSQL database ``fnac_scale_<pid>`` is created on
127.0.0.1 and dropped at the end; a given database is emptied (flush) first. REDIS_URL is required: the bench
deletes only the django-q queue of this cluster name in that Redis database.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _harness import ROOT, control, postgres_database, print_table, sandbox_process

ORDER_SKUS = 50  # the last SKUs of each shop take the orders; stock changes use the others


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--offers", type=int, default=500, help="offers per store")
    parser.add_argument("--minutes", type=float, default=12, help="minutes of load (after the references)")
    parser.add_argument("--changes-per-minute", type=float, default=60, help="stock changes, over all stores")
    parser.add_argument("--order-every", type=float, default=300, help="mean seconds between orders of one shop")
    parser.add_argument("--workers", type=int, default=2, help="Q_WORKERS of each of the two clusters")
    parser.add_argument("--batch-delay", type=float, default=2.0, help="sandbox seconds until a batch is final")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--no-kill", action="store_true", help="do not kill a cluster")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith("postgres"):
        raise SystemExit("the scale run needs PostgreSQL (--database-url postgres://...)")
    if not os.environ.get("REDIS_URL", "").startswith("redis"):
        raise SystemExit("set REDIS_URL (redis://host:port/db): the scale run uses Redis as the django-q broker")
    if args.offers <= ORDER_SKUS:
        raise SystemExit(f"--offers must be more than {ORDER_SKUS}")

    from cryptography.fernet import Fernet

    os.environ["DJANGO_SETTINGS_MODULE"] = "fnac_connector.settings"
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ["Q_WORKERS"] = str(args.workers)
    os.chdir(ROOT)
    with postgres_database(args.database_url or None, prefix="fnac_scale") as url:
        os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        if args.database_url:
            call_command("flush", interactive=False, verbosity=0)
        _empty_queue()
        with sandbox_process(batch_delay=args.batch_delay, seed=args.seed) as sandbox:
            Bench(args, sandbox).run()


def _empty_queue() -> None:
    """Delete this cluster's django-q queue in REDIS_URL's database (nothing else there)."""
    import redis
    from django_q.conf import Conf

    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(Conf.Q_STAT, Conf.CLUSTER_NAME,
                                                         f"django_q:{Conf.CLUSTER_NAME}:q")


def post_json(url: str, payload: dict, timeout: float = 30) -> dict:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


class SandboxLog:
    """The requests each shop received, read incrementally (``since``) from ``/sandbox/shops/<id>/requests``."""

    def __init__(self, base: str, shop_ids: list[str]):
        self.base, self.shop_ids = base, shop_ids
        self.seq = dict.fromkeys(shop_ids, 0)
        self.requests: dict[str, list[dict]] = defaultdict(list)

    def poll(self) -> None:
        for shop_id in self.shop_ids:
            data = control(self.base, f"/sandbox/shops/{shop_id}/requests?since={self.seq[shop_id]}&body=1&api=fnac")
            self.requests[shop_id].extend(r for r in data["requests"]
                                          if r["service"] in ("offers_update", "orders_update"))
            self.seq[shop_id] = data["last_seq"]

    def of(self, shop_id: str, service: str) -> list[dict]:
        return [r for r in self.requests[shop_id] if r["service"] == service and r["status"] == 200]


class Bench:
    def __init__(self, args, sandbox):
        self.args, self.sandbox = args, sandbox
        self.base = sandbox.base
        self.rng = random.Random(args.seed)
        self.changes: list[tuple[int, str, int, float]] = []  # (store pk, sku, quantity, committed at)
        self.orders_made: dict[str, str] = {}  # order id -> shop id
        self.stop_load = threading.Event()
        self.stop_watch = threading.Event()  # the takeover watch goes on after the load, until the report
        self.kill: dict = {}
        self.clusters: list[subprocess.Popen] = []

    # ------------------------------------------------------------------ set-up
    def setup(self) -> None:
        from django_q.models import Schedule

        from catalogue.models import Product
        from stores import hooks
        from stores.models import Store
        from stores.services import store_schedules_ensure

        t0 = time.monotonic()
        shops = post_json(f"{self.base}/sandbox/shops", {"count": self.args.stores, "offers": self.args.offers},
                          timeout=1800)["shops"]
        self.shop_ids = [s["credentials"]["shop_id"] for s in shops]
        print(f"sandbox: {len(shops)} shops x {self.args.offers} offers seeded in {time.monotonic() - t0:.0f} s",
              flush=True)
        t0 = time.monotonic()

        def connect(i: int, shop: dict) -> Store:
            from django.db import connection

            try:
                return self._store_for(i, shop)
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=4) as pool:  # fetching 500 offers per store: 4 at a time
            self.stores = list(pool.map(connect, range(1, len(shops) + 1), shops))
        self.shop_of = {store.pk: store.shop_id for store in self.stores}
        self.log = SandboxLog(self.base, self.shop_ids)
        skus = sorted(Product.objects.filter(store=self.stores[0]).values_list("sku", flat=True))
        self.order_skus, change_skus = skus[-ORDER_SKUS:], skus[:-ORDER_SKUS]
        self.change_pool = [(s.pk, sku) for s in self.stores for sku in change_skus]
        self.rng.shuffle(self.change_pool)
        print(f"connector: {len(self.stores)} stores, {Product.objects.count()} products in "
              f"{time.monotonic() - t0:.0f} s", flush=True)

        # the jobs a connect creates, for every store at once
        for store in self.stores:
            store_schedules_ensure(store=store)
        self.anchor = {int(s.args): s.next_run for s in Schedule.objects.filter(name__endswith=":orders_new")}
        spec = {s.job: s for s in hooks.schedule_specs()}
        self.interval = dt.timedelta(minutes=spec["orders_new"].minutes(self.stores[0]))
        print(f"schedules: {Schedule.objects.filter(name__startswith='store:').count()} per-store jobs "
              f"({', '.join(sorted(spec))})", flush=True)

    def _store_for(self, i: int, shop: dict):
        """Store number ``i`` on ``shop``, marked connected (no connect hooks: the bench decides what runs), with a
        product per offer of the shop."""
        from decimal import Decimal

        from catalogue.models import Product
        from stores.clients import fnac_client_for
        from stores.models import Store
        from stores.services import store_create

        creds = shop["credentials"]
        store = store_create(name=f"Scale {i:03d}", partner_id=creds["partner_id"], shop_id=creds["shop_id"],
                             fnac_key=creds["key"], mirakl_api_key=creds["mirakl_key"],
                             fnac_base_url=self.sandbox.fnac_url, mirakl_base_url=self.base,
                             carrier_adapter="sandbox")
        Store.objects.filter(pk=store.pk).update(status=Store.Status.CONNECTED)
        store.refresh_from_db()
        offers = list(fnac_client_for(store).iter_offers(page_size=1000))
        Product.objects.bulk_create([
            Product(store=store, sku=o.offer_seller_id, name=o.product_name or o.offer_seller_id,
                    price=Decimal("19.90"), stock_on_hand=100, listing_state=Product.ListingState.LIVE,
                    fnac_offer_id=o.offer_fnac_id, pushed_quantity=o.quantity, pushed_price=o.price)
            for o in offers], batch_size=2000)
        return store

    # ------------------------------------------------------------------ references
    def reference_order_sync(self) -> float:
        from orders.sync import orders_sync_task_run

        store = self.stores[-1]
        t0 = time.monotonic()
        orders_sync_task_run(store_id=store.pk, mode="new", trigger="bench")
        return time.monotonic() - t0

    def stock_change(self, *, committed: list | None = None) -> tuple[int, str, int, float] | None:
        from catalogue.models import Product
        from inventory.services import stock_set

        if not self.change_pool:
            return None
        store_pk, sku = self.change_pool.pop()
        quantity = 1000 + len(self.changes) + len(committed or [])
        product = Product.objects.get(store_id=store_pk, sku=sku)
        stock_set(product=product, quantity=quantity, source="bench")
        change = (store_pk, sku, quantity, time.time())
        (committed if committed is not None else self.changes).append(change)
        return change

    def reference_push_latency(self, n: int = 5) -> list[float]:
        """Single changes on the idle clusters, one at a time: commit -> the offers_update carrying it arrives."""
        samples: list = []
        for _ in range(n):
            store_pk, sku, quantity, at = self.stock_change(committed=samples)
            shop = self.shop_of[store_pk]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                seen = _received(self.log_for(shop), sku, quantity, at)
                if seen is not None:
                    break
                time.sleep(0.05)
            samples[-1] = seen - at if seen is not None else float("inf")
        return samples

    def log_for(self, shop_id: str) -> list[dict]:
        data = control(self.base, f"/sandbox/shops/{shop_id}/requests?service=offers_update&body=1")
        return data["requests"]

    # ------------------------------------------------------------------ clusters
    def start_clusters(self, log_dir: Path) -> None:
        for name in ("A", "B"):
            out = open(log_dir / f"scale_qcluster_{name}_{os.getpid()}.log", "w")  # noqa: SIM115 - closed by the OS
            self.clusters.append(subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, stdout=out,
                                                  stderr=subprocess.STDOUT, start_new_session=True))

    def stop_clusters(self) -> None:
        for proc in self.clusters:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGINT)
        for proc in self.clusters:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    # ------------------------------------------------------------------ load
    def order_stream(self) -> None:
        """New orders on the shops, each shop one every ``--order-every`` seconds on average (Poisson)."""
        rate = len(self.shop_ids) / self.args.order_every
        rng = random.Random(self.args.seed + 1)
        while not self.stop_load.wait(rng.expovariate(rate)):
            shop = rng.choice(self.shop_ids)
            try:
                order = post_json(f"{self.base}/sandbox/shops/{shop}/orders",
                                  {"lines": [rng.choice(self.order_skus)]})
            except OSError as exc:
                print(f"order stream: {exc}", file=sys.stderr)
                continue
            self.orders_made[order["order_id"]] = shop

    def killer(self, start_after: dt.datetime) -> None:
        """Once the first order syncs are due, SIGKILL cluster A's process group while it holds a store lease."""
        from django.db import connection
        from django.utils import timezone

        from stores.models import SyncLock

        victim = self.clusters[0]
        try:
            while not self.stop_load.is_set() and not self.stop_watch.wait(0.2):
                if timezone.now() < start_after:
                    continue
                pids = _group_pids(victim.pid)
                now = timezone.now()
                held = [(lk.store_id, lk.name, lk.holder, lk.expires_at)
                        for lk in SyncLock.objects.filter(expires_at__gt=now).exclude(holder="")
                        if _holder_pid(lk.holder) in pids]
                if not held:
                    continue
                os.killpg(victim.pid, signal.SIGKILL)
                killed_at = time.time()
                victim.wait()
                self.kill = {"at": killed_at, "held": held, "pids": pids, "taken": {}}
                print(f"killed cluster A (pids {sorted(pids)}) holding {len(held)} lease(s): "
                      f"{sorted({n for _, n, _, _ in held})}", flush=True)
                self.watch_takeover(pids)
                return
        finally:
            connection.close()

    def watch_takeover(self, dead_pids: set[int]) -> None:
        """Until the report: a dead holder's lease is taken over once its row names another holder (a live worker's
        token, or none after that worker released it)."""
        from stores.models import SyncLock

        waiting = {(store_id, name): holder for store_id, name, holder, _ in self.kill["held"]}
        while waiting and not self.stop_watch.wait(0.25):
            for lk in SyncLock.objects.filter(store_id__in={s for s, _ in waiting}).values("store_id", "name",
                                                                                          "holder"):
                key = (lk["store_id"], lk["name"])
                if key in waiting and lk["holder"] != waiting[key]:
                    self.kill["taken"][key] = time.time() - self.kill["at"]
                    del waiting[key]

    def load(self, seconds: float) -> None:
        per_change = 60 / self.args.changes_per_minute
        end = time.monotonic() + seconds
        next_change = time.monotonic()
        while time.monotonic() < end:
            if time.monotonic() >= next_change:
                self.stock_change()
                next_change += per_change
            time.sleep(max(0.0, min(next_change, end) - time.monotonic()))

    # ------------------------------------------------------------------ the run
    def run(self) -> None:
        from django.utils import timezone

        self.setup()
        ref_sync = self.reference_order_sync()
        self.start_clusters(Path("/tmp"))
        try:
            time.sleep(5)  # cluster start-up; the first per-minute drains are due ~60 s after the schedules
            ref_push = self.reference_push_latency()
            print(f"references: one store's order sync alone {ref_sync:.2f} s; idle push latency "
                  f"{', '.join(f'{v:.2f}' for v in ref_push)} s", flush=True)
            load_start = timezone.now()
            orders = threading.Thread(target=self.order_stream, daemon=True)
            orders.start()
            killer = None
            if not self.args.no_kill:
                first_due = min(self.anchor.values())
                killer = threading.Thread(target=self.killer, args=(first_due,), daemon=True)
                killer.start()
            self.load(self.args.minutes * 60)
            print(f"load done: {len(self.changes)} stock changes, {len(self.orders_made)} orders; waiting for "
                  "convergence", flush=True)
            self.stop_load.set()
            orders.join()
            converged = self.wait_converged(deadline=self.interval.total_seconds() + 180)
            self.stop_watch.set()
            if killer is not None:
                killer.join(timeout=5)
            self.stop_clusters()  # graceful: what is still "running" after this was left by the killed cluster
            self.report(load_start, timezone.now(), converged, ref_sync, ref_push)
        finally:
            self.stop_load.set()
            self.stop_watch.set()
            self.stop_clusters()

    def wait_converged(self, deadline: float) -> float | None:
        from orders.models import Order

        t0 = time.monotonic()
        while time.monotonic() - t0 < deadline:
            self.log.poll()
            pushed = sum(1 for c in self.changes if self._first_push(c) is not None)
            imported = Order.objects.filter(marketplace_order_id__in=list(self.orders_made)).count()
            if pushed == len(self.changes) and imported == len(self.orders_made):
                return time.monotonic() - t0
            time.sleep(5)
        return None

    def _first_push(self, change) -> float | None:
        store_pk, sku, quantity, at = change
        return _received(self.log.of(self.shop_of[store_pk], "offers_update"), sku, quantity, at)

    # ------------------------------------------------------------------ report
    def report(self, load_start, measured_until, converged, ref_sync, ref_push) -> None:
        from django.db.models import Count

        from orders.models import Order
        from stores.models import SyncRun
        from stores.syncs import WORKER_DIED

        self.log.poll()
        interval = self.interval.total_seconds()
        # 1. lag of the 5-minute order syncs behind their schedule
        runs = defaultdict(list)
        for store_id, started in SyncRun.objects.filter(kind=SyncRun.Kind.ORDERS_IMPORT, trigger="schedule",
                                                        started_at__isnull=False).values_list("store_id",
                                                                                              "started_at"):
            runs[store_id].append(started)
        lags, missed, due = [], 0, 0
        for store_id, anchor in self.anchor.items():
            starts = sorted(runs[store_id])
            point = anchor
            while point + self.interval <= measured_until:  # a sync due by then had a whole interval to start
                due += 1
                late = [(s - point).total_seconds() for s in starts if point <= s < point + self.interval]
                if late:
                    lags.append(min(late))
                else:
                    missed += 1
                point += self.interval
        # 2. stock-push latency under load
        latencies, lost, resent = [], 0, 0
        for change in self.changes:
            store_pk, sku, quantity, at = change
            calls = [r for r in self.log.of(self.shop_of[store_pk], "offers_update")
                     if _carries(r["body"], sku, quantity)]
            if not calls:
                lost += 1
                continue
            latencies.append(min(r["received"] for r in calls) - at)
            resent += len(calls) > 1
        # 3. runs of one store and kind overlapping (a dead worker's run ends at its last heartbeat)
        overlaps, ran = 0, 0
        by_key = defaultdict(list)
        for r in SyncRun.objects.exclude(state__in=[SyncRun.State.QUEUED, SyncRun.State.SKIPPED]).filter(
                started_at__isnull=False).values("store_id", "kind", "started_at", "finished_at", "heartbeat_at",
                                                 "message"):
            end = r["heartbeat_at"] if WORKER_DIED in (r["message"] or "") else r["finished_at"]
            by_key[(r["store_id"], r["kind"])].append((r["started_at"], end or r["heartbeat_at"]))
        for spans in by_key.values():
            spans.sort()
            ran += len(spans)
            overlaps += sum(1 for a, b in zip(spans, spans[1:], strict=False) if a[1] and a[1] > b[0])
        # 4. orders: database and the sandbox's request log
        in_db = set(Order.objects.filter(marketplace_order_id__in=list(self.orders_made))
                    .values_list("marketplace_order_id", flat=True))
        dup_rows = Order.objects.values("store_id", "marketplace_order_id").annotate(n=Count("id")).filter(
            n__gt=1).count()
        accepts = Counter()
        for shop in self.shop_ids:
            for r in self.log.of(shop, "orders_update"):
                for attrs in re.findall(r"<order\b([^>]*)>", r["body"]):
                    order_id = re.search(r'order_id="([^"]+)"', attrs)
                    if order_id and re.search(r'action="accept_(all_)?orders?"', attrs):
                        accepts[order_id.group(1)] += 1
        accepted_twice = sum(1 for n in accepts.values() if n > 1)
        left_running = SyncRun.objects.filter(state=SyncRun.State.RUNNING).count()
        died = SyncRun.objects.filter(message__contains=WORKER_DIED).count()
        left_queued = SyncRun.objects.filter(state=SyncRun.State.QUEUED).count()

        minutes = self.args.minutes
        print(f"\nscale run: {len(self.stores)} stores x {self.args.offers} offers, two qclusters x "
              f"{self.args.workers} workers, PostgreSQL + Redis, {minutes:.1f} min of load, "
              f"{len(self.changes)} stock changes, {len(self.orders_made)} orders\n")
        rows = [
            ("5-min order syncs due / started", due - missed, due),
            ("order sync start lag p50 (s) vs interval", pct(lags, 50), interval),
            ("order sync start lag p95 (s) vs interval", pct(lags, 95), interval),
            ("order sync start lag max (s) vs interval", max(lags) if lags else float("nan"), interval),
            ("order sync start lag p95 (s) vs one store's sync alone", pct(lags, 95), ref_sync),
            ("stock push latency p50 (s) vs idle", pct(latencies, 50), statistics.median(ref_push)),
            ("stock push latency p95 (s) vs idle", pct(latencies, 95), max(ref_push)),
            ("stock changes pushed / made", len(self.changes) - lost, len(self.changes)),
            ("stock changes lost", lost, None, ""),
            ("stock changes pushed more than once", resent, len(self.changes)),
            ("overlapping runs (same store + kind) / runs that ran", overlaps, ran),
            ("orders imported / made on the sandbox", len(in_db), len(self.orders_made)),
            ("orders missing", len(self.orders_made) - len(in_db), None, ""),
            ("orders duplicated in the database", dup_rows, None, ""),
            ("orders accepted on FNAC more than once", accepted_twice, len(accepts)),
            ("runs closed as 'worker died' / left running / left queued", f"{died} / {left_running} / "
                                                                          f"{left_queued}", None),
            "  (left running: runs of the killed cluster the stale-run job had not closed yet, "
            "SYNC_RUN_STALE_SECONDS after their last heartbeat)",
            ("converged after the load (s)", converged if converged is not None else "no", None),
        ]
        if self.kill:
            taken = list(self.kill["taken"].values())
            from django.conf import settings

            ttl = float(getattr(settings, "SYNC_LOCK_TTL_SECONDS", 60))
            expired = [(exp.timestamp() - self.kill["at"]) for _, _, _, exp in self.kill["held"]]
            rows += [
                ("cluster A killed: leases it held / taken over by B", len(taken), len(self.kill["held"])),
                ("its leases expired after the kill, max (s) vs TTL", max(expired), ttl),
                ("lease takeover after the kill, max (s) vs TTL", max(taken) if taken else "-", ttl),
                ("lease takeover after the kill, median (s) vs TTL", statistics.median(taken) if taken else "-",
                 ttl),
            ]
        elif not self.args.no_kill:
            rows.append("cluster A was never seen holding a lease: not killed")
        if self.kill:
            rows.append("  (a lease is taken over when its store's job next runs: after the TTL, at the next schedule "
                        "or wake-up of that job; a lease whose store had no more work is not taken before the end)")
        print_table(rows, reference="of / ref")
        ok = (lost == 0 and overlaps == 0 and len(in_db) == len(self.orders_made) and dup_rows == 0
              and accepted_twice == 0 and converged is not None)
        print("\nresult:", "OK (nothing lost, nothing done twice at once)" if ok else "FAILED")
        if not ok:
            raise SystemExit(1)


def _carries(body: str, sku: str, quantity: int) -> bool:
    """An offers_update body carries ``sku`` with ``quantity`` (the offer element that names it)."""
    for offer in re.findall(r"<offer>(.*?)</offer>", body, flags=re.S):
        if f">{sku}</offer_reference>" in offer and f"<quantity>{quantity}</quantity>" in offer:
            return True
    return False


def _received(requests: list[dict], sku: str, quantity: int, since: float) -> float | None:
    times = [r["received"] for r in requests if r["status"] == 200 and r["received"] >= since - 1
             and _carries(r["body"], sku, quantity)]
    return min(times) if times else None


def _holder_pid(holder: str) -> int | None:
    """``host:pid:token`` (stores.syncs.HOLDER) -> pid."""
    parts = holder.split(":")
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def _group_pids(pgid: int) -> set[int]:
    """The processes of a process group (a qcluster and its sentinel, workers, monitor, pusher)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:  # field 5 of stat: pgrp
            pids.add(int(entry.name))
    return pids


if __name__ == "__main__":
    main()
