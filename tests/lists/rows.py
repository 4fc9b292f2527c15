"""Rows for the list tests: orders with lines, products with a pending stock change, sync runs with an issue."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

from django.utils import timezone

from catalogue.models import Category, Product
from inventory.models import OfferChange
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from stores.models import Store, SyncIssue, SyncRun

_seq = itertools.count(1)


def add_rows(stores: list[Store], per_store: int) -> None:
    """``per_store`` orders (two lines each, one of them matched to a product, a status change), products (with a
    category, a stock change waiting for FNAC for an hour), and sync runs (with an issue) in each store."""
    category, _ = Category.objects.get_or_create(code="C1", defaults={"label": "Phones", "level": 1})
    now = timezone.now()
    for store in stores:
        numbers = [next(_seq) for _ in range(per_store)]
        products = Product.objects.bulk_create([Product(
            store=store, sku=f"SKU-{n}", ean=f"{n:013d}", name=f"Product {n}", category=category,
            price=Decimal("19.90"), stock_on_hand=n % 7, stock_reserved=1, image_url="https://img.example/x.jpg",
            listing_state=Product.ListingState.LIVE, push_state=Product.PushState.PENDING, pushed_at=now,
            pushed_quantity=1, pushed_price=Decimal("19.90")) for n in numbers])
        OfferChange.objects.bulk_create([OfferChange(store=store, product=p, version=1,
                                                     changed_at=now - dt.timedelta(hours=1)) for p in products])
        runs = SyncRun.objects.bulk_create([SyncRun(
            store=store, kind=SyncRun.Kind.ORDERS_IMPORT, state=SyncRun.State.PARTIAL, trigger="schedule",
            started_at=now, finished_at=now, processed=3, total=3, counts={"created": 3}, error_count=1)
            for _ in numbers])
        SyncIssue.objects.bulk_create([SyncIssue(run=r, code="unknown_sku", message="SKU X unknown", reference="X")
                                       for r in runs])
        orders = Order.objects.bulk_create([Order(
            store=store, marketplace_order_id=f"ORD{n:010d}", fnac_state="ToShip", status=OrderStatus.NEW,
            created_at=now - dt.timedelta(minutes=n), customer_firstname="Ann", customer_lastname=f"Lee{n}",
            total_amount=Decimal("39.80"), last_sync_run=r, flagged=n % 2 == 0, flag_reason="check")
            for n, r in zip(numbers, runs, strict=True)])
        OrderLine.objects.bulk_create([line for o, p in zip(orders, products, strict=True) for line in (
            OrderLine(order=o, order_detail_id=1, sku=p.sku, product=p, state="ToShip", price=Decimal("19.90")),
            OrderLine(order=o, order_detail_id=2, sku="UNKNOWN", state="ToShip", unmatched=True))])
        OrderStatusChange.objects.bulk_create([OrderStatusChange(order=o, from_status="", to_status=OrderStatus.NEW,
                                                                 source="fnac") for o in orders])
