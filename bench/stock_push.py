"""Benchmark of the real-time stock push: latency of single changes and batching of 10,000 changes.

    .venv/bin/python bench/stock_push.py [--singles 40] [--bulk 10000] [--naive 10000] [--batch-delay 2.0]

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
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import control, free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"sandbox did not start on port {port}")


def offers_update_requests(base: str, since: int) -> tuple[list[dict], int]:
    data = control(base, f"/sandbox/requests?service=offers_update&since={since}&body=1")
    return data["requests"], data["last_seq"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * (len(values) - 1))))
    return values[k]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--singles", type=int, default=40)
    parser.add_argument("--bulk", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=10_000, help="SKUs pushed the naive way (one call each)")
    parser.add_argument("--batch-delay", type=float, default=2.0, help="sandbox seconds before a batch is final")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench_stock_push_"))
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{tmp / 'bench.sqlite3'}")
    env.update(DJANGO_SETTINGS_MODULE="fnac_connector.settings", Q_WORKERS=str(args.workers), LOG_LEVEL="WARNING",
               FIELD_ENCRYPTION_KEY=env.get("FIELD_ENCRYPTION_KEY") or "bR3m0oZ0mJ3n1pH2xQyq2bq0dQ4Yd4t4WcE3v3c6hJ8=")
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    port = free_port()
    procs: list[subprocess.Popen] = []
    python = sys.executable
    try:
        procs.append(subprocess.Popen([python, "manage.py", "run_sandbox", "--port", str(port), "--no-simulate",
                                       "--batch-delay", str(args.batch_delay), "--offers", str(args.bulk)],
                                      cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        run(args, base, env, procs, python, tmp)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()


def run(args, base, env, procs, python, tmp) -> None:
    from decimal import Decimal

    from django.db.models import F

    from catalogue.models import Product
    from fnac_connector.marketplace.fnac.types import OfferUpdate
    from inventory import services
    from inventory.models import OfferChange
    from stores.clients import fnac_client_for
    from stores.models import Store
    from stores.services import store_create

    status = control(base, "/sandbox/status")
    creds = status["credentials"]
    store = store_create(name="bench", partner_id=creds["partner_id"], shop_id=creds["shop_id"], fnac_key=creds["key"],
                         mirakl_api_key=creds["mirakl_key"], fnac_base_url=status["fnac_url"],
                         mirakl_base_url=f"{base}")
    Store.objects.filter(pk=store.pk).update(status=Store.Status.CONNECTED)  # no connect hooks: only pushes run
    store.refresh_from_db()
    client = fnac_client_for(store)
    offers = list(client.iter_offers(page_size=1000))
    Product.objects.bulk_create([Product(store=store, sku=o.offer_seller_id, price=Decimal("19.90"), stock_on_hand=100,
                                         listing_state=Product.ListingState.LIVE, fnac_offer_id=o.offer_fnac_id,
                                         pushed_quantity=o.quantity, pushed_price=o.price)
                                 for o in offers], batch_size=2000)
    products = list(Product.objects.filter(store=store).order_by("id"))
    print(f"{len(products)} products / offers; sandbox batch delay {args.batch_delay}s; "
          f"{args.workers} django-q workers; DB {env['DATABASE_URL'].split(':')[0]}")

    procs.append(subprocess.Popen([python, "manage.py", "qcluster"], cwd=ROOT, env=env,
                                  stdout=open(tmp / "qcluster.log", "w"), stderr=subprocess.STDOUT))
    time.sleep(3)  # cluster start-up

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
    t0 = time.monotonic()
    for product in bulk:
        services.stock_adjust(product=product, delta=-1, source="bench")
    made_one_by_one = time.monotonic() - t0
    _wait_converged(store, OfferChange, timeout=600)
    converge_one_by_one = time.monotonic() - t0
    reqs, seq = offers_update_requests(base, seq)
    calls_one_by_one = len(reqs)
    check_fnac(base, bulk)

    # ------------------------------------------------------------ 3. 10,000 changes as one batch
    t0 = time.monotonic()
    services.stock_batch(store=store, items=[{"sku": p.sku, "delta": -1} for p in bulk], source="bench")
    made_batch = time.monotonic() - t0
    _wait_converged(store, OfferChange, timeout=600)
    converge_batch = time.monotonic() - t0
    reqs, seq = offers_update_requests(base, seq)
    calls_batch = len(reqs)
    check_fnac(base, bulk)

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
    print()
    print(f"{'figure':58} {'value':>12} {'reference':>12} {'ratio':>8}")
    print("-" * 94)
    row("single change -> sandbox, p50 (s)", pct(finite, 50), statistics.median(direct))
    row("single change -> sandbox, p95 (s)  [target < 5 s]", pct(finite, 95), pct(direct, 95))
    print(f"  ({len(finite)}/{len(latencies)} seen; reference: one direct offers_update call, no queue)")
    row(f"{len(bulk)} changes one by one: offers_update calls", calls_one_by_one, naive_calls, fmt="d")
    row(f"{len(bulk)} changes one by one: converged after (s)", converge_one_by_one,
        naive_time * len(bulk) / len(naive))
    print(f"  (making the {len(bulk)} changes took {made_one_by_one:.1f}s; converged = every outbox row answered "
          "by FNAC's batch_status)")
    row(f"{len(bulk)} changes in one batch: offers_update calls", calls_batch, naive_calls, fmt="d")
    row(f"{len(bulk)} changes in one batch: converged after (s)", converge_batch,
        naive_time * len(bulk) / len(naive))
    print(f"  (making them took {made_batch:.1f}s)")
    print(f"reference = naive one offers_update per SKU: {naive_calls} calls in {naive_time:.1f}s "
          f"(sent only, no batch_status follow-up)")
    pending = OfferChange.objects.filter(store=store, version__gt=F("done_version")).count()
    print(f"outbox rows still pending at the end: {pending}")


def row(label, value, reference, fmt="f"):
    if fmt == "d":
        ratio = f"{value / reference:.4f}" if reference else "-"
        print(f"{label:58} {value:12d} {reference:12d} {ratio:>8}")
    else:
        ratio = f"{value / reference:.2f}" if reference else "-"
        print(f"{label:58} {value:12.3f} {reference:12.3f} {ratio:>8}")


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
