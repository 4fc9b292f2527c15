"""``manage.py reconcile_offers --store ID [--full]``: compare FNAC's offers with what was pushed, repair drift."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from inventory import services
from stores.models import Store, SyncRun
from stores.syncs import LockBusy


class Command(BaseCommand):
    help = ("Offers reconciliation: read the store's offers on FNAC (modified since the last reconciliation, or "
            "every offer with --full), compare quantity and price with the values last pushed, and queue a push "
            "of the current values for every SKU that drifted.")

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="store id")
        parser.add_argument("--full", action="store_true", help="every offer, not only the recently modified ones")

    def handle(self, *args, **opts):
        store = Store.objects.filter(pk=opts["store"]).first()
        if store is None:
            raise CommandError(f"unknown store id {opts['store']}")
        try:
            run = services.offers_reconcile(store=store, full=opts["full"], trigger="command")
        except LockBusy as exc:
            raise CommandError(f"{exc}; try again when it has finished") from None
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            last = SyncRun.objects.filter(store=store, kind=SyncRun.Kind.OFFERS_RECONCILE).order_by("-id").first()
            raise CommandError(f"offers reconciliation failed (run #{last.pk if last else '?'}): {exc}") from None
        run.refresh_from_db()
        counts = run.counts or {}
        self.stdout.write(f"Offers reconciliation run #{run.pk}: {run.get_state_display()} - checked "
                          f"{counts.get('checked', 0)}, drifted {counts.get('drifted', 0)}, repaired "
                          f"{counts.get('repaired', 0)}")
        if run.message:
            self.stdout.write(run.message)
        for issue in run.issues.all()[:200]:
            self.stdout.write(f"  {issue.reference}: {issue.message}")
