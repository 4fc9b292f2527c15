"""Benchmark: importing 50,000 FNAC buyer messages (the 90-day first import), against the sandbox in its own process.

    .venv/bin/python bench/messages_import.py [--messages 50000] [--page-size 500]

Prints the time and the memory of ``messages_sync`` (fetch page by page, parse as a stream, link orders, one bulk
upsert per page, cursor) beside the simplest way to do the same work in the same run: fetch every page with the same
client into one list, then ``bulk_create`` the same Message rows into an empty table (no upsert, no order links, no
older-than check). Memory is the process's resident set (RSS, from /proc/self/statm) sampled every 20 ms: its peak
growth above the start of each phase shows whether memory stays flat (the target) or grows with the number of
messages. Target: < 60 s for 50,000 messages.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from _harness import PeakRss, bench_store, control, print_table, sandbox_process, setup_django, throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args()

    with throwaway_database("messages"), sandbox_process(seed=5) as sandbox:
        control(sandbox.base, "/sandbox/seed", {"orders": 2000, "days": 85})
        control(sandbox.base, "/sandbox/messages", {"count": args.messages, "days": 85, "unknown_order_every": 10})

        setup_django()
        from django.conf import settings
        from django.db import connection

        from fnac_connector.marketplace.fnac import messages as wire
        from inbox.models import Message
        from inbox.services import messages_sync
        from orders.services import SyncMode, orders_sync
        from stores.clients import fnac_client_for
        from stores.models import Store

        settings.INBOX_PAGE_SIZE = args.page_size
        store = bench_store("bench", sandbox, acceptance_mode=Store.AcceptanceMode.MANUAL)
        orders_sync(store=store, mode=SyncMode.FULL, trigger="bench")  # so messages link to orders

        # ------------------------------------------------------------ the connector
        with PeakRss() as mem:
            t0 = time.perf_counter()
            run = messages_sync(store=store, trigger="bench")
            seconds = time.perf_counter() - t0
        assert run.state == "succeeded", (run.state, run.message)
        n = Message.objects.filter(store=store).count()
        linked = Message.objects.filter(store=store, order__isnull=False).count()
        t0 = time.perf_counter()
        again = messages_sync(store=store, trigger="bench")
        incremental = time.perf_counter() - t0

        # ------------------------------------------------------------ the reference: fetch all, then bulk insert
        # rows of their own store (one FNAC shop is one store: the same client reads the same shop)
        ref_store = Store.objects.create(name="reference", partner_id=store.partner_id, shop_id="")
        client = fnac_client_for(store)
        with PeakRss() as ref_mem:
            t0 = time.perf_counter()
            fetched = [m for page in client.message_pages(page_size=args.page_size, date_type="UpdatedAt",
                                                          date_min=run.started_at - dt.timedelta(days=90))
                       for m in page.messages if isinstance(m, wire.Message)]
            fetch = time.perf_counter() - t0
            t0 = time.perf_counter()
            Message.objects.bulk_create([Message(
                store=ref_store, fnac_message_id=m.message_id, about=m.referer_type, referer=m.referer,
                sender=m.from_type, sender_name=m.from_name, subject=m.subject, body=m.description,
                is_read=m.state == "READ", archived=m.archived, created_at=m.created_at, fnac_updated_at=m.updated_at,
                awaiting_reply=m.from_type == "CLIENT") for m in fetched], batch_size=500)
            insert = time.perf_counter() - t0
        reference = fetch + insert

        print(f"messages import benchmark ({connection.vendor}, page size {args.page_size})")
        print(f"  messages imported: {n}  linked to an order: {linked}  sync run counts: {run.counts}")
        print_table([
            ("90-day import, seconds", seconds, reference),
            ("90-day import, messages/s", n / seconds, len(fetched) / reference),
            ("  of which fetch+parse (reference only), s", None, fetch, None),
            ("  of which plain bulk insert, s", None, insert, None),
            ("peak RSS growth during the import, MB", mem.growth, ref_mem.growth),
            ("peak RSS of the process, MB", mem.peak, ref_mem.peak, None),
            ("incremental sync, nothing new, s", incremental, None),
            f"  (read {again.processed} messages of the overlap window)",
            f"  target: 50,000 messages in < 60 s -> {'met' if seconds < 60 else 'NOT met'} ({seconds:.1f} s)",
        ], value="connector")


if __name__ == "__main__":
    main()
