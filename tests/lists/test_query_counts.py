"""Lists at volume (issue 14): every admin changelist and API list of orders, products, stock and sync runs takes
the same number of queries for a page of 3 rows a store as for 30: nothing per row (no N+1), for a superuser and
for a staff user scoped to one store. The page *time* at 100,000 rows is measured by bench/lists.py, not here."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone

from catalogue.models import Category, Product
from inventory.models import OfferChange
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from stores.models import Store, SyncIssue, SyncRun

pytestmark = pytest.mark.django_db

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


@pytest.fixture
def two_stores(db):
    return [Store.objects.create(name=f"Shop {c}", shop_id=f"shop-{c}", status=Store.Status.CONNECTED,
                                 connected_at=timezone.now()) for c in "AB"]


@pytest.fixture
def viewer(request, two_stores):
    if request.param == "superuser":
        return request.getfixturevalue("superuser")
    staff_user = request.getfixturevalue("staff_user")
    two_stores[0].users.add(staff_user)
    return staff_user


# (url, the most queries one page may take); the bound holds for 3 rows as for 60 (and for 100,000: bench/lists.py)
# (staff users take two more queries than superusers: their stores, for the scope and the store filter)
ADMIN_LISTS = [
    ("/admin/orders/order/", 9),
    ("/admin/orders/order/?status=new&q=lee", 9),
    ("/admin/catalogue/product/", 11),
    ("/admin/catalogue/product/?listing_state=live&q=sku", 11),
    ("/admin/inventory/stock/", 10),
    ("/admin/inventory/stock/?push_waiting=1", 10),
    ("/admin/stores/syncrun/", 10),
    ("/admin/stores/syncrun/?kind=orders_import&state=partial", 10),
]
API_LISTS = [
    ("/api/orders/", 7),
    ("/api/orders/?status=new&search=lee", 7),
    ("/api/products/", 6),
    ("/api/products/?listing_state=live&search=sku", 6),
    ("/api/sync-runs/", 6),
    ("/api/sync-runs/?kind=orders_import", 6),
]


def page(client, url: str, bound: int, assert_max_queries) -> tuple[int, int]:
    """(queries, rows shown) of one page, which must take at most ``bound`` queries."""
    with assert_max_queries(bound) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    rows = len(response.data["results"]) if hasattr(response, "data") else len(response.context_data["cl"].result_list)
    return len(ctx.captured_queries), rows


@pytest.mark.parametrize("viewer", ["superuser", "staff"], indirect=True)
@pytest.mark.parametrize(("url", "bound"), ADMIN_LISTS + API_LISTS)
def test_list_queries_do_not_grow_with_rows(client, viewer, two_stores, url, bound, django_assert_max_num_queries):
    client.force_login(viewer)
    add_rows(two_stores, 3)
    few, rows = page(client, url, bound, django_assert_max_num_queries)
    assert rows >= 3
    add_rows(two_stores, 27)
    many, rows = page(client, url, bound, django_assert_max_num_queries)
    assert rows >= 30
    assert many == few, f"{url}: {few} queries for 3 rows a store, {many} for 30"
