"""Catalogue import benchmark: offers imported per second from the sandbox (10k and 100k offers), peak memory,
and beside them a plain bulk insert of the same rows into the same database in the same run.

    .venv/bin/python bench/catalogue_import.py [--sizes 10000,100000] [--excel-rows 10000] [--keep]

It also measures the bulk Excel upload: a file of ``--excel-rows`` new products validated, applied and listed on
the sandbox (one offers_update, followed to its final batch_status), beside the reference of reading the same
file with openpyxl and writing the same rows with one plain bulk_create.

The sandbox runs in a separate process (``manage.py run_sandbox``) so it does not share this process's GIL; the
database is a throwaway SQLite file under /tmp (or DATABASE_URL if set). Memory is the peak resident set size
growth during the import, sampled every 20 ms (flat memory = about the same for 10k and 100k).
"""

from __future__ import annotations

import argparse
import os
import time

from _harness import PeakRss, bench_store, control, print_table, sandbox_process, setup_django, throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--excel-rows", type=int, default=10_000, help="0 skips the Excel measurement")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite file")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with throwaway_database("catalogue", keep=args.keep), sandbox_process(batch_delay=0, import_delay=0) as sandbox:
        setup_django()
        from django.db import connection

        from catalogue.imports import catalogue_sync
        from catalogue.models import Product
        from stores.clients import fnac_client_for
        from stores.models import Store

        rows = []
        seeded = 0
        for n in sizes:
            control(sandbox.base, "/sandbox/seed", {"offers": n - seeded})
            seeded = n
            store = bench_store(f"bench {n}", sandbox)
            with PeakRss() as mem:
                t0 = time.perf_counter()
                run = catalogue_sync(store=store, full=False, trigger="bench")
                import_s = time.perf_counter() - t0
            assert run.processed == n and Product.objects.filter(store=store).count() == n, run.message

            # the reference: the same rows, already in memory, written with one plain bulk_create
            client = fnac_client_for(store)
            offers = list(client.iter_offers(page_size=1000))
            client.close()
            ref_store = Store.objects.create(name=f"bench ref {n}", partner_id="x", shop_id="x")
            plain = [Product(store=ref_store, sku=o.offer_seller_id, ean=o.ean, name=o.product_name[:255],
                             description=o.description, image_url=o.image, condition=o.product_state or "11",
                             fnac_product_id=o.product_fnac_id, fnac_offer_id=o.offer_fnac_id,
                             product_url=o.product_url, price=o.price, stock_on_hand=o.quantity or 0,
                             fnac_price=o.price, fnac_quantity=o.quantity) for o in offers]
            del offers
            t0 = time.perf_counter()
            Product.objects.bulk_create(plain, batch_size=1000)
            ref_s = time.perf_counter() - t0
            del plain

            # a second import of the same catalogue (every row an update): the periodic refresh's worst case
            t0 = time.perf_counter()
            catalogue_sync(store=store, full=True, trigger="bench")
            reimport_s = time.perf_counter() - t0
            rows += [(f"{n} offers: import, s", import_s, None),
                     (f"{n} offers: import, SKUs/s (reference: plain bulk_create)", n / import_s, n / ref_s),
                     (f"{n} offers: re-import (every row an update), SKUs/s", n / reimport_s, None),
                     (f"{n} offers: peak RSS growth, MB", mem.growth, None)]
        print(f"\ncatalogue import benchmark ({connection.vendor}, {os.cpu_count()} CPUs, sandbox in another process)")
        print_table(rows + [
            "ratio = import rate / plain bulk_create rate (the import also fetches and parses the XML over HTTP, "
            "detects duplicates and keeps the OMS's price and stock).",
            "target: 100,000 offers in under 60 s with flat memory."])
        if args.excel_rows:
            excel_benchmark(args.excel_rows, sandbox)


def _ean13(n: int) -> str:
    body = f"3760{n:08d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def excel_benchmark(n: int, sandbox) -> None:
    """n new products from one .xlsx: validated, applied, listed on FNAC (tasks run inline here)."""
    import io

    import openpyxl
    from django_q.conf import Conf

    from catalogue.excel import upload_apply, upload_validate
    from catalogue.imports import categories_sync
    from catalogue.models import Product
    from stores.models import Store

    Conf.SYNC = True  # the listing task runs in this process, so the figure includes FNAC's batch
    store = bench_store("bench excel", sandbox)
    categories_sync(store=store, trigger="bench")
    header = ["sku", "ean", "title", "brand", "category", "condition", "price", "quantity", "description", "images",
              "connection"]
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("products")
    ws.append(header)
    for i in range(1, n + 1):
        ws.append([f"XL-{i}", _ean13(i), f"Souris sans fil {i}", "Logitech", "INFO_SOURIS", "11", 19.9, 5,
                   "Souris", "https://img.invalid/a.jpg", "Bluetooth"])
    buffer = io.BytesIO()
    wb.save(buffer)
    content = buffer.getvalue()

    t0 = time.perf_counter()
    upload = upload_validate(store=store, content=content, filename="bench.xlsx")
    validate_s = time.perf_counter() - t0
    upload = upload_apply(upload=upload, trigger="bench")
    total_s = time.perf_counter() - t0
    live = Product.objects.filter(store=store, listing_state=Product.ListingState.LIVE).count()
    assert upload.valid_rows == n and live == n, (upload.valid_rows, upload.rejected_rows, live)

    ref_store = Store.objects.create(name="bench excel ref", partner_id="x", shop_id="x")
    t0 = time.perf_counter()
    rows = list(openpyxl.load_workbook(io.BytesIO(content), read_only=True)["products"].iter_rows(
        min_row=2, values_only=True))
    Product.objects.bulk_create([Product(store=ref_store, sku=r[0], ean=r[1], name=r[2], brand=r[3], price=r[6],
                                         stock_on_hand=r[7]) for r in rows], batch_size=1000)
    ref_s = time.perf_counter() - t0
    print(f"\nExcel upload of {n} new products (target: validated, applied and listed live in < 30 s)")
    print_table([("validated, s", validate_s, None),
                 ("validated + applied + listed live on the sandbox, s", total_s, ref_s, None),
                 ("validated + applied + listed live, products/s", n / total_s, n / ref_s),
                 "reference: openpyxl read + plain bulk_create of the same rows"])


if __name__ == "__main__":
    main()
