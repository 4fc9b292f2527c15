"""Read-side queries for orders."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from orders.models import Order, OrderLine, OrderStatus
from stores.models import Store
from stores.selectors import stores_for_user


def orders_for_user(user) -> QuerySet[Order]:
    qs = Order.objects.select_related("store")
    if getattr(user, "is_superuser", False):
        return qs
    return qs.filter(store__in=stores_for_user(user))


def order_detail(order_id: int) -> Order:
    return Order.objects.select_related("store").prefetch_related("lines", "status_changes__user").get(pk=order_id)


def orders_search(qs: QuerySet[Order], text: str) -> QuerySet[Order]:
    """Each word must match the order id, a customer name or a line's SKU (no DISTINCT, no row duplication)."""
    for term in text.split():
        qs = qs.filter(Q(marketplace_order_id__icontains=term) | Q(customer_lastname__icontains=term)
                       | Q(customer_firstname__icontains=term)
                       | Exists(OrderLine.objects.filter(order_id=OuterRef("pk"), sku__icontains=term)))
    return qs


def orders_awaiting_decision_q() -> Q:
    """Orders a person must accept or refuse: waiting for acceptance and either left for a decision by the
    automatic rule or of a store that accepts by hand."""
    return Q(status=OrderStatus.AWAITING_ACCEPTANCE, fnac_state="Created") & (
        Q(decision_needed=True) | Q(store__acceptance_mode=Store.AcceptanceMode.MANUAL))
