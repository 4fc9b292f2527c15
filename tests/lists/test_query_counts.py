"""Lists at volume (issue 14): every admin changelist and API list of orders, products, stock and sync runs takes
the same number of queries for a page of 3 rows a store as for 30: nothing per row (no N+1), for a superuser and
for a staff user scoped to one store. The page *time* at 100,000 rows is measured by bench/lists.py, not here."""

from __future__ import annotations

import pytest

from tests.lists.rows import add_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(request, two_stores):
    if request.param == "superuser":
        return request.getfixturevalue("superuser")
    staff_user = request.getfixturevalue("staff_user")
    two_stores[0].users.add(staff_user)
    return staff_user


# (url, the most queries one page may take); the bound holds for 3 rows as for 30 (and for 100,000: bench/lists.py)
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
