"""Search in the orders lists (admin ``q=``, API ``search=``): each word must match the order id, a customer name
or one of the order's SKUs; an order whose several lines match shows once; another store's orders stay hidden."""

from __future__ import annotations

import pytest

from orders.models import Order, OrderLine
from orders.selectors import orders_search
from tests.lists.rows import add_rows

pytestmark = pytest.mark.django_db


def ids(qs) -> set[str]:
    return set(qs.values_list("marketplace_order_id", flat=True))


def test_search_matches_id_names_and_skus_once(two_stores):
    add_rows(two_stores, 3)
    first = Order.objects.filter(store=two_stores[0]).order_by("id").first()
    sku = first.lines.exclude(sku="UNKNOWN").get().sku
    # a second and third line with the same SKU must not repeat the order in the results
    OrderLine.objects.create(order=first, order_detail_id=3, sku=sku, state="ToShip")
    OrderLine.objects.create(order=first, order_detail_id=4, sku=sku.lower(), state="ToShip")
    everything = Order.objects.all()

    assert list(orders_search(everything, sku).values_list("pk", flat=True)) == [first.pk]
    assert ids(orders_search(everything, first.marketplace_order_id[-6:])) == {first.marketplace_order_id}
    assert ids(orders_search(everything, first.customer_lastname.upper())) == {first.marketplace_order_id}
    # every word must match (AND): a name and a SKU of another order find nothing
    other_sku = Order.objects.exclude(pk=first.pk).first().lines.exclude(sku="UNKNOWN").get().sku
    assert ids(orders_search(everything, f"{first.customer_lastname} {sku}")) == {first.marketplace_order_id}
    assert not orders_search(everything, f"{first.customer_lastname} {other_sku}").exists()
    # "UNKNOWN" is a line of every order: each order once
    assert orders_search(everything, "unknown").count() == Order.objects.count() == 6
    assert not orders_search(everything, "no-such-thing").exists()


@pytest.mark.parametrize("door", ["admin", "api"])
def test_search_doors_keep_the_store_scope(door, client, two_stores, staff_user, token_client):
    add_rows(two_stores, 2)
    two_stores[0].users.add(staff_user)
    mine, theirs = (Order.objects.filter(store=s).order_by("id").first() for s in two_stores)
    for order in (mine, theirs):
        order.lines.filter(sku="UNKNOWN").update(sku="SHARED-SKU-9")
    if door == "admin":
        client.force_login(staff_user)
        shown = {o.marketplace_order_id for o in
                 client.get("/admin/orders/order/?q=shared-sku").context_data["cl"].result_list}
    else:
        response = token_client(staff_user).get("/api/orders/?search=shared-sku")
        assert response.status_code == 200
        shown = {o["marketplace_order_id"] for o in response.data["results"]}
    assert shown == {mine.marketplace_order_id}
