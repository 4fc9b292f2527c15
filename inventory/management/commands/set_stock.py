"""``manage.py set_stock --store ID FILE.csv``: set (sku,quantity) or adjust (sku,delta) stock from a CSV file."""

from __future__ import annotations

import csv
import io

from django.core.management.base import CommandError

from inventory import services
from stores.management.base import StoreCommand


class Command(StoreCommand):
    help = ("Set or adjust stock on hand from a CSV file with columns sku,quantity (set) or sku,delta (adjust). "
            "Bad rows are reported with their line number; valid rows are applied and pushed to FNAC.")
    unknown_store = "unknown store id {}"

    def add_store_arguments(self, parser):
        parser.add_argument("file", help="CSV file (UTF-8; comma or semicolon separated; '-' for stdin)")

    def handle(self, *args, **opts):
        store = self.get_store(opts)
        text = self._read(opts["file"])
        try:
            dialect = csv.Sniffer().sniff(text.splitlines()[0] if text.strip() else ",", delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        reader = csv.reader(io.StringIO(text), dialect)
        rows = list(reader)
        if not rows:
            raise CommandError(f"{opts['file']}: the file is empty")
        header = [h.strip().lower().lstrip("\ufeff") for h in rows[0]]
        if "sku" not in header or not ({"quantity", "delta"} & set(header)):
            raise CommandError(f"{opts['file']} line 1: the header must be sku,quantity or sku,delta "
                               f"(got {','.join(header)})")
        if {"quantity", "delta"} <= set(header):
            raise CommandError(f"{opts['file']} line 1: give either a quantity or a delta column, not both")
        column = "quantity" if "quantity" in header else "delta"
        sku_i, value_i = header.index("sku"), header.index(column)
        items, lines = [], []
        for line_no, row in enumerate(rows[1:], start=2):
            if not any(cell.strip() for cell in row):
                continue
            cells = row + [""] * (max(sku_i, value_i) + 1 - len(row))
            items.append({"sku": cells[sku_i].strip(), column: cells[value_i].strip()})
            lines.append(line_no)
        result = services.stock_batch(store=store, items=items, source="command")
        for item in result.errors:
            self.stderr.write(f"line {lines[item.index]}: {item.sku or '(no sku)'}: {item.error}")
        verb = "set" if column == "quantity" else "adjusted"
        self.stdout.write(f"{result.applied} row(s) {verb}, {result.rejected} rejected "
                          f"(store {store.name}); changes are being pushed to FNAC.")
        if result.rejected and not result.applied:
            raise CommandError("no row was applied")

    def _read(self, name: str) -> str:
        import sys

        try:
            if name == "-":
                return sys.stdin.read()
            with open(name, encoding="utf-8-sig", newline="") as handle:
                return handle.read()
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"{name} is not UTF-8 text") from None
