"""The home page: the dashboard's counts are the figures of ``/api/dashboard/`` (same session); a staff user of
store A sees A's orders, products and figures, never store B's (lists, pages, buttons, dashboard, API)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import pages
from tests.browser.world import connected_store, order, other_sandbox, product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_market(sandbox):
    market = other_sandbox(sandbox, 2)
    yield market
    market.stop()


@pytest.fixture
def two_stores(sandbox, second_market):
    """Store A and store B (each on its own FNAC shop), with orders to decide, to ship and products."""
    a = connected_store(sandbox, "Boutique A", manual=True)
    b = connected_store(second_market, "Boutique B", manual=True)
    world = {"a": a, "b": b,
             "a_orders": [order(sandbox, a, ["A-1"], state="Created"), order(sandbox, a, ["A-2"])],
             "b_orders": [order(second_market, b, ["B-1"], state="Created"),
                          order(second_market, b, ["B-2"], state="Created"), order(second_market, b, ["B-3"])],
             "a_product": product(a, "A-ONLY", on_hand=0), "b_product": product(b, "B-ONLY", on_hand=0)}
    return world


def dashboard_figures(ui) -> dict:
    """The counts shown on the dashboard, by the name /api/dashboard/ gives them."""
    raise NotImplementedError("read the dashboard's counts (after the merge)")


def test_dashboard_counts_equal_the_api(ui, admin_user, two_stores):
    ui.login("boss")
    ui.go(pages.DASHBOARD)
    ui.step("dashboard", screen="dashboard")
    api = ui.api(pages.DASHBOARD_API)
    shown = dashboard_figures(ui)
    assert shown and shown == {k: v for k, v in api.items() if k in shown}


def test_staff_of_store_a_never_sees_store_b(ui, make_staff, two_stores):
    a, b = two_stores["a"], two_stores["b"]
    make_staff("anna", a)
    ui.login("anna")

    # orders: the list and the pages
    ui.go(pages.ORDER_LIST)
    body = ui.body()
    assert all(o.marketplace_order_id in body for o in two_stores["a_orders"])
    assert not any(o.marketplace_order_id in body for o in two_stores["b_orders"])
    for o in two_stores["b_orders"]:
        response = ui.page.goto(ui.url(pages.order_page(o)))
        assert response.status in (302, 404) or o.marketplace_order_id not in ui.body()
        for button in (pages.ACCEPT[0], pages.REFUSE[0], pages.READY_TO_SHIP[0], pages.CANCEL[0]):
            response = ui.page.request.get(ui.url(f"/admin/orders/order/{o.pk}/{button}/"), max_redirects=0)
            assert response.status in (302, 403, 404), (button, response.status)
            assert o.marketplace_order_id not in response.text()

    # products: the list and the page
    ui.go(pages.PRODUCT_LIST)
    expect(ui.page.locator("body")).to_contain_text("A-ONLY")
    assert "B-ONLY" not in ui.body()
    ui.page.goto(ui.url(pages.product_page(two_stores["b_product"])))
    assert "B-ONLY" not in ui.body()

    # the API with the same session
    api_orders = ui.api("/api/orders/?page_size=100")
    ids = {o["marketplace_order_id"] for o in api_orders["results"]}
    assert ids == {o.marketplace_order_id for o in two_stores["a_orders"]}

    # the dashboard: A's figures only, B never named
    ui.go(pages.DASHBOARD)
    ui.step("dashboard-staff")
    assert "Boutique B" not in ui.body()
    api = ui.api(pages.DASHBOARD_API)
    assert "Boutique B" not in str(api) and str(b.pk) not in {str(s.get("id")) for s in api.get("stores", [])}
