"""Send again a shipment confirmation FNAC refused (after the fix) or could not receive."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from fulfilment.management.commands._common import orders_by_ids
from fulfilment.models import Shipment
from fulfilment.services import order_shipments_retry


class Command(BaseCommand):
    help = "Retry the FNAC confirmation of an order's refused or failed shipments (optionally with a new carrier)."

    def add_arguments(self, parser):
        parser.add_argument("--order", type=int, required=True, help="OMS order id")
        parser.add_argument("--carrier", default="", help="corrected FNAC carrier code")
        parser.add_argument("--free-text-carrier", action="store_true",
                            help="--carrier is a carrier name FNAC does not list, sent to FNAC as typed (self ship)")

    def handle(self, *args, **opts):
        order = orders_by_ids([opts["order"]])[0]
        try:
            shipments = order_shipments_retry(order=order, carrier_code=opts["carrier"],
                                              carrier_free_text=opts["free_text_carrier"], trigger="command")
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        order.refresh_from_db()
        for s in shipments:
            self.stdout.write(f"shipment {s.pk} {s.carrier_code} {s.tracking_number}: {s.state}")
        if any(s.state != Shipment.State.CONFIRMED for s in shipments):
            raise CommandError(f"FNAC did not confirm: {order.last_push_error}")
