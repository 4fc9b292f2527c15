"""Release New orders to the warehouse (RFP)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from fulfilment.management.commands._common import orders_by_ids
from fulfilment.services import order_release_to_warehouse


class Command(BaseCommand):
    help = "Release New orders to the warehouse (New -> RFP); the WMS is told when the store has one."

    def add_arguments(self, parser):
        parser.add_argument("--order", type=int, action="append", required=True, help="OMS order id (repeatable)")

    def handle(self, *args, **opts):
        failed = 0
        for order in orders_by_ids(opts["order"]):
            try:
                order_release_to_warehouse(order=order)
                self.stdout.write(f"order {order.pk} ({order.marketplace_order_id}): RFP")
            except ServiceError as exc:
                failed += 1
                self.stderr.write(str(exc))
        if failed:
            raise CommandError(f"{failed} order(s) not released")
