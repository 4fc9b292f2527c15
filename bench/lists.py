"""Lists at volume (issue 14): the page time of the admin changelists and API lists of orders, products, stock and
sync runs with 100,000 orders and 100,000 products, for a superuser and a staff user scoped to one store.

    .venv/bin/python bench/lists.py                        # a throwaway SQLite file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h14c_bench .venv/bin/python bench/lists.py
    options: --orders 100000 --products 100000 --runs 50000 --stores 4 --repeat 12 --reuse (keep a seeded database)

Each page is fetched ``--repeat`` times through Django's test client (logged in, the whole request: middleware,
queries, template or serializer) after one warm-up; p50 and p95 are printed beside the reference measured in the
same run: the bare SQL ``SELECT`` of the same page's rows (same table, ORDER BY, LIMIT and OFFSET) through a cursor.
Target: every page p95 < 300 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time
from decimal import Decimal

from _harness import print_table, setup_django, throwaway_database

TARGET_MS = 300
STATUSES = ["awaiting_acceptance", "new", "rfp", "picked", "packed", "ready_to_ship", "shipped", "delivered",
            "cancelled"]
LASTNAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]


def ensure_postgres_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database when it does not exist yet."""
    import environ
    import psycopg

    cfg = environ.Env.db_url_config(url)
    with psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], password=cfg["PASSWORD"],
                         dbname="postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def seed(*, stores_n: int, orders_n: int, products_n: int, runs_n: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.db import connection, transaction
    from django.db.models import F
    from django.utils import timezone

    from catalogue.models import Category, Product
    from inventory.models import OfferChange
    from orders.models import Order, OrderLine
    from stores.models import Store, SyncRun

    rnd = random.Random(14)
    now = timezone.now()
    t0 = time.perf_counter()
    with transaction.atomic():
        stores = [Store.objects.create(name=f"Bench shop {i}", shop_id=f"bench-shop-{i}", status="connected",
                                       connected_at=now) for i in range(stores_n)]
        categories = Category.objects.bulk_create([Category(code=f"BC{i}", label=f"Category {i}", level=1)
                                                   for i in range(50)])
        products = Product.objects.bulk_create([Product(
            store=stores[i % stores_n], sku=f"SKU-{i:07d}", ean=f"{3_000_000_000_000 + i}", name=f"Product {i} "
            f"{rnd.choice(['phone', 'laptop', 'camera', 'book', 'game'])}", category=rnd.choice(categories),
            price=Decimal(rnd.randint(100, 99_900)) / 100, stock_on_hand=rnd.randint(0, 50), stock_reserved=0,
            listing_state=rnd.choice(["live"] * 8 + ["not_listed", "rejected"]),
            push_state=rnd.choice(["in_sync"] * 18 + ["pending", "rejected"]), is_active=rnd.random() > 0.05,
            image_url="https://img.example/p.jpg") for i in range(products_n)], batch_size=5000)
        OfferChange.objects.bulk_create([OfferChange(store_id=p.store_id, product=p, version=1,
                                                     changed_at=now - dt.timedelta(minutes=rnd.randint(1, 60)))
                                         for p in products if p.push_state == "pending"], batch_size=5000)
        SyncRun.objects.bulk_create([SyncRun(
            store=stores[i % stores_n], kind=rnd.choice(["orders_import", "orders_status", "stock_push"]),
            state=rnd.choice(["succeeded"] * 8 + ["partial", "failed"]), trigger="schedule",
            started_at=now - dt.timedelta(minutes=5 * (runs_n - i)), finished_at=now - dt.timedelta(
                minutes=5 * (runs_n - i) - 1), processed=10, total=10, counts={"created": 10})
            for i in range(runs_n)], batch_size=5000)
        SyncRun.objects.update(created_at=F("started_at"))  # auto_now_add: spread it like the runs' starts
        orders = Order.objects.bulk_create([Order(
            store=stores[i % stores_n], marketplace_order_id=f"{i:013X}", fnac_state="Created",
            status=rnd.choice(STATUSES), created_at=now - dt.timedelta(seconds=rnd.randint(0, 90 * 86400)),
            customer_firstname="Claire", customer_lastname=f"{rnd.choice(LASTNAMES)}{i % 1000}",
            total_amount=Decimal("49.90"), flagged=rnd.random() < 0.01) for i in range(orders_n)], batch_size=5000)
        OrderLine.objects.bulk_create([OrderLine(
            order=o, order_detail_id=k, sku=products[(i * 7 + k) % products_n].sku, state="Created",
            product_id=products[(i * 7 + k) % products_n].pk, price=Decimal("24.95"))
            for i, o in enumerate(orders) for k in range(1 + i % 2)], batch_size=5000)
        user_model = get_user_model()
        user_model.objects.create_superuser("bench-root", "r@example.com", "unused-pw-0123")
        staff = user_model.objects.create_user("bench-staff", "s@example.com", "unused-pw-0123", is_staff=True)
        staff.user_permissions.set(Permission.objects.filter(content_type__app_label__in=[
            "stores", "catalogue", "orders", "inventory"]))
        stores[0].users.add(staff)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"seconds": time.perf_counter() - t0, "stores": stores_n}


def pages(rows: int) -> list[tuple[str, str, str]]:
    """(list, label, URL) of every page measured. The deep page is the middle one of a list of ``rows`` rows
    (page 500 of 100,000 orders for the superuser; the staff user sees one store in four). Admin lists show 100
    rows a page, the API 50."""
    deep_admin, deep_api = max(1, rows // 200), max(1, rows // 100)
    return [
        ("orders", "admin first page", "/admin/orders/order/"),
        ("orders", "admin filtered", "/admin/orders/order/?status__exact=new"),
        ("orders", f"admin page {deep_admin}", f"/admin/orders/order/?p={deep_admin}"),
        ("orders", "admin search", "/admin/orders/order/?q=Martin12"),
        ("orders", "API first page", "/api/orders/"),
        ("orders", "API filtered", "/api/orders/?status=new"),
        ("orders", f"API page {deep_api}", f"/api/orders/?page={deep_api}"),
        ("orders", "API search", "/api/orders/?search=Martin12"),
        ("products", "admin first page", "/admin/catalogue/product/"),
        ("products", "admin filtered", "/admin/catalogue/product/?listing_state__exact=rejected"),
        ("products", f"admin page {deep_admin}", f"/admin/catalogue/product/?p={deep_admin}"),
        ("products", "admin search", "/admin/catalogue/product/?q=SKU-00123"),
        ("products", "API first page", "/api/products/"),
        ("products", "API filtered", "/api/products/?listing_state=rejected"),
        ("products", f"API page {deep_api}", f"/api/products/?page={deep_api}"),
        ("products", "API search", "/api/products/?search=SKU-00123"),
        ("stock", "admin first page", "/admin/inventory/stock/"),
        ("stock", "admin filtered", "/admin/inventory/stock/?push_state__exact=rejected"),
        ("stock", "admin push waiting", "/admin/inventory/stock/?push_waiting=1"),
        ("stock", f"admin page {deep_admin}", f"/admin/inventory/stock/?p={deep_admin}"),
        ("stock", "admin search", "/admin/inventory/stock/?q=SKU-00123"),
        ("sync runs", "admin first page", "/admin/stores/syncrun/"),
        ("sync runs", "admin filtered", "/admin/stores/syncrun/?kind__exact=orders_import&state__exact=failed"),
        ("sync runs", f"admin page {max(1, deep_admin // 2)}", f"/admin/stores/syncrun/?p={max(1, deep_admin // 2)}"),
        ("sync runs", "API first page", "/api/sync-runs/"),
        ("sync runs", "API filtered", "/api/sync-runs/?kind=orders_import&state=failed"),
        ("sync runs", f"API page {max(1, deep_api // 2)}", f"/api/sync-runs/?page={max(1, deep_api // 2)}"),
    ]


REFERENCE_SQL = {  # the same page's rows, bare: (table, ORDER BY, rows a page)
    "orders": ("orders_order", "created_at DESC, id DESC"),
    "products": ("catalogue_product", "store_id, sku"),
    "stock": ("catalogue_product", "store_id, sku"),
    "sync runs": ("stores_syncrun", "created_at DESC, id DESC"),
}


def timed(fn, repeat: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds (this process) of ``repeat`` calls, after a warm-up. The CPU time is what
    the page costs; on a shared machine the wall clock also holds the waits for a core."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return wall, cpu


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def measure(repeat: int, rows_each: int, stores: int) -> list:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    rows = []
    worst = worst_cpu = 0.0
    for who in ("bench-root", "bench-staff"):
        client = Client()
        client.force_login(get_user_model().objects.get(username=who))
        rows.append(f"-- {'superuser (all 4 stores)' if who == 'bench-root' else 'staff user (1 store of 4)'}")
        for kind, label, url in pages(rows_each // stores if who == "bench-staff" else rows_each):
            def fetch(url=url, client=client):
                response = client.get(url)
                if response.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {response.status_code}")

            table, order = REFERENCE_SQL[kind]
            size = 50 if "API" in label else 100
            number = int(label.rsplit(" ", 1)[1]) if label.split()[-2] == "page" else 1
            sql = f"SELECT * FROM {table} ORDER BY {order} LIMIT {size} OFFSET {(number - 1) * size}"

            def reference(sql=sql):
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    cursor.fetchall()

            page_ms, page_cpu = timed(fetch, repeat)
            ref_ms, ref_cpu = timed(reference, repeat)
            worst = max(worst, p95(page_ms))
            worst_cpu = max(worst_cpu, p95(page_cpu))
            rows.append((f"{kind}: {label}, p50 ms", statistics.median(page_ms), statistics.median(ref_ms)))
            rows.append((f"{kind}: {label}, p95 ms", p95(page_ms), p95(ref_ms)))
            rows.append((f"{kind}: {label}, p95 CPU ms", p95(page_cpu), p95(ref_cpu)))
    rows.append((f"worst page p95 ms, wall clock (target < {TARGET_MS})", worst, None))
    rows.append(("worst page p95 ms, CPU time of the request", worst_cpu, None))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--stores", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=12)
    parser.add_argument("--reuse", action="store_true", help="keep the database; seed only when it is empty")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        ensure_postgres_database(url)
    with throwaway_database("lists", reuse=args.reuse):
        setup_django()
        from django.core.management import call_command
        from django.db import connection

        from orders.models import Order

        seeded = None
        if not (args.reuse and Order.objects.exists()):
            if Order.objects.exists():  # a PostgreSQL database left by an earlier run: start again
                call_command("flush", interactive=False, verbosity=0)
            seeded = seed(stores_n=args.stores, orders_n=args.orders, products_n=args.products, runs_n=args.runs)
        print(f"lists benchmark ({connection.vendor}): {Order.objects.count():,} orders, "
              f"{args.products:,} products, {args.runs:,} sync runs in {args.stores} stores"
              + (f"; seeded in {seeded['seconds']:.1f} s" if seeded else "; reused"))
        # the served process's start-up: every URLconf loaded, then gc.freeze() (fnac_connector/wsgi.py), so the
        # pages are timed as gunicorn's workers serve them
        import fnac_connector.wsgi  # noqa: F401

        print_table(measure(args.repeat, min(args.orders, args.products), args.stores), value="page",
                    reference="bare SELECT")


if __name__ == "__main__":
    main()
