"""Import the FNAC catalogue of a store now, in this process."""

from __future__ import annotations

from catalogue import services
from stores.management.base import StoreCommand


class Command(StoreCommand):
    help = ("Import a store's catalogue from FNAC: by default the offers modified since the last sync (everything "
            "on a first sync); --full re-reads every offer, the Mirakl categories, attributes and value lists, and "
            "flags the offers FNAC no longer has.")

    def add_store_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="categories + every offer + removed offers flagged")

    def handle(self, *args, **opts):
        store = self.get_store(opts, connected=True)
        run = self.run_sync(lambda: services.catalogue_sync(store=store, full=opts["full"], trigger="command"),
                            store=store, what="catalogue sync")
        self.stdout.write(f"run #{run.pk} {run.state}: {run.message}")
        self.write_issues(run, most=20, with_code=True)
        if run.error_count > 20:
            self.stdout.write(f"  ... {run.error_count - 20} more (see sync run #{run.pk})")
