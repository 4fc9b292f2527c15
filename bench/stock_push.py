"""Benchmark of the real-time stock push (pipelined, issue 14): how fast a single change is sent, how few calls a
flood of changes takes, and how soon FNAC's batch_status answers every change, with FNAC-like slow batches.

    .venv/bin/python bench/stock_push.py [--batch-delays 60,2] [--singles 20] [--single-gap 2] [--bulk 10000]
        [--bulk-seconds 60] [--naive 500] [--batch-jitter 0.0] [--realistic-batches] [--workers 2]

Starts the sandbox (``manage.py run_sandbox``) and a django-q cluster (``manage.py qcluster``) as separate
processes against a throwaway SQLite database under /tmp (or DATABASE_URL if set), then, for each sandbox batch
delay of ``--batch-delays`` (seconds a batch stays ACTIVE/RUNNING before it is final; set on the running sandbox
with ``POST /sandbox/batches``):
1. single changes, one every ``--single-gap`` seconds: time from the commit of ``stock_adjust`` until the sandbox
   has received an offers_update carrying the new quantity (p50/p95; target < 1 s whatever the batch delay), and
   until FNAC's batch_status answer is applied to the product (convergence, target < batch delay + 10 s);
2. ``--bulk`` changes made one by one (that many transactions, like that many API calls), spread evenly over
   ``--bulk-seconds`` (60): offers_update calls (target <= 10 for 10,000 over a minute) and time until every
   change is answered;
3. the same changes as one ``stock_batch``.
Reference, measured in the same run: one direct offers_update call per change (no queue, no follow-up), its
latency, and the naive one-call-per-SKU approach (``--naive`` calls, extrapolated to ``--bulk``).
``--realistic-batches`` replays FNAC's batch timing (``--batch-delays 180 --batch-jitter 0.5``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _harness import ROOT, bench_store, control, print_table, sandbox_process, setup_django, stop, throwaway_database


def offers_update_requests(base: str, since: int) -> tuple[list[dict], int]:
    data = control(base, f"/sandbox/requests?service=offers_update&since={since}&body=1")
    return data["requests"], data["last_seq"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


# FNAC's batches take minutes (issue 12; FNAC publishes no figure): 3 minutes, each batch from 1.5 to 4.5
REALISTIC_BATCH_DELAY = 180.0
REALISTIC_BATCH_JITTER = 0.5


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-delays", default="60,2",
                        help="sandbox seconds before a batch is final, one run per value (comma separated)")
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--single-gap", type=float, default=2.0, help="seconds between two single changes")
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--bulk-seconds", type=float, default=60,
                        help="spread the --bulk changes made one by one over this many seconds (0: flat out)")
    parser.add_argument("--naive", type=int, default=500, help="SKUs pushed the naive way (one call each)")
    parser.add_argument("--batch-jitter", type=float, default=0.0,
                        help="spread of each batch's duration, a fraction of the batch delay in [0, 1)")
    parser.add_argument("--realistic-batches", action="store_true",
                        help=f"FNAC-like batches that take minutes: --batch-delays {REALISTIC_BATCH_DELAY:g} "
                             f"--batch-jitter {REALISTIC_BATCH_JITTER:g}")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.realistic_batches:
        args.batch_delays, args.batch_jitter = f"{REALISTIC_BATCH_DELAY:g}", REALISTIC_BATCH_JITTER
    args.delays = [float(d) for d in str(args.batch_delays).split(",") if d.strip()]

    os.environ["Q_WORKERS"] = str(args.workers)  # for the django-q cluster started below
    offers = args.bulk + args.singles * len(args.delays) + 21
    with (throwaway_database("stock_push") as db_file,
          sandbox_process(batch_delay=args.delays[0], batch_jitter=args.batch_jitter, offers=offers) as sandbox):
        setup_django()
        run(args, sandbox, qcluster_log=db_file.with_name(db_file.stem + ".qcluster.log"))


def run(args, sandbox, qcluster_log: Path) -> None:
    from decimal import Decimal

    from django.conf import settings

    from catalogue.models import Product
    from stores.clients import fnac_client_for

    store = bench_store("bench", sandbox)  # no connect hooks: only pushes run
    client = fnac_client_for(store)
    offers = list(client.iter_offers(page_size=1000))
    Product.objects.bulk_create([Product(store=store, sku=o.offer_seller_id, price=Decimal("19.90"), stock_on_hand=100,
                                         listing_state=Product.ListingState.LIVE, fnac_offer_id=o.offer_fnac_id,
                                         pushed_quantity=o.quantity, pushed_price=o.price)
                                 for o in offers], batch_size=2000)
    products = list(Product.objects.filter(store=store).order_by("id"))
    print(f"{len(products)} products / offers; sandbox batch delays {args.delays} s "
          f"(jitter ±{args.batch_jitter:.0%}); {args.workers} django-q workers; "
          f"DB {os.environ['DATABASE_URL'].split(':')[0]}; at most {settings.INVENTORY_PUSH_MAX_IN_FLIGHT} batches "
          f"in flight per store")

    with open(qcluster_log, "w") as log:
        qcluster = subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, stdout=log,
                                    stderr=subprocess.STDOUT)
        try:
            time.sleep(3)  # cluster start-up
            measure(args, sandbox.base, store, client, products)
        finally:
            stop(qcluster)


def measure(args, base, store, client, products) -> None:
    from django.db.models import F

    from fnac_connector.marketplace.fnac.types import OfferUpdate
    from inventory.models import OfferChange

    # ------------------------------------------------------------ reference: direct calls, no queue
    direct = []
    for product in products[-21:-1]:
        t0 = time.monotonic()
        client.offers_update([OfferUpdate(sku=product.sku, quantity=5)])
        direct.append(time.monotonic() - t0)
    bulk = products[:args.bulk]
    naive = products[:args.naive]
    t0 = time.monotonic()
    for product in naive:
        client.offers_update([OfferUpdate(sku=product.sku, quantity=100)])
    naive_time = time.monotonic() - t0
    per_bulk = naive_time * len(bulk) / max(1, len(naive))
    singles_pool = products[args.bulk:]
    # warm-up: the cluster has started and drained one change before anything is timed
    services_adjust(products[-1])
    _wait_converged(store, timeout=120)

    rows: list = []
    for n, delay in enumerate(args.delays):
        control(base, "/sandbox/batches", {"delay": delay, "jitter": args.batch_jitter})
        label = f"[batch {delay:g} s]"
        # ---------------------------------------------------------------- 1. single changes
        singles = singles_pool[n * args.singles:(n + 1) * args.singles]
        sent, answered = _singles(args, base, store, singles)
        finite = [v for v in sent if v != float("inf")]
        rows += [
            (f"{label} single change -> offers_update sent, p50 (s)", pct(finite, 50), statistics.median(direct)),
            (f"{label} single change -> offers_update sent, p95 (s)  [target < 1]", pct(finite, 95),
             pct(direct, 95)),
            (f"{label} single change -> answered by batch_status, p95 (s)  [target < {delay + 10:g}]",
             pct(answered, 95), delay),
            f"  ({len(finite)}/{len(sent)} sent seen; answered: {len(answered)}/{len(singles)}; the convergence "
            f"reference is the sandbox's batch delay itself)",
        ]
        # ---------------------------------------------------------------- 2. many changes one by one
        _, seq = offers_update_requests(base, 0)

        def one_by_one():
            start, pace = time.monotonic(), args.bulk_seconds / max(1, len(bulk))
            for i, product in enumerate(bulk):
                services_adjust(product)
                ahead = start + (i + 1) * pace - time.monotonic()
                if ahead > 0:  # spread over --bulk-seconds (as fast as it goes when the machine is slower)
                    time.sleep(ahead)

        made, converged, after_last, calls, seq = _until_converged(one_by_one, base, store, bulk, seq)
        rows += [
            (f"{label} {len(bulk)} changes one by one: offers_update calls  [target <= 10]", calls, len(bulk)),
            (f"{label} {len(bulk)} changes one by one: answered after the last change (s)", after_last, per_bulk),
            f"  (making the {len(bulk)} changes took {made:.1f}s, all answered {converged:.1f}s after the first; "
            f"reference: naive one call per SKU, sent only)",
        ]
        # ---------------------------------------------------------------- 3. the same changes as one batch
        from inventory import services

        made_b, converged_b, after_b, calls_b, seq = _until_converged(
            lambda: services.stock_batch(store=store, items=[{"sku": p.sku, "delta": -1} for p in bulk],
                                         source="bench"), base, store, bulk, seq)
        rows += [
            (f"{label} {len(bulk)} changes in one batch: offers_update calls", calls_b, len(bulk)),
            (f"{label} {len(bulk)} changes in one batch: answered after the change (s)", after_b, per_bulk),
        ]
    print()
    print_table(rows)
    print(f"reference: one direct offers_update call (no queue, no follow-up): p50 {statistics.median(direct):.3f}s; "
          f"naive one call per SKU: {len(naive)} calls in {naive_time:.1f}s, {per_bulk:.0f}s for {len(bulk)}")
    pending = OfferChange.objects.filter(store=store, version__gt=F("done_version")).count()
    print(f"outbox rows still pending at the end: {pending}")


def services_adjust(product) -> None:
    from inventory import services

    services.stock_adjust(product=product, delta=-1, source="bench")


def _singles(args, base, store, singles) -> tuple[list[float], list[float]]:
    """Seconds from each change's commit until its offers_update was received, and until it was answered."""
    from django.utils import timezone

    from catalogue.models import Product
    from inventory import services

    _, seq = offers_update_requests(base, 0)
    sent, committed = [], {}
    for product in singles:
        services.stock_adjust(product=product, delta=-1, source="bench")
        t0, committed[product.pk] = time.monotonic(), timezone.now()
        want = f"<offer_reference type=\"SellerSku\">{product.sku}</offer_reference>"
        seen = False
        while not seen and time.monotonic() - t0 < 120:
            reqs, new_seq = offers_update_requests(base, seq)
            seen = any(want in r["body"] and f"<quantity>{product.stock_on_hand}</quantity>" in r["body"]
                       for r in reqs)
            if seen:
                seq = new_seq
            else:
                time.sleep(0.02)
        sent.append(time.monotonic() - t0 if seen else float("inf"))
        time.sleep(max(0.0, args.single_gap - (time.monotonic() - t0)))
    _wait_converged(store, timeout=600)
    answered = [(p.pushed_at - committed[p.pk]).total_seconds()
                for p in Product.objects.filter(pk__in=list(committed)) if p.pushed_at]
    return sent, answered


def _until_converged(make_changes, base, store, products, seq) -> tuple[float, float, float, int, int]:
    """Make the changes, then wait until FNAC has answered every outbox row: the seconds to make them, until
    converged (from the first change, and from the last), the offers_update calls the sandbox received, and its
    new request sequence number."""
    t0 = time.monotonic()
    make_changes()
    made = time.monotonic() - t0
    _wait_converged(store, timeout=900)
    converged = time.monotonic() - t0
    reqs, seq = offers_update_requests(base, seq)
    check_fnac(base, products)
    return made, converged, converged - made, len(reqs), seq


def _wait_converged(store, timeout: float) -> None:
    from django.db.models import F

    from inventory.models import OfferChange

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not OfferChange.objects.filter(store=store, version__gt=F("done_version")).exists():
            return
        time.sleep(0.1)
    raise SystemExit("the outbox did not converge in time")
def check_fnac(base: str, products) -> None:
    """Spot-check that the sandbox holds the newest quantities (after the batch is applied)."""
    from catalogue.models import Product
    from inventory.services import fnac_quantity_for

    store = products[0].store
    sample = Product.objects.filter(pk__in=[p.pk for p in products[:: max(1, len(products) // 20)]])
    client_state = {}
    from stores.clients import fnac_client_for

    for offer in fnac_client_for(store).iter_offers(page_size=1000):
        client_state[offer.offer_seller_id] = offer.quantity
    wrong = [p.sku for p in sample if client_state.get(p.sku) != fnac_quantity_for(p, store)]
    if wrong:
        print(f"WARNING: {len(wrong)} sampled SKUs differ on FNAC: {wrong[:5]}")


if __name__ == "__main__":
    main()
