"""Import orders from FNAC Darty for one store, now, in this process."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError
from django.utils import timezone

from orders.services import SyncMode, orders_sync
from stores.management.base import StoreCommand


def _date(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since {text!r} is not an ISO date (e.g. 2024-05-01 or 2024-05-01T08:00:00+02:00)")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class Command(StoreCommand):
    help = ("Sync the orders of a store from FNAC: by default what changed since the last sync; --since DATE reads "
            "everything updated since DATE; --full re-reads the last 90 days (every state).")

    def add_store_arguments(self, parser):
        parser.add_argument("--since", type=_date, default=None, help="ISO date: orders updated since then")
        parser.add_argument("--full", action="store_true", help="every order created in the last 90 days")
        parser.add_argument("--mode", choices=SyncMode.ALL, default=None,
                            help="new (created since the cursor) or status (updated since the cursor)")

    def handle(self, *args, **opts):
        store = self.get_store(opts, connected=True)
        mode = opts["mode"] or (SyncMode.FULL if opts["full"] else SyncMode.MANUAL)
        run = self.run_sync(lambda: orders_sync(store=store, mode=mode, since=opts["since"], trigger="command"),
                            store=store, what="order sync")
        counts = ", ".join(f"{k}={v}" for k, v in sorted(run.counts.items())) or "nothing to do"
        self.stdout.write(f"run #{run.pk} {run.state}: {run.processed} orders read; {counts}")
        if run.error_count:
            self.write_issues(run, most=20, with_code=True)
