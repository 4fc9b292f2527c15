"""``manage.py sync_stock --store ID [--sku SKU ...]``: push current quantities and prices to FNAC now."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from inventory import services
from stores.models import SyncRun


class Command(BaseCommand):
    help = ("Sync Stock: send the sellable quantity and price of every active product of a store (or of the given "
            "SKUs) to FNAC in batches, and report what changed on FNAC and what was rejected.")

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="store id")
        parser.add_argument("--sku", action="append", default=[], help="only this SKU (repeatable)")

    def handle(self, *args, **opts):
        from stores.models import Store

        store = Store.objects.filter(pk=opts["store"]).first()
        if store is None:
            raise CommandError(f"unknown store id {opts['store']}")
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
        for issue in run.issues.all()[:200]:
            self.stderr.write(f"{issue.reference}: {issue.message}")
        if run.state == SyncRun.State.FAILED:
            raise CommandError("Sync Stock failed")
