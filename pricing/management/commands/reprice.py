"""``manage.py reprice --store ID [--dry-run]``: apply the store's repricing rules to the last competitor prices."""

from __future__ import annotations

from pricing import services
from stores.management.base import StoreCommand
from stores.models import SyncRun


class Command(StoreCommand):
    help = ("Repricing: compute each product's price from its rule (the product's own, else the store's) and the "
            "last competitor reading; apply the enabled rules through the price push. --dry-run prints what every "
            "rule (applied or not) would change and changes nothing.")

    def add_store_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")

    def handle(self, *args, **opts):
        store = self.get_store(opts)
        result = self.run_sync(lambda: services.reprice(store=store, dry_run=opts["dry_run"], trigger="command"),
                               store=store, what="repricing", kind=SyncRun.Kind.REPRICE)
        label = "would change" if result.dry_run else "changed"
        for p in result.proposals:
            if p.changes or opts["verbosity"] > 1:
                new = p.new_price if p.changes else "="
                self.stdout.write(f"  {p.sku}: {p.old_price} -> {new} (lowest competitor {p.competitor_total}; "
                                  f"{p.rule_text}; {p.reason})")
        run = f" (run #{result.run.pk})" if result.run else ""
        self.stdout.write(f"Repricing{' dry-run' if result.dry_run else ''}{run}: {len(result.changed)} prices "
                          f"{label} out of {len(result.proposals)} products with a rule")
