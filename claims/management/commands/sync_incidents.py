"""Import the buyer claims (FNAC incidents) of one store, now, in this process."""

from __future__ import annotations

from claims.services import claims_sync, refunds_resolve_pending
from stores.management.base import StoreCommand
from stores.models import SyncRun


class Command(StoreCommand):
    help = ("Import the buyer claims (FNAC incidents) of a store: what changed since the last import; --initial reads "
            "the last 90 days and every claim still open. Refunds whose outcome was unknown are then checked on FNAC.")

    def add_store_arguments(self, parser):
        parser.add_argument("--initial", action="store_true", help="the last 90 days and every open claim")

    def handle(self, *args, **opts):
        store = self.get_store(opts, connected=True)
        run = self.run_sync(lambda: claims_sync(store=store, trigger="command", initial=opts["initial"]),
                            store=store, what="claims import", kind=SyncRun.Kind.CLAIMS_IMPORT)
        settled = refunds_resolve_pending(store=store)
        counts = ", ".join(f"{k}={v}" for k, v in sorted(run.counts.items())) or "nothing to do"
        self.stdout.write(f"run #{run.pk} {run.state}: {run.processed} claims read; {counts}"
                          + (f"; {settled} refund(s) with an unknown outcome checked on FNAC" if settled else ""))
        if run.error_count:
            self.write_issues(run, most=20, with_code=True)
