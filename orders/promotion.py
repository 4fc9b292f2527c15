"""Waiting (Partial) orders: lines linked to products that became known, promotion to New as stock allows."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery

from catalogue.models import Product
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.reservations import order_reserve
from orders.status import (
    order_transition,
)
from stores.models import Store

log = logging.getLogger(__name__)

S = OrderStatus
Source = OrderStatusChange.Source


def orders_rematch_lines(*, store: Store) -> int:
    """Lines whose SKU has become known since their import (any order status) are linked to the product now:
    two set-based UPDATEs, whatever the number of orders."""
    product = Product.objects.filter(store=store, sku=OuterRef("sku")).values("id")[:1]
    matched = (OrderLine.objects.filter(order__store=store, unmatched=True).filter(Exists(product))
               .update(product_id=Subquery(product), unmatched=False))
    if matched:
        (Order.objects.filter(store=store, has_unmatched_lines=True)
         .exclude(Exists(OrderLine.objects.filter(order=OuterRef("pk"), unmatched=True)))
         .update(has_unmatched_lines=False))
    return matched


def orders_promote_waiting(*, store: Store, product_ids: Iterable[int] | None = None) -> int:
    """Partial orders become New, oldest first, as far as available stock covers them. Returns how many.

    An older order keeps (and takes) what it can reserve even while it waits for its other lines, so stock
    goes to orders in the order they were placed. Availability is simulated in memory first, so orders that
    cannot take anything cost no query.
    """
    orders_rematch_lines(store=store)
    qs = Order.objects.filter(store=store, status=S.PARTIAL)
    if product_ids is not None:
        product_ids = list(product_ids)
        if not product_ids:
            return 0
        qs = qs.filter(pk__in=OrderLine.objects.filter(product_id__in=product_ids).values("order_id"))
    orders = list(qs.order_by("created_at", "id").only("id", "store_id", "marketplace_order_id", "status",
                                                       "created_at"))
    if not orders:
        return 0
    lines_by_order: dict[int, list[dict]] = defaultdict(list)
    ids = [o.pk for o in orders]
    for start in range(0, len(ids), 5000):
        for line in OrderLine.objects.filter(order_id__in=ids[start:start + 5000]).values(
                "order_id", "product_id", "quantity", "reserved_quantity", "unmatched"):
            lines_by_order[line["order_id"]].append(line)
    product_set = {line["product_id"] for lines in lines_by_order.values() for line in lines if line["product_id"]}
    available = {pid: on_hand - reserved for pid, on_hand, reserved in Product.objects.filter(
        pk__in=product_set).values_list("id", "stock_on_hand", "stock_reserved")}

    promoted = 0
    for order in orders:
        lines = lines_by_order.get(order.pk, [])
        takes, complete = [], bool(lines)
        for line in lines:
            need = line["quantity"] - line["reserved_quantity"]
            if line["unmatched"] or not line["product_id"]:
                complete = False
            elif need > 0:
                if available.get(line["product_id"], 0) >= need:
                    takes.append((line["product_id"], need))
                else:
                    complete = False
        if not takes and not complete:
            continue
        for pid, need in takes:
            available[pid] -= need
        with transaction.atomic():
            if order_reserve(order=order):
                order_transition(order=order, to_status=S.NEW, source=Source.SYSTEM,
                                 note="Stock reserved for every line")
                promoted += 1
    return promoted


def orders_stock_arrived(store: Store, product_ids: Iterable[int] | None = None) -> dict[str, int]:
    """The ``stores.hooks.on_stock_arrived`` subscriber: lines whose SKU became known are linked, then waiting
    orders take the stock (``product_ids`` None: any product of the store)."""
    matched = orders_rematch_lines(store=store) if product_ids is None else 0
    promoted = orders_promote_waiting(store=store, product_ids=product_ids)
    return {"order_lines_matched": matched, "orders_promoted": promoted}
