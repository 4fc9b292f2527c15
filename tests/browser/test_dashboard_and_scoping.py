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
    """Store A and store B (each on its own FNAC shop), with orders to decide and to ship, products, and a failed
    connect of B (a failed sync run)."""
    from stores.services import ConnectFailed, store_connect

    a = connected_store(sandbox, "Boutique A", manual=True)
    b = connected_store(second_market, "Boutique B", manual=True)
    with pytest.raises(ConnectFailed):
        store_connect(store=b, fnac_key="00000000-0000-0000-0000-000000000000", trigger="test")
    store_connect(store=b, trigger="test")
    world = {"a": a, "b": b,
             "a_orders": [order(sandbox, a, ["A-1"], state="Created"), order(sandbox, a, ["A-2"])],
             "b_orders": [order(second_market, b, ["B-1"], state="Created"),
                          order(second_market, b, ["B-2"], state="Created"), order(second_market, b, ["B-3"])],
             "a_product": product(a, "A-ONLY", on_hand=0), "b_product": product(b, "B-ONLY", on_hand=0)}
    return world


def dashboard_figures(ui) -> dict[str, int]:
    """The counts the dashboard shows, by figure name (``data-figure`` / ``data-count``, the names of
    /api/dashboard/)."""
    shown = ui.page.eval_on_selector_all("[data-figure]", """els => Object.fromEntries(els.map(
        e => [e.dataset.figure, e.querySelector('[data-count]').textContent.trim()]))""")
    return {name: int(text.replace(",", "").replace("\u202f", "")) for name, text in shown.items()}


def api_counts(figures: dict) -> dict[str, int]:
    return {name: value for name, value in figures.items() if value is not None}


def test_dashboard_counts_equal_the_api(ui, admin_user, two_stores):
    a, b = two_stores["a"], two_stores["b"]
    ui.login("boss")
    ui.go(pages.DASHBOARD)
    expect(ui.page.locator("[data-figure]").first).to_be_visible()
    ui.step("dashboard", screen="dashboard")
    api = ui.api(pages.DASHBOARD_API)
    shown = dashboard_figures(ui)
    assert shown == api_counts(api["totals"])
    # the figures are the database's: 3 orders to decide (A 1, B 2), B's failed connect
    assert shown["awaiting_acceptance"] == 3 and shown["failed_syncs"] == 1
    assert {s["name"] for s in api["stores"]} == {"Boutique A", "Boutique B"}

    # one store picked: its own figures, the same as the API's for that store
    ui.go(f"{pages.DASHBOARD}?store={b.pk}")
    shown_b = dashboard_figures(ui)
    api_b = ui.api(f"{pages.DASHBOARD_API}?store={b.pk}")
    assert shown_b == api_counts(api_b["totals"])
    assert shown_b["awaiting_acceptance"] == 2 and shown_b["failed_syncs"] == 1
    ui.step("dashboard-store-b")

    # a count links to the list of exactly those orders
    with ui.page.expect_navigation():
        ui.page.locator("[data-figure=awaiting_acceptance]").click()
    body = ui.body()
    assert all(o.marketplace_order_id in body for o in two_stores["b_orders"][:2])
    assert not any(o.marketplace_order_id in body for o in [*two_stores["a_orders"], two_stores["b_orders"][2]])
    ui.step("dashboard-link-awaiting-acceptance")
    assert a.pk != b.pk


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

    # the dashboard: A's figures only (the same as the API's), B never named nor counted
    ui.go(pages.DASHBOARD)
    expect(ui.page.locator("[data-figure]").first).to_be_visible()
    ui.step("dashboard-staff")
    assert "Boutique B" not in ui.body()
    api = ui.api(pages.DASHBOARD_API)
    assert dashboard_figures(ui) == api_counts(api["totals"])
    assert api["totals"]["awaiting_acceptance"] == 1 and api["totals"]["failed_syncs"] == 0
    assert [s["name"] for s in api["stores"]] == ["Boutique A"]
    assert [s["store_name"] for s in api["by_store"]] == ["Boutique A"]
    assert "Boutique B" not in str(api)
    # B's figures cannot be asked for, in the page or the API
    assert ui.page.request.get(ui.url(f"{pages.DASHBOARD_API}?store={b.pk}")).status == 404
    response = ui.page.goto(ui.url(f"{pages.DASHBOARD}?store={b.pk}"))
    assert response.status == 404 or "Boutique B" not in ui.body()


SELLER_LISTS = ["/admin/orders/order/", "/admin/catalogue/product/", "/admin/inventory/stock/",
                "/admin/inventory/pushbatch/", "/admin/stores/syncrun/", "/admin/stores/store/",
                "/admin/fulfilment/shipment/", "/admin/fulfilment/carrier/", "/admin/catalogue/listingjob/",
                "/admin/catalogue/productupload/", "/admin/fulfilment/wmsevent/", "/admin/fulfilment/wmsdelivery/"]


def test_every_seller_list_fits_a_1366_px_screen(ui, admin_user, two_stores):
    """At 1366 px (a laptop), no list scrolls sideways: every column, the last one included, is on screen, with
    two stores (so the Store column shows)."""
    ui.page.set_viewport_size({"width": 1366, "height": 800})
    ui.login(admin_user.username)
    too_wide = {}
    for path in SELLER_LISTS:
        ui.go(path)
        rows = ui.page.locator("#result_list tbody tr").count()
        widths = ui.page.evaluate("""() => {
            const table = document.querySelector('#result_list');
            const last = table && table.querySelector('thead th:last-child');
            return {page: document.documentElement.scrollWidth,
                    lastRight: last ? Math.round(last.getBoundingClientRect().right) : 0};
        }""")
        if widths["page"] > 1366 or widths["lastRight"] > 1366:
            too_wide[path] = (rows, widths)
    assert too_wide == {}, too_wide
    ui.go("/admin/orders/order/")
    assert ui.page.locator("#result_list tbody tr").count() == 5  # the check above looked at filled lists
