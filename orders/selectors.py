"""Read-side queries for orders."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

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
    """Each word must match the order id, a customer name or a line's SKU (no DISTINCT, no row duplication).

    The SKU test is an uncorrelated ``pk IN (SELECT order_id ... )``: the database runs it once per search (a
    hashed subplan on PostgreSQL, a temporary index on SQLite) where a correlated ``EXISTS`` ran once per order,
    2.5 times slower at 100,000 orders (bench/lists.py)."""
    for term in text.split():
        qs = qs.filter(Q(marketplace_order_id__icontains=term) | Q(customer_lastname__icontains=term)
                       | Q(customer_firstname__icontains=term)
                       | Q(pk__in=OrderLine.objects.filter(sku__icontains=term).values("order_id")))
    return qs


def orders_awaiting_decision_q() -> Q:
    """Orders a person must accept or refuse: waiting for acceptance and either left for a decision by the
    automatic rule or of a store that accepts by hand."""
    return Q(status=OrderStatus.AWAITING_ACCEPTANCE, fnac_state="Created") & (
        Q(decision_needed=True) | Q(store__acceptance_mode=Store.AcceptanceMode.MANUAL))
# ---------------------------------------------------------------- ship-by date (dashboard "to ship today" / "late")
# FNAC's order answer carries no ship-by date (OrdersQueryService.xsd has created_at only), so the connector
# derives one: an order must be handed to the carrier within SHIP_WITHIN_DAYS calendar days of being placed
# (local time, settings.TIME_ZONE). It is "to ship today" on its ship-by day and "late" once that day has passed,
# as long as it is paid and not yet handed over (TO_SHIP_STATUSES).
SHIP_WITHIN_DAYS = 2
TO_SHIP_STATUSES = (OrderStatus.NEW, OrderStatus.PARTIAL, OrderStatus.RFP, OrderStatus.PICKED, OrderStatus.PACKED,
                    OrderStatus.READY_TO_SHIP)
SHIP_BY_TODAY, SHIP_BY_LATE = "today", "late"


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def ship_by_q(due: str, *, now: dt.datetime | None = None) -> Q:
    """Orders whose ship-by day is today (``SHIP_BY_TODAY``) or has passed (``SHIP_BY_LATE``)."""
    placed_on = timezone.localdate(now or timezone.now()) - dt.timedelta(days=SHIP_WITHIN_DAYS)
    to_ship = Q(status__in=TO_SHIP_STATUSES)
    if due == SHIP_BY_LATE:
        return to_ship & Q(created_at__lt=_day_start(placed_on))
    if due == SHIP_BY_TODAY:
        return to_ship & Q(created_at__gte=_day_start(placed_on),
                           created_at__lt=_day_start(placed_on + dt.timedelta(days=1)))
    raise ValueError(f"unknown ship-by filter {due!r}")
