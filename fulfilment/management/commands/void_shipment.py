"""Cancel a shipment FNAC has not confirmed: void it with the carrier where the carrier allows, free its lines."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from fulfilment.models import Shipment
from fulfilment.shipping import shipment_void


class Command(BaseCommand):
    help = "Cancel (void) a shipment not confirmed to FNAC; --reason is required."

    def add_arguments(self, parser):
        parser.add_argument("--shipment", type=int, required=True, help="shipment id")
        parser.add_argument("--reason", required=True)

    def handle(self, *args, **opts):
        shipment = Shipment.objects.filter(pk=opts["shipment"]).first()
        if shipment is None:
            raise CommandError(f"no shipment with id {opts['shipment']}")
        try:
            done = shipment_void(shipment=shipment, reason=opts["reason"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"shipment {done.tracking_number}: {done.last_error}")
