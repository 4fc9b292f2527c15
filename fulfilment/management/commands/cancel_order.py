"""Cancel an order as the seller: refused on FNAC before acceptance, refunded (with a reason) after payment."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from fnac_connector.marketplace.fnac.types import REFUND_REASONS
from fulfilment.management.commands._common import orders_by_ids
from fulfilment.services import order_cancel_by_seller


class Command(BaseCommand):
    help = "Seller cancellation pushed to FNAC (not allowed once the order is packed or ready to ship)."

    def add_arguments(self, parser):
        parser.add_argument("--order", type=int, required=True, help="OMS order id")
        parser.add_argument("--reason", default="no_stock", choices=REFUND_REASONS, help="FNAC refund_reason")

    def handle(self, *args, **opts):
        order = orders_by_ids([opts["order"]])[0]
        try:
            order = order_cancel_by_seller(order=order, reason=opts["reason"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"order {order.pk} ({order.marketplace_order_id}): {order.status}, FNAC {order.fnac_state}")
