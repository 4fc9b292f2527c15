"""Stock reserved by orders: reserve when an order is to ship, release on cancellation, consume at shipment.

The order lines are locked (``select_for_update``) and say what they hold (``reserved_quantity``); the units
themselves are moved by inventory's product-level functions (``inventory.reservations``), which never
reserve the same unit twice and record the change in the inventory outbox in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from inventory.reservations import stock_consume, stock_release, stock_reserve
from orders.models import OrderLine


def _locked_lines(order, lines: Iterable | None = None):
    qs = OrderLine.objects.select_for_update().filter(order_id=order.pk).order_by("order_detail_id")
    if lines is not None:
        qs = qs.filter(pk__in=[getattr(line, "pk", line) for line in lines])
    return list(qs)


def order_reserve(*, order) -> bool:
    """Reserve what each matched line still needs from ``stock_on_hand - stock_reserved``.

    A line is reserved whole or not at all (a conditional update per line). Lines already reserved keep
    their reservation. True when every line is covered (an unmatched line never is).
    """
    covered = True
    with transaction.atomic():
        needs = []
        by_pk = {}
        for line in _locked_lines(order):
            if line.product_id is None or line.unmatched:
                covered = False
                continue
            need = line.quantity - line.reserved_quantity
            if need > 0:
                needs.append((line.pk, line.product_id, need))
                by_pk[line.pk] = line
        got = stock_reserve(store_id=order.store_id, needs=needs, reason="order_reserved")
        for pk, line in by_pk.items():
            if pk in got:
                OrderLine.objects.filter(pk=pk).update(reserved_quantity=line.quantity)
                line.reserved_quantity = line.quantity
            else:
                covered = False
    return covered


def _take_held(order, lines=None) -> dict[int, int]:
    """Zero the reservations of the (locked) lines; returns what they held per product."""
    per_product: dict[int, int] = defaultdict(int)
    line_ids = []
    for line in _locked_lines(order, lines):
        if line.reserved_quantity and line.product_id:
            per_product[line.product_id] += line.reserved_quantity
            line_ids.append(line.pk)
    if line_ids:
        OrderLine.objects.filter(pk__in=line_ids).update(reserved_quantity=0)
    return dict(per_product)


def order_release(*, order) -> None:
    """Give back everything the order holds (cancellation, refusal)."""
    with transaction.atomic():
        stock_release(store_id=order.store_id, quantities=_take_held(order), reason="order_released")


def order_consume(*, order, lines=None) -> None:
    """At shipment: the reserved units leave the warehouse (on hand and reserved both go down).

    ``lines``: the shipped lines (OrderLine objects or ids); all lines when None.
    """
    with transaction.atomic():
        stock_consume(store_id=order.store_id, quantities=_take_held(order, lines), reason="order_shipped")
