"""``manage.py reconcile_offers --store ID [--full]``: compare FNAC's offers with what was pushed, repair drift."""

from __future__ import annotations

from inventory import services
from stores.management.base import StoreCommand
from stores.models import SyncRun


class Command(StoreCommand):
    help = ("Offers reconciliation: read the store's offers on FNAC (modified since the last reconciliation, or "
            "every offer with --full), compare quantity and price with the values last pushed, and queue a push "
            "of the current values for every SKU that drifted.")
    unknown_store = "unknown store id {}"

    def add_store_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="every offer, not only the recently modified ones")

    def handle(self, *args, **opts):
        store = self.get_store(opts)
        run = self.run_sync(lambda: services.offers_reconcile(store=store, full=opts["full"], trigger="command"),
                            store=store, what="offers reconciliation", kind=SyncRun.Kind.OFFERS_RECONCILE)
        run.refresh_from_db()
        counts = run.counts or {}
        self.stdout.write(f"Offers reconciliation run #{run.pk}: {run.get_state_display()} - checked "
                          f"{counts.get('checked', 0)}, drifted {counts.get('drifted', 0)}, repaired "
                          f"{counts.get('repaired', 0)}")
        if run.message:
            self.stdout.write(run.message)
        self.write_issues(run, most=200)
