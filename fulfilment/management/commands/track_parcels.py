"""Ask the carriers about a store's shipped parcels now (what the periodic "Parcel tracking" job does)."""

from __future__ import annotations

from django.core.management.base import CommandError

from fulfilment.models import Shipment
from fulfilment.services import shipments_track
from stores.management.base import StoreCommand
from stores.models import SyncRun


class Command(StoreCommand):
    help = ("Check the tracking of a store's parcels confirmed to FNAC and not delivered yet (--shipment: only these, "
            "even if checked a moment ago).")

    def add_store_arguments(self, parser):
        parser.add_argument("--shipment", type=int, action="append", default=[], metavar="ID",
                            help="a shipment id (repeatable)")
        parser.add_argument("--limit", type=int, default=None, help="at most this many parcels (default: setting "
                                                                    "FULFILMENT_TRACKING_MAX_PER_RUN)")

    def handle(self, *args, **opts):
        store = self.get_store(opts)
        shipments = None
        if opts["shipment"]:
            found = {s.pk: s for s in Shipment.objects.filter(store=store, pk__in=opts["shipment"])}
            missing = [i for i in opts["shipment"] if i not in found]
            if missing:
                raise CommandError(f"no shipment {', '.join(map(str, missing))} in store {store.name!r}")
            shipments = list(found.values())
        run = self.run_sync(lambda: shipments_track(store=store, shipments=shipments, trigger="command",
                                                    limit=opts["limit"]),
                            store=store, what="tracking", kind=SyncRun.Kind.TRACKING)
        counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items())) or "nothing to do"
        self.stdout.write(f"run #{run.pk} {run.get_state_display()}: {run.total or 0} parcel(s); {counts}")
        self.write_issues(run, most=20)
        if run.state == SyncRun.State.FAILED:
            raise CommandError(run.message)
