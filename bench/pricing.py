"""Benchmark of competitive pricing: 10,000 live products watched (pricing_query, 10 per call) and repriced.

    .venv/bin/python bench/pricing.py [--products 10000] [--pacing 1.0]

Starts the sandbox (``manage.py run_sandbox``) in its own process with as many seeded offers as products, makes
the products live in a throwaway database (SQLite under /tmp, or DATABASE_URL), a store rule "beat the lowest by
0.01 EUR" with a floor, then:
1. one full price watch with the pacing switched off (PRICING_WATCH_PACING_SECONDS=0): the connector's own cost
   (HTTP calls to the sandbox, parsing, bulk writes); reference: the time the pacing allows for the same calls,
   calls x ``--pacing`` (the production setting, 1 s by default), i.e. how long a paced watch takes anyway;
2. repricing of every product (plan + bulk writes + one outbox record); reference: the same pacing time;
3. the dry-run of the same plan (no write).
The ratio column says what share of the paced time the connector's work takes.
"""

from __future__ import annotations

import argparse
import os
import time

from _harness import bench_store, print_table, sandbox_process, setup_django, throwaway_database

SEED = 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--pacing", type=float, default=1.0, help="the production pacing, seconds per call")
    args = parser.parse_args()
    with throwaway_database("pricing"):
        os.environ["PRICING_WATCH_PACING_SECONDS"] = "0"
        setup_django()
        from decimal import Decimal

        from django.db import connection, reset_queries
        from django.test.utils import CaptureQueriesContext

        from catalogue.models import Product
        from fnac_sandbox.seed import catalogue_item
        from inventory.models import OfferChange
        from pricing import services
        from pricing.models import Competition, RepricingRule

        with sandbox_process(seed=SEED, offers=args.products, batch_delay=0) as sandbox:
            store = bench_store("Pricing bench", sandbox)
            items = [catalogue_item(SEED, i) for i in range(1, args.products + 1)]
            Product.objects.bulk_create([
                Product(store=store, sku=it["sku"], ean=it["ean"], name=it["name"][:255], price=it["price"],
                        fnac_price=it["price"], stock_on_hand=5, listing_state=Product.ListingState.LIVE)
                for it in items], batch_size=1000)
            services.rule_save(rule=RepricingRule(store=store, enabled=True, strategy="beat_amount",
                                                  beat_by=Decimal("0.01"), floor_price=Decimal("0.90")), data={})

            reset_queries()
            with CaptureQueriesContext(connection) as watch_q:
                t0 = time.perf_counter()
                run = services.prices_watch(store=store, full=True, trigger="bench")
                watch_s = time.perf_counter() - t0
            calls = run.counts.get("calls", 0)
            paced = calls * args.pacing
            with CaptureQueriesContext(connection) as dry_q:
                t0 = time.perf_counter()
                dry = services.reprice(store=store, dry_run=True)
                dry_s = time.perf_counter() - t0
            with CaptureQueriesContext(connection) as apply_q:
                t0 = time.perf_counter()
                result = services.reprice(store=store, trigger="bench")
                apply_s = time.perf_counter() - t0

            print(f"{args.products} live products, {calls} pricing_query calls, "
                  f"{Competition.objects.filter(state='ok').count()} read, {len(result.changed)} repriced "
                  f"(dry-run said {len(dry.changed)}), {OfferChange.objects.count()} outbox rows")
            print_table([
                ("watch, seconds (pacing off)", watch_s, paced),
                ("reprice, seconds", apply_s, paced),
                ("dry-run, seconds", dry_s, paced),
                ("watch SQL queries", len(watch_q.captured_queries), None),
                ("reprice SQL queries", len(apply_q.captured_queries), None),
                ("dry-run SQL queries", len(dry_q.captured_queries), None),
                f"reference: {calls} calls x {args.pacing:g} s pacing = the time a paced watch takes anyway",
            ], value="connector", reference="paced time")


if __name__ == "__main__":
    main()
