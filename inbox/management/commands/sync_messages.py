"""``manage.py sync_messages --store ID [--since ISO] [--comments]``: import a store's FNAC messages (or order
comments) now, in this process, and print the run's counts."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from inbox.services import comments_sync, messages_sync
from stores.models import Store
from stores.syncs import LockBusy


class Command(BaseCommand):
    help = "Import the buyer messages (or, with --comments, the order comments) of one store from FNAC."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="Store id")
        parser.add_argument("--since", help="ISO date-time: read what FNAC changed since then (default: the cursor, "
                                            "or 90 days back on the first run)")
        parser.add_argument("--comments", action="store_true", help="Import order comments instead of messages")

    def handle(self, *args, **options):
        store = Store.objects.filter(pk=options["store"]).first()
        if store is None:
            raise CommandError(f"No store with id {options['store']}.")
        if not store.is_connected:
            raise CommandError(f"Store {store.name!r} is not connected (status: {store.get_status_display()}).")
        since = None
        if options["since"]:
            try:
                since = dt.datetime.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(f"--since {options['since']!r} is not an ISO date-time "
                                   "(e.g. 2024-05-01T00:00:00+02:00)") from None
        sync = comments_sync if options["comments"] else messages_sync
        try:
            run = sync(store=store, since=since, trigger="command")
        except LockBusy as exc:
            raise CommandError(f"Skipped: {exc}") from None
        except Exception as exc:
            raise CommandError(f"Import failed: {exc}") from exc
        self.stdout.write(f"Run #{run.pk} {run.get_state_display()}: {run.processed} read, counts {run.counts}"
                          + (f", {run.error_count} issue(s)" if run.error_count else ""))
