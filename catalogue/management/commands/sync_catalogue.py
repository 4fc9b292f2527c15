"""Import the FNAC catalogue of a store now, in this process."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from catalogue import services
from fnac_connector.errors import ServiceError
from stores.models import Store, SyncRun
from stores.syncs import LockBusy


class Command(BaseCommand):
    help = ("Import a store's catalogue from FNAC: by default the offers modified since the last sync (everything "
            "on a first sync); --full re-reads every offer, the Mirakl categories, attributes and value lists, and "
            "flags the offers FNAC no longer has.")

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="store id")
        parser.add_argument("--full", action="store_true", help="categories + every offer + removed offers flagged")

    def handle(self, *args, **opts):
        store = Store.objects.filter(pk=opts["store"]).first()
        if store is None:
            raise CommandError(f"no store with id {opts['store']}")
        if not store.is_connected:
            raise CommandError(f"store {store.name!r} is not connected ({store.get_status_display()})")
        try:
            run = services.catalogue_sync(store=store, full=opts["full"], trigger="command")
        except LockBusy as exc:
            raise CommandError(f"{exc}; try again when it has finished") from None
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            last = SyncRun.objects.filter(store=store).order_by("-id").first()
            raise CommandError(f"catalogue sync failed (run #{last.pk if last else '?'}): {exc}") from None
        self.stdout.write(f"run #{run.pk} {run.state}: {run.message}")
        for issue in run.issues.all()[:20]:
            self.stdout.write(f"  {issue.code} {issue.reference}: {issue.message}")
        if run.error_count > 20:
            self.stdout.write(f"  ... {run.error_count - 20} more (see sync run #{run.pk})")
