"""Product-level stock reservations: reserve, release and consume units of a product.

Every change is a conditional ``F()`` update on ``catalogue.Product`` (never read-modify-write), so two
workers can never reserve the same unit twice, and each records the products whose sellable quantity
changed in the inventory outbox in the same transaction. Who holds the units (an order line) is the
caller's business: order reservations live in ``orders.reservations``.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest

from catalogue.models import Product
from inventory.outbox import record_change


def stock_reserve(*, store_id: int, needs: Iterable[tuple[Hashable, int, int]],
                  reason: str = "order_reserved") -> set:
    """Reserve ``quantity`` units of ``product_id`` for each ``(key, product_id, quantity)``, whole or not at
    all, from ``stock_on_hand - stock_reserved``. Returns the keys that got their units."""
    got_keys: set = set()
    changed: set[int] = set()
    with transaction.atomic():
        for key, product_id, quantity in needs:
            got = Product.objects.filter(pk=product_id, stock_on_hand__gte=F("stock_reserved") + quantity).update(
                stock_reserved=F("stock_reserved") + quantity)
            if got:
                got_keys.add(key)
                changed.add(product_id)
        if changed:
            record_change(store_id=store_id, product_ids=sorted(changed), reason=reason)
    return got_keys


def stock_release(*, store_id: int, quantities: Mapping[int, int], reason: str = "order_released") -> None:
    """Give back reserved units (``{product_id: quantity}``)."""
    if not quantities:
        return
    with transaction.atomic():
        for product_id, qty in quantities.items():
            Product.objects.filter(pk=product_id).update(stock_reserved=Greatest(F("stock_reserved") - qty, 0))
        record_change(store_id=store_id, product_ids=sorted(quantities), reason=reason)


def stock_consume(*, store_id: int, quantities: Mapping[int, int], reason: str = "order_shipped") -> None:
    """Reserved units leave the warehouse (``{product_id: quantity}``): on hand and reserved both go down."""
    if not quantities:
        return
    with transaction.atomic():
        for product_id, qty in quantities.items():
            Product.objects.filter(pk=product_id).update(stock_on_hand=F("stock_on_hand") - qty,
                                                         stock_reserved=Greatest(F("stock_reserved") - qty, 0))
        record_change(store_id=store_id, product_ids=sorted(quantities), reason=reason)
