"""Helpers shared by the fulfilment commands."""

from __future__ import annotations

from django.core.management.base import CommandError

from orders.models import Order


def orders_by_ids(ids: list[int]) -> list[Order]:
    orders = {o.pk: o for o in Order.objects.filter(pk__in=ids).select_related("store")}
    missing = [i for i in ids if i not in orders]
    if missing:
        raise CommandError(f"no order with id {', '.join(map(str, missing))} (use the OMS order id, not the FNAC id)")
    return [orders[i] for i in ids]


def line_ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise CommandError(f"--lines {text!r} must be comma-separated order_detail_ids") from None
