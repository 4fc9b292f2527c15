"""``manage.py sync_stock --store ID [--sku SKU ...]``: push current quantities and prices to FNAC now."""

from __future__ import annotations

from django.core.management.base import CommandError

from fnac_connector.errors import ServiceError
from inventory import services
from stores.management.base import StoreCommand
from stores.models import SyncRun


class Command(StoreCommand):
    help = ("Sync Stock: send the sellable quantity and price of every active product of a store (or of the given "
            "SKUs) to FNAC in batches, and report what changed on FNAC and what was rejected.")
    unknown_store = "unknown store id {}"

    def add_store_arguments(self, parser):
        parser.add_argument("--sku", action="append", default=[], help="only this SKU (repeatable)")

    def handle(self, *args, **opts):
        store = self.get_store(opts)
        try:
            run = services.stock_sync(store=store, skus=opts["sku"] or None, trigger="command")
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        run.refresh_from_db()
        counts = run.counts or {}
        self.stdout.write(f"Sync Stock run #{run.pk}: {run.get_state_display()} - sent {counts.get('sent', 0)} in "
                          f"{counts.get('calls', 0)} call(s), accepted {counts.get('accepted', 0)}, rejected "
                          f"{counts.get('rejected', 0)}, unchanged/skipped {counts.get('skipped', 0)}, changed on FNAC "
                          f"{counts.get('changed_on_fnac', 0)}")
        if run.message:
            self.stdout.write(run.message)
        self.write_issues(run, most=200, stream=self.stderr, indent="")
        if run.state == SyncRun.State.FAILED:
            raise CommandError("Sync Stock failed")
