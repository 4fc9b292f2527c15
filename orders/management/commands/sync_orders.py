"""Import orders from FNAC Darty for one store, now, in this process."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fnac_connector.errors import ServiceError
from orders.services import SyncMode, orders_sync
from stores.models import Store, SyncRun
from stores.syncs import LockBusy


def _date(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since {text!r} is not an ISO date (e.g. 2024-05-01 or 2024-05-01T08:00:00+02:00)")
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class Command(BaseCommand):
    help = ("Sync the orders of a store from FNAC: by default what changed since the last sync; --since DATE reads "
            "everything updated since DATE; --full re-reads the last 90 days (every state).")

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="store id")
        parser.add_argument("--since", type=_date, default=None, help="ISO date: orders updated since then")
        parser.add_argument("--full", action="store_true", help="every order created in the last 90 days")
        parser.add_argument("--mode", choices=SyncMode.ALL, default=None,
                            help="new (created since the cursor) or status (updated since the cursor)")

    def handle(self, *args, **opts):
        store = Store.objects.filter(pk=opts["store"]).first()
        if store is None:
            raise CommandError(f"no store with id {opts['store']}")
        if not store.is_connected:
            raise CommandError(f"store {store.name!r} is not connected ({store.get_status_display()})")
        mode = opts["mode"] or (SyncMode.FULL if opts["full"] else SyncMode.MANUAL)
        try:
            run = orders_sync(store=store, mode=mode, since=opts["since"], trigger="command")
        except LockBusy as exc:
            raise CommandError(f"{exc}; try again when it has finished") from None
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            last = SyncRun.objects.filter(store=store).order_by("-id").first()
            raise CommandError(f"order sync failed (run #{last.pk if last else '?'}): {exc}") from None
        counts = ", ".join(f"{k}={v}" for k, v in sorted(run.counts.items())) or "nothing to do"
        self.stdout.write(f"run #{run.pk} {run.state}: {run.processed} orders read; {counts}")
        if run.error_count:
            for issue in run.issues.all()[:20]:
                self.stdout.write(f"  {issue.code} {issue.reference}: {issue.message}")
