"""``manage.py sync_order_comments --store ID [--since ISO]``: the order comments import (sync_messages --comments)."""

from __future__ import annotations

from inbox.management.commands.sync_messages import Command as SyncMessages


class Command(SyncMessages):
    help = "Import the order comments (buyers' ratings and comments) of one store from FNAC."

    def add_arguments(self, parser):
        super().add_arguments(parser)

    def handle(self, *args, **options):
        options["comments"] = True
        return super().handle(*args, **options)
