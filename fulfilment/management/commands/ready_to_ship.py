"""Mark orders Ready to Ship: book the shipment (or keep a typed tracking number) and confirm it to FNAC."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from fulfilment.management.commands._common import line_ids, orders_by_ids
from fulfilment.services import orders_ready_to_ship


class Command(BaseCommand):
    help = ("Ready to Ship: the order's shipment is booked with the store's carrier adapter (or --tracking is kept, "
            "self ship only) and FNAC is told the lines are Shipped. --lines ships only those lines (split shipment).")

    def add_arguments(self, parser):
        parser.add_argument("--order", type=int, action="append", required=True,
                            help="OMS order id (repeat for several orders)")
        parser.add_argument("--lines", help="comma-separated order_detail_ids to ship now (one order only)")
        parser.add_argument("--tracking", default="", help="tracking number typed from another system (self ship)")
        parser.add_argument("--carrier", default="", help="FNAC carrier code (default: order's, then store's)")
        parser.add_argument("--free-text-carrier", action="store_true",
                            help="--carrier is a carrier name FNAC does not list, sent to FNAC as typed (self ship)")

    def handle(self, *args, **opts):
        orders = orders_by_ids(opts["order"])
        lines = line_ids(opts["lines"])
        if (lines or opts["tracking"]) and len(orders) > 1:
            raise CommandError("--lines and --tracking apply to one order at a time")
        failed = []
        by_store: dict[int, list] = {}
        for order in orders:
            by_store.setdefault(order.store_id, []).append(order)
        for group in by_store.values():
            try:
                outcomes = orders_ready_to_ship(orders=group, lines=lines, tracking_number=opts["tracking"],
                                                carrier_code=opts["carrier"],
                                                carrier_free_text=opts["free_text_carrier"], trigger="command")
            except ServiceError as exc:
                raise CommandError(str(exc)) from None
            for outcome in outcomes:
                ref = outcome.order.marketplace_order_id
                if outcome.ok:
                    s = outcome.shipment
                    self.stdout.write(f"order {outcome.order.pk} ({ref}): shipped {s.carrier_code} {s.tracking_number}"
                                      f" (AWB {s.awb or '-'}), FNAC {s.fnac_state}; order {outcome.order.status}")
                else:
                    failed.append(f"order {outcome.order.pk} ({ref}): {outcome.error}")
                    self.stderr.write(failed[-1])
        if failed:
            raise CommandError(f"{len(failed)} order(s) not shipped or not confirmed by FNAC: " + " | ".join(failed))
