"""``manage.py watch_prices --store ID [--sku SKU ...]``: read competitor prices now (pricing_query)."""

from __future__ import annotations

from pricing import services
from stores.management.base import StoreCommand
from stores.models import SyncRun


class Command(StoreCommand):
    help = ("Competitor price watch: read FNAC's pricing_query for every live product of the store (by EAN, else "
            "by FNAC product id; 10 per call, paced by PRICING_WATCH_PACING_SECONDS), or only the SKUs given, and "
            "record where each offer stands. References FNAC refused are skipped until their back-off ends (unless "
            "named with --sku).")

    def add_store_arguments(self, parser):
        parser.add_argument("--sku", nargs="+", default=None, help="only these SKUs")

    def handle(self, *args, **opts):
        store = self.get_store(opts, connected=True)
        run = self.run_sync(lambda: services.prices_watch(store=store, skus=opts["sku"], full=True,
                                                          trigger="command"),
                            store=store, what="price watch", kind=SyncRun.Kind.PRICE_WATCH)
        run.refresh_from_db()
        counts = run.counts or {}
        self.stdout.write(f"Price watch run #{run.pk}: {run.get_state_display()} - read {counts.get('read', 0)}, "
                          f"unknown/invalid references {counts.get('invalid_ean', 0)}, "
                          f"not read {counts.get('failed', 0)}, calls {counts.get('calls', 0)}")
        if run.message:
            self.stdout.write(run.message)
        self.write_issues(run, most=200)
