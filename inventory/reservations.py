"""Stock reserved by orders: reserve when an order is to ship, release on cancellation, consume at shipment.

Every change is a conditional ``F()`` update on ``catalogue.Product`` (never read-modify-write), so two
workers can never reserve the same unit twice, and each records the products whose sellable quantity
changed in the inventory outbox in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from catalogue.models import Product
from inventory.outbox import record_change


def _locked_lines(order, lines: Iterable | None = None):
    from orders.models import OrderLine

    qs = OrderLine.objects.select_for_update().filter(order_id=order.pk).order_by("order_detail_id")
    if lines is not None:
        qs = qs.filter(pk__in=[getattr(line, "pk", line) for line in lines])
    return list(qs)


def order_reserve(*, order) -> bool:
    """Reserve what each matched line still needs from ``stock_on_hand - stock_reserved``.

    A line is reserved whole or not at all (a conditional update per line). Lines already reserved keep
    their reservation. True when every line is covered (an unmatched line never is).
    """
    from orders.models import OrderLine

    covered = True
    changed: set[int] = set()
    with transaction.atomic():
        for line in _locked_lines(order):
            if line.product_id is None or line.unmatched:
                covered = False
                continue
            need = line.quantity - line.reserved_quantity
            if need <= 0:
                continue
            got = Product.objects.filter(pk=line.product_id, stock_on_hand__gte=F("stock_reserved") + need).update(
                stock_reserved=F("stock_reserved") + need)
            if got:
                OrderLine.objects.filter(pk=line.pk).update(reserved_quantity=line.quantity)
                line.reserved_quantity = line.quantity
                changed.add(line.product_id)
            else:
                covered = False
        if changed:
            record_change(store_id=order.store_id, product_ids=sorted(changed), reason="order_reserved")
    return covered


def order_release(*, order) -> None:
    """Give back everything the order holds (cancellation, refusal)."""
    from orders.models import OrderLine

    with transaction.atomic():
        per_product: dict[int, int] = defaultdict(int)
        line_ids = []
        for line in _locked_lines(order):
            if line.reserved_quantity and line.product_id:
                per_product[line.product_id] += line.reserved_quantity
                line_ids.append(line.pk)
        if not line_ids:
            return
        for product_id, qty in per_product.items():
            Product.objects.filter(pk=product_id).update(stock_reserved=Greatest(F("stock_reserved") - qty, 0))
        OrderLine.objects.filter(pk__in=line_ids).update(reserved_quantity=0)
        record_change(store_id=order.store_id, product_ids=sorted(per_product), reason="order_released")


def order_consume(*, order, lines=None) -> None:
    """At shipment: the reserved units leave the warehouse (on hand and reserved both go down).

    ``lines``: the shipped lines (OrderLine objects or ids); all lines when None.
    """
    from orders.models import OrderLine

    with transaction.atomic():
        per_product: dict[int, int] = defaultdict(int)
        line_ids = []
        for line in _locked_lines(order, lines):
            if line.reserved_quantity and line.product_id:
                per_product[line.product_id] += line.reserved_quantity
                line_ids.append(line.pk)
        if not line_ids:
            return
        for product_id, qty in per_product.items():
            Product.objects.filter(pk=product_id).update(stock_on_hand=F("stock_on_hand") - qty,
                                                         stock_reserved=Greatest(F("stock_reserved") - qty, 0))
        OrderLine.objects.filter(pk__in=line_ids).update(reserved_quantity=0)
        record_change(store_id=order.store_id, product_ids=sorted(per_product), reason="order_shipped")
