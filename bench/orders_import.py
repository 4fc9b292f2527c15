"""Benchmark: the 90-day order import and an incremental sync, against the sandbox in its own process.

    .venv/bin/python bench/orders_import.py [--orders 20000] [--page-size 500]

Prints orders/s of ``orders_sync`` (mode full: fetch, parse, validate, upsert orders and lines, audit rows,
status mapping, promotion) beside the simplest way to do the same work in the same run: fetch the same pages
with the same client and ``bulk_create`` the same Order and OrderLine rows into an empty table (no upsert, no
audit, no status rules); and the time of an incremental sync with nothing new.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

from _harness import bench_store, control, print_table, sandbox_process, setup_django, throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()

    with throwaway_database("orders"), sandbox_process(seed=3) as sandbox:
        control(sandbox.base, "/sandbox/seed", {"orders": args.orders, "days": 85})

        setup_django()
        from django.conf import settings
        from django.db import connection

        from orders.models import Order, OrderLine
        from orders.services import SyncMode, orders_sync
        from stores.clients import fnac_client_for
        from stores.models import Store

        settings.ORDERS_PAGE_SIZE = args.page_size

        def make(name):
            return bench_store(name, sandbox, acceptance_mode=Store.AcceptanceMode.MANUAL)

        # ------------------------------------------------------------ the connector
        store = make("bench")
        t0 = time.perf_counter()
        run = orders_sync(store=store, mode=SyncMode.FULL, trigger="bench")
        full = time.perf_counter() - t0
        n_orders = Order.objects.filter(store=store).count()
        n_lines = OrderLine.objects.filter(order__store=store).count()
        assert run.state == "succeeded", (run.state, run.message)

        t0 = time.perf_counter()
        run2 = orders_sync(store=store, mode=SyncMode.NEW, trigger="bench")
        incremental = time.perf_counter() - t0
        t0 = time.perf_counter()
        orders_sync(store=store, mode=SyncMode.STATUS, trigger="bench")
        incremental_status = time.perf_counter() - t0

        # ------------------------------------------------------------ the reference: fetch + plain bulk insert
        ref_store = make("reference")
        client = fnac_client_for(ref_store)
        t0 = time.perf_counter()
        fetched = [o for o in client.iter_orders(page_size=args.page_size, date_type="CreatedAt",
                                                 since=run.started_at - __import__("datetime").timedelta(days=90),
                                                 sort="DESC")
                   if hasattr(o, "lines")]
        fetch = time.perf_counter() - t0
        t0 = time.perf_counter()
        rows = Order.objects.bulk_create([
            Order(store=ref_store, marketplace_order_id=o.order_id, fnac_state=o.state, status="new",
                  created_at=o.created_at, fnac_updated_at=o.updated_at, customer_firstname=o.client_firstname,
                  customer_lastname=o.client_lastname, customer_email=o.client_email, fees=o.fees,
                  raw_xml=o.raw_xml) for o in fetched], batch_size=500)
        OrderLine.objects.bulk_create([
            OrderLine(order=row, order_detail_id=li.order_detail_id, sku=li.offer_seller_id,
                      quantity=li.quantity, price=li.price, fees=li.fees,
                      shipping_price=li.shipping_price or Decimal("0"), state=li.state)
            for row, o in zip(rows, fetched, strict=True) for li in o.lines], batch_size=1000)
        insert = time.perf_counter() - t0
        reference = fetch + insert

        print(f"orders import benchmark ({connection.vendor}, page size {args.page_size})")
        print(f"  orders imported: {n_orders}  lines: {n_lines}  sync run counts: {run.counts}")
        print_table([
            ("90-day import, seconds", full, reference),
            ("90-day import, orders/s", n_orders / full, n_orders / reference),
            ("  of which fetch+parse (reference only), s", None, fetch, None),
            ("  of which plain bulk insert, s", None, insert, None),
            ("incremental new-orders sync, nothing new, s", incremental, None),
            f"  (read {run2.processed} overlapping orders)",
            ("incremental status sync, nothing new, s", incremental_status, None),
        ], value="connector")


if __name__ == "__main__":
    main()
