"""Benchmark of the real-time stock push: latency of single changes and batching of 10,000 changes.

    .venv/bin/python bench/stock_push.py [--singles 40] [--bulk 10000] [--naive 10000] [--batch-delay 2.0]
        [--batch-jitter 0.0] [--realistic-batches]

``--realistic-batches`` replays FNAC's batch timing (batches that take minutes: ``--batch-delay 180
--batch-jitter 0.5``, each batch ACTIVE, then RUNNING, then final after 90 to 270 s); the default 2 s keeps a run
short.

Starts the sandbox (``manage.py run_sandbox``) and a django-q cluster (``manage.py qcluster``) as separate
processes against a throwaway SQLite database under /tmp (or DATABASE_URL if set), then:
1. single changes, one at a time: time from the commit of ``stock_adjust`` until the sandbox has received an
   offers_update carrying the new quantity (p50/p95); reference: one direct offers_update call per change;
2. 10,000 changes made one by one (10,000 transactions, like 10,000 API calls), then the same as one
   ``stock_batch``: offers_update calls and time until every change is answered by FNAC; reference: the naive
   one-offers_update-per-SKU approach, measured on the same 10,000 SKUs.
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
    parser.add_argument("--singles", type=int, default=40)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=10_000, help="SKUs pushed the naive way (one call each)")
    parser.add_argument("--batch-delay", type=float, default=2.0, help="sandbox seconds before a batch is final")
    parser.add_argument("--batch-jitter", type=float, default=0.0,
                        help="spread of each batch's duration, a fraction of --batch-delay in [0, 1)")
    parser.add_argument("--realistic-batches", action="store_true",
                        help=f"FNAC-like batches that take minutes: --batch-delay {REALISTIC_BATCH_DELAY:g} "
                             f"--batch-jitter {REALISTIC_BATCH_JITTER:g}")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.realistic_batches:
        args.batch_delay, args.batch_jitter = REALISTIC_BATCH_DELAY, REALISTIC_BATCH_JITTER

    os.environ["Q_WORKERS"] = str(args.workers)  # for the django-q cluster started below
    with (throwaway_database("stock_push") as db_file,
          sandbox_process(batch_delay=args.batch_delay, batch_jitter=args.batch_jitter,
                          offers=args.bulk) as sandbox):
        setup_django()
        run(args, sandbox, qcluster_log=db_file.with_name(db_file.stem + ".qcluster.log"))


def run(args, sandbox, qcluster_log: Path) -> None:
    from decimal import Decimal

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
    print(f"{len(products)} products / offers; sandbox batch delay {args.batch_delay}s "
          f"(jitter ±{args.batch_jitter:.0%}); "
          f"{args.workers} django-q workers; DB {os.environ['DATABASE_URL'].split(':')[0]}")

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

    from catalogue.models import Product
    from fnac_connector.marketplace.fnac.types import OfferUpdate
    from inventory import services
    from inventory.models import OfferChange

    # ------------------------------------------------------------ 1. latency of single changes
    _, seq = offers_update_requests(base, 0)
    latencies = []
    for i in range(args.singles):
        product = products[i]
        services.stock_adjust(product=product, delta=-1, source="bench")
        t0 = time.monotonic()
        want = f"<offer_reference type=\"SellerSku\">{product.sku}</offer_reference>"
        seen = False
        while not seen and time.monotonic() - t0 < 30:
            reqs, new_seq = offers_update_requests(base, seq)
            for r in reqs:
                if want in r["body"] and f"<quantity>{product.stock_on_hand}</quantity>" in r["body"]:
                    seen = True
            seq = new_seq if seen else seq
            if not seen:
                time.sleep(0.02)
        latencies.append(time.monotonic() - t0 if seen else float("inf"))
        time.sleep(0.3)
    _wait_converged(store, OfferChange, timeout=60)

    direct = []
    for product in products[args.singles:args.singles + 20]:
        t0 = time.monotonic()
        client.offers_update([OfferUpdate(sku=product.sku, quantity=5)])
        direct.append(time.monotonic() - t0)

    # ------------------------------------------------------------ 2. 10,000 changes one by one
    bulk = products[:args.bulk]
    _, seq = offers_update_requests(base, 0)

    def one_by_one():
        for product in bulk:
            services.stock_adjust(product=product, delta=-1, source="bench")

    made_one_by_one, converge_one_by_one, calls_one_by_one, seq = _until_converged(
        one_by_one, base, store, bulk, seq)

    # ------------------------------------------------------------ 3. 10,000 changes as one batch
    made_batch, converge_batch, calls_batch, seq = _until_converged(
        lambda: services.stock_batch(store=store, items=[{"sku": p.sku, "delta": -1} for p in bulk], source="bench"),
        base, store, bulk, seq)

    # ------------------------------------------------------------ 4. naive: one offers_update per SKU
    naive = bulk[:args.naive]
    fresh = dict(Product.objects.filter(pk__in=[p.pk for p in naive]).values_list("sku", "stock_on_hand"))
    t0 = time.monotonic()
    for product in naive:
        client.offers_update([OfferUpdate(sku=product.sku, quantity=max(0, min(9999, fresh[product.sku] - 1)))])
    naive_time = time.monotonic() - t0
    naive_calls = len(naive)

    # ------------------------------------------------------------ report
    finite = [v for v in latencies if v != float("inf")]
    per_sku = naive_time * len(bulk) / len(naive)
    print()
    print_table([
        ("single change -> sandbox, p50 (s)", pct(finite, 50), statistics.median(direct)),
        ("single change -> sandbox, p95 (s)  [target < 5 s]", pct(finite, 95), pct(direct, 95)),
        f"  ({len(finite)}/{len(latencies)} seen; reference: one direct offers_update call, no queue)",
        (f"{len(bulk)} changes one by one: offers_update calls", calls_one_by_one, naive_calls),
        (f"{len(bulk)} changes one by one: converged after (s)", converge_one_by_one, per_sku),
        f"  (making the {len(bulk)} changes took {made_one_by_one:.1f}s; converged = every outbox row answered "
        "by FNAC's batch_status)",
        (f"{len(bulk)} changes in one batch: offers_update calls", calls_batch, naive_calls),
        (f"{len(bulk)} changes in one batch: converged after (s)", converge_batch, per_sku),
        f"  (making them took {made_batch:.1f}s)",
    ])
    print(f"reference = naive one offers_update per SKU: {naive_calls} calls in {naive_time:.1f}s "
          f"(sent only, no batch_status follow-up)")
    pending = OfferChange.objects.filter(store=store, version__gt=F("done_version")).count()
    print(f"outbox rows still pending at the end: {pending}")


def _until_converged(make_changes, base, store, products, seq) -> tuple[float, float, int, int]:
    """Make the changes, then wait until FNAC has answered every outbox row: the seconds to make them, the seconds
    until converged, the offers_update calls the sandbox received, and its new request sequence number."""
    from inventory.models import OfferChange

    t0 = time.monotonic()
    make_changes()
    made = time.monotonic() - t0
    _wait_converged(store, OfferChange, timeout=600)
    converged = time.monotonic() - t0
    reqs, seq = offers_update_requests(base, seq)
    check_fnac(base, products)
    return made, converged, len(reqs), seq


def _wait_converged(store, OfferChange, timeout: float) -> None:
    from django.db.models import F

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
