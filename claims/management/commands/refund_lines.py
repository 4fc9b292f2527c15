"""Refund lines of one order on FNAC (exactly once), with a reason; optionally put the returned items back on the
shelf."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from claims.services import RefundLineRequest, lines_refund, reason_choices
from fnac_connector.errors import ServiceError
from orders.models import Order


def _line(text: str) -> RefundLineRequest:
    """``SKU[:QTY][:returned]`` or ``#ORDER_DETAIL_ID[:QTY][:returned]``."""
    parts = text.split(":")
    head, rest = parts[0].strip(), [p.strip() for p in parts[1:]]
    returned = bool(rest) and rest[-1].lower() in ("returned", "r", "back")
    if returned:
        rest = rest[:-1]
    if len(rest) > 1 or not head:
        raise CommandError(f"--line {text!r}: use SKU[:QTY][:returned] or #ORDER_DETAIL_ID[:QTY][:returned]")
    quantity = None
    if rest:
        try:
            quantity = int(rest[0])
        except ValueError:
            raise CommandError(f"--line {text!r}: quantity {rest[0]!r} is not a whole number") from None
    if head.startswith("#"):
        if not head[1:].isdigit():
            raise CommandError(f"--line {text!r}: {head!r} is not an order_detail_id")
        return RefundLineRequest(order_detail_id=int(head[1:]), quantity=quantity, returned_to_stock=returned)
    return RefundLineRequest(sku=head, quantity=quantity, returned_to_stock=returned)


class Command(BaseCommand):
    help = ("Refund one or several lines of an order on FNAC with a reason. --line SKU:QTY (repeat it; QTY must be "
            "the line's whole quantity: FNAC refunds whole lines), add :returned when the item came back, so it goes "
            "back on the shelf. Reasons: " + ", ".join(f"{c} ({w})" for c, w in reason_choices()))

    def add_arguments(self, parser):
        parser.add_argument("--order", type=int, required=True, help="order id (this OMS's id)")
        parser.add_argument("--line", action="append", required=True, type=_line, dest="lines",
                            help="SKU[:QTY][:returned] or #ORDER_DETAIL_ID[:QTY][:returned]")
        parser.add_argument("--reason", required=True, choices=[c for c, _ in reason_choices()])
        parser.add_argument("--note", default="", help="kept with the refund")

    def handle(self, *args, **opts):
        order = Order.objects.filter(pk=opts["order"]).first()
        if order is None:
            raise CommandError(f"no order with id {opts['order']}")
        try:
            refund = lines_refund(order=order, lines=opts["lines"], reason=opts["reason"], note=opts["note"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        lines = ", ".join(f"{d['sku']} x{d['quantity']}" + (" (back to stock)" if d["returned_to_stock"] else "")
                          for d in refund.lines)
        self.stdout.write(f"refund #{refund.pk} {refund.get_state_display()} via {refund.route}: {lines}")
