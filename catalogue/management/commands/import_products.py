"""Create or update products of a store from an .xlsx file (the template of a category), then list them."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from catalogue import services
from fnac_connector.errors import ServiceError
from stores.management.base import StoreCommand


class Command(StoreCommand):
    help = ("Validate every row of FILE.xlsx and apply the valid ones (bad rows are reported, never block the "
            "others); --dry-run only validates.")

    def add_store_arguments(self, parser):
        parser.add_argument("file", help="the .xlsx file (download a template per category first)")
        parser.add_argument("--category", default="", help="category code for rows without one")
        parser.add_argument("--dry-run", action="store_true", help="validate only, change nothing")

    def handle(self, *args, **opts):
        store = self.get_store(opts)
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        try:
            with transaction.atomic():
                upload = services.upload_validate(store=store, content=path.read_bytes(), filename=path.name,
                                         category_code=opts["category"])
                self.stdout.write(f"upload #{upload.pk}: {upload.total_rows} rows, {upload.valid_rows} valid, "
                                  f"{upload.rejected_rows} rejected")
                for number, errors in list(upload.errors.items())[:50]:
                    self.stdout.write(f"  row {number}: " + "; ".join(f"{k}: {v}" for k, v in errors.items()))
                if len(upload.errors) > 50:
                    self.stdout.write(f"  ... {len(upload.errors) - 50} more rejected rows")
                if opts["dry_run"]:
                    upload.file.delete(save=False)
                    transaction.set_rollback(True)
                    self.stdout.write("dry run: nothing changed")
                    return
                upload = services.upload_apply(upload=upload, trigger="command")
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        counts = ", ".join(f"{k}={v}" for k, v in sorted(upload.counts.items()))
        listing = f"; listing run #{upload.run_id} queued" if upload.run_id else (
            "; not listed (store not connected)" if not store.is_connected else "")
        self.stdout.write(f"applied: {counts}{listing}")
