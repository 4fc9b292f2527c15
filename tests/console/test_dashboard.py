"""Issue 11, the dashboard: figures from one selector (console.selectors.dashboard_figures) on the admin home page and
on GET /api/dashboard/, each linking to the admin list of exactly its rows, per store, for the user's stores only."""

from __future__ import annotations

import datetime as dt
import re
from itertools import count

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from catalogue.models import Product
from claims.models import Claim
from console.dashboard import FIGURES, figure_links
from console.selectors import Figures, StoreNotVisible, dashboard_figures
from fulfilment.models import Shipment
from inventory.models import OfferChange
from orders.models import Order, OrderStatus
from stores.models import Store, SyncRun
from tests.conftest import api_token_for

pytestmark = pytest.mark.django_db
S = OrderStatus
_seq = count(1)


# ---------------------------------------------------------------- data
def make_store(name: str, *, safety_stock: int = 0) -> Store:
    n = next(_seq)
    return Store.objects.create(name=name, partner_id=f"partner-{n}", shop_id=f"shop-{n}", safety_stock=safety_stock)


def days_ago(days: int, *, hour: int = 12) -> dt.datetime:
    """Noon (local time) ``days`` days before today."""
    day = timezone.localdate() - dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def order(store, status, *, placed=None, **extra) -> Order:
    fnac_state = "Created" if status == S.AWAITING_ACCEPTANCE else "x"
    return Order.objects.create(store=store, marketplace_order_id=f"O{next(_seq)}", fnac_state=fnac_state,
                                status=status, created_at=placed or timezone.now(), **extra)


def product(store, *, on_hand=5, reserved=0, push_state=Product.PushState.IN_SYNC, waiting_for=None,
            listing_state=Product.ListingState.LIVE, is_active=True) -> Product:
    p = Product.objects.create(store=store, sku=f"SKU{next(_seq)}", stock_on_hand=on_hand, stock_reserved=reserved,
                               push_state=push_state, listing_state=listing_state, is_active=is_active)
    if waiting_for is not None:
        OfferChange.objects.create(store=store, product=p, version=2, done_version=1,
                                   changed_at=timezone.now() - waiting_for)
    return p


def claim(store, *, status="OPENED", waiting=True) -> Claim:
    return Claim.objects.create(store=store, incident_id=f"inc-{next(_seq)}", marketplace_order_id="X", status=status,
                                waiting_for_seller=waiting)
def parcel(store, *, stuck: bool = True, state=Shipment.State.CONFIRMED, delivered: bool = False) -> Shipment:
    o = order(store, S.IN_TRANSIT, placed=days_ago(8))
    now = timezone.now()
    return Shipment.objects.create(store=store, order=o, carrier_code="COLISSIMO", tracking_number=f"T{next(_seq)}",
                                   state=state, confirmed_at=now - dt.timedelta(days=6),
                                   stuck_since=now - dt.timedelta(days=1) if stuck else None,
                                   delivered_at=now if delivered else None)


def run(store, state, *, hours_ago: float) -> SyncRun:
    r = SyncRun.objects.create(store=store, kind=SyncRun.Kind.ORDERS_IMPORT, state=state)
    SyncRun.objects.filter(pk=r.pk).update(created_at=timezone.now() - dt.timedelta(hours=hours_ago))
    return r


def message(store, *, hours_ago: float, **extra):
    from inbox.models import Message

    return Message.objects.create(store=store, fnac_message_id=f"M{next(_seq)}", sender="CLIENT",
                                  created_at=timezone.now() - dt.timedelta(hours=hours_ago), **extra)


def populate(store, *, scale: int = 1) -> Figures:
    """Rows that count (``scale`` of each) and rows that must not; returns the figures expected."""
    for _ in range(scale):
        order(store, S.AWAITING_ACCEPTANCE, decision_needed=True)
        order(store, S.AWAITING_ACCEPTANCE)
        order(store, S.NEW, placed=days_ago(2))  # ship-by day (2 days after) is today
        order(store, S.PACKED, placed=days_ago(2, hour=0))
        order(store, S.PARTIAL, placed=days_ago(3))  # late
        order(store, S.READY_TO_SHIP, placed=days_ago(9))  # late: not handed to the carrier yet
        order(store, S.RFP, placed=days_ago(5), flagged=True)  # late and flagged
        order(store, S.COMPLETE, flagged=True, placed=days_ago(30))
        product(store, push_state=Product.PushState.REJECTED)
        product(store, push_state=Product.PushState.PENDING, waiting_for=dt.timedelta(minutes=25))
        product(store, on_hand=0)  # out of stock
        product(store, on_hand=3, reserved=3)  # out of stock: all reserved
        run(store, SyncRun.State.FAILED, hours_ago=2)
        claim(store)  # waits for the seller
        message(store, hours_ago=30, awaiting_reply=True)  # overdue (the store answers within 24 h)
        message(store, hours_ago=2, awaiting_reply=True)  # waiting, not overdue yet
        parcel(store)  # stuck: no carrier event for the store's days
    # never counted
    claim(store, waiting=False)
    claim(store, status="CLOSED", waiting=False)
    order(store, S.NEW, placed=days_ago(1))  # ship-by tomorrow
    order(store, S.IN_TRANSIT, placed=days_ago(6))  # handed over
    order(store, S.AWAITING_PAYMENT, placed=days_ago(6))
    order(store, S.CANCELED, placed=days_ago(6))
    product(store, push_state=Product.PushState.PENDING, waiting_for=dt.timedelta(minutes=3))  # pushed soon
    product(store, on_hand=0, is_active=False)  # deactivated on purpose
    product(store, on_hand=0, listing_state=Product.ListingState.NOT_LISTED)  # not on FNAC
    run(store, SyncRun.State.FAILED, hours_ago=30)  # older than 24 h
    run(store, SyncRun.State.PARTIAL, hours_ago=1)
    run(store, SyncRun.State.SUCCEEDED, hours_ago=1)
    message(store, hours_ago=40, answered_at=timezone.now())  # answered
    message(store, hours_ago=40, archived=True)  # archived
    parcel(store, stuck=False)  # moving
    parcel(store, delivered=True)  # stuck once, delivered since
    parcel(store, state=Shipment.State.CANCELLED)  # cancelled
    return Figures(awaiting_acceptance=2 * scale, to_ship_today=2 * scale, late=3 * scale, flagged=2 * scale,
                   decision_needed=scale, pushes_rejected=scale, pushes_waiting=scale, failed_syncs=scale,
                   out_of_stock=2 * scale, claims_waiting=scale, messages_awaiting=2 * scale,
                   messages_overdue=scale, stuck_parcels=scale)


@pytest.fixture
def two_stores(django_user_model):
    a, b = make_store("Alpaca Store"), make_store("Bison Store")
    expected_a, expected_b = populate(a), populate(b, scale=3)
    staff = django_user_model.objects.create_user("seller-a", "a@example.com", "pw-seller-a-123", is_staff=True)
    staff.groups.add(Group.objects.get(name="Store manager"))
    a.users.add(staff)
    return a, b, expected_a, expected_b, staff


def page_figures(client, query: str = "") -> dict[str, int]:
    html = client.get(reverse("admin:index") + query).content.decode()
    found = re.findall(r'data-figure="(\w+)".*?data-count[^>]*>\s*(\d+)\s*<', html, flags=re.S)
    return {name: int(value) for name, value in found}


def api_figures(api_client, user, query: str = "") -> dict:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    response = api_client.get("/api/dashboard/" + query)
    assert response.status_code == 200, response.content
    return response.json()


def as_dict(figures: Figures) -> dict:
    return {name: getattr(figures, name) for name in Figures.names()}


# ---------------------------------------------------------------- the selector
def test_each_figure_counts_exactly_its_rows(two_stores, superuser):
    a, b, expected_a, expected_b, _staff = two_stores
    assert dashboard_figures(user=superuser, store=a).totals == expected_a
    assert dashboard_figures(user=superuser, store=b.pk).totals == expected_b
    both = dashboard_figures(user=superuser)
    assert both.store_id is None
    assert both.totals == expected_a + expected_b
    assert {s.store_name: s.figures for s in both.by_store} == {a.name: expected_a, b.name: expected_b}


def test_safety_stock_makes_an_offer_out_of_stock(superuser):
    store = make_store("Cautious", safety_stock=2)
    product(store, on_hand=2)  # 2 on hand, 2 held back: nothing to sell on FNAC
    product(store, on_hand=3)
    assert dashboard_figures(user=superuser, store=store).totals.out_of_stock == 1


def test_query_count_does_not_grow_with_stores(superuser, django_assert_max_num_queries):
    for n in range(6):
        populate(make_store(f"Store {n}"))
    with django_assert_max_num_queries(10):  # one aggregate per model (orders, products, runs, claims, messages,
        # parcels), whatever the number of stores
        data = dashboard_figures(user=superuser)
    assert len(data.by_store) == 6 and data.totals.late == 18


def test_a_store_the_user_may_not_see_is_refused(two_stores):
    _a, b, *_rest, staff = two_stores
    with pytest.raises(StoreNotVisible):
        dashboard_figures(user=staff, store=b.pk)


# ---------------------------------------------------------------- page, API and links agree
def test_page_and_api_show_the_same_figures(client, api_client, two_stores, superuser):
    a, _b, expected_a, expected_b, staff = two_stores
    for user, query, expected in ((superuser, "", expected_a + expected_b), (superuser, f"?store={a.pk}", expected_a),
                                  (staff, "", expected_a)):
        client.force_login(user)
        assert page_figures(client, query) == as_dict(expected), (user, query)
        body = api_figures(api_client, user, query)
        assert body["totals"] == as_dict(expected), (user, query)
        assert body["links"] == figure_links(a.pk if query else None)


def test_each_link_lands_on_a_list_of_exactly_that_count(client, two_stores, superuser):
    a, _b, expected_a, expected_b, staff = two_stores
    for user, store_id, expected in ((superuser, None, expected_a + expected_b), (superuser, a.pk, expected_a),
                                     (staff, None, expected_a)):
        client.force_login(user)
        html = client.get(reverse("admin:index") + (f"?store={store_id}" if store_id else "")).content.decode()
        for name, link in figure_links(store_id).items():
            assert f'href="{link.replace("&", "&amp;")}"' in html, name  # the page links there
            response = client.get(link)
            assert response.status_code == 200, (name, link)
            assert response.context["cl"].result_count == getattr(expected, name), (user, name, link)


def test_links_name_readable_filters():
    links = figure_links(7)
    assert links["late"] == "/admin/orders/order/?ship_by=late&store=7"
    assert links["failed_syncs"] == "/admin/stores/syncrun/?state__exact=failed&since=24h&store=7"
    assert len(FIGURES) == len(Figures.names())


# ---------------------------------------------------------------- stores
def test_staff_of_store_a_sees_nothing_of_store_b(client, api_client, two_stores):
    a, b, expected_a, _expected_b, staff = two_stores
    client.force_login(staff)
    page = client.get(reverse("admin:index"))
    html = page.content.decode()
    assert page.status_code == 200 and a.name in html and b.name not in html
    assert page_figures(client) == as_dict(expected_a)
    assert client.get(reverse("admin:index") + f"?store={b.pk}").status_code == 404
    assert client.get(reverse("admin:index") + "?store=abc").status_code == 404

    body = api_figures(api_client, staff)
    assert body["stores"] == [{"id": a.pk, "name": a.name}]
    assert [s["store_id"] for s in body["by_store"]] == [a.pk]
    assert b.name not in str(body)
    response = api_client.get(f"/api/dashboard/?store={b.pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_store_picker(client, django_user_model, two_stores):
    a, b, expected_a, expected_b, staff = two_stores
    b.users.add(staff)
    client.force_login(staff)
    html = client.get(reverse("admin:index")).content.decode()
    assert "All stores" in html and f'href="/admin/?store={a.pk}"' in html and f'href="/admin/?store={b.pk}"' in html
    assert 'id="dashboard-by-store"' in html  # all stores together, one row per store below
    assert page_figures(client) == as_dict(expected_a + expected_b)
    assert page_figures(client, f"?store={b.pk}") == as_dict(expected_b)
    one_store = client.get(reverse("admin:index") + f"?store={b.pk}").content.decode()
    assert f"ship_by=late&amp;store={b.pk}" in one_store and 'id="dashboard-by-store"' not in one_store

    b.users.remove(staff)  # a single store: no picker, its figures
    html = client.get(reverse("admin:index")).content.decode()
    assert "All stores" not in html and 'id="dashboard-by-store"' not in html


def test_many_stores_get_a_drop_down_and_the_page_costs_the_same_queries(client, superuser):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    populate(make_store("First"))
    client.force_login(superuser)
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("admin:index")).status_code == 200
    stores = [make_store(f"Shop {n}") for n in range(8)]
    for store in stores[:3]:
        populate(store)
    with CaptureQueriesContext(connection) as nine:
        html = client.get(reverse("admin:index")).content.decode()
    assert len(nine) == len(one)
    assert 'id="dashboard-store"' in html and f'<option value="{stores[-1].pk}"' in html
    assert html.count("data-store-row=") == 9


# ---------------------------------------------------------------- permissions
def test_figures_of_lists_the_user_may_not_open_are_left_out(client, api_client, django_user_model, two_stores):
    a, _b, expected_a, *_rest = two_stores
    from django.contrib.auth.models import Permission

    clerk = django_user_model.objects.create_user("clerk", "c@example.com", "pw-clerk-123", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    a.users.add(clerk)
    client.force_login(clerk)
    shown = page_figures(client)
    assert set(shown) == {"awaiting_acceptance", "to_ship_today", "late", "flagged", "decision_needed"}
    html = client.get(reverse("admin:index")).content.decode()
    assert "/admin/inventory/stock/" not in html and "/admin/stores/syncrun/" not in html
    body = api_figures(api_client, clerk)
    assert body["totals"]["pushes_rejected"] is None and body["totals"]["failed_syncs"] is None
    assert body["totals"]["late"] == expected_a.late
    assert body["syncs_per_day"] is None and body["recent_syncs"] is None and len(body["orders_per_day"]) == 30


def test_api_refuses_anonymous_non_staff_and_bad_store(api_client, django_user_model, two_stores):
    a, *_rest = two_stores
    response = api_client.get("/api/dashboard/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    customer = django_user_model.objects.create_user("customer", "x@example.com", "pw-customer-123")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(customer)}")
    response = api_client.get("/api/dashboard/")
    assert response.status_code == 403 and "staff" in response.json()["detail"]
    admin_user = django_user_model.objects.create_superuser("boss", "b@example.com", "pw-boss-123")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(admin_user)}")
    for bad in ("abc", "0", "-1", "1.5", "99999999999999999999999"):
        response = api_client.get(f"/api/dashboard/?store={bad}")
        assert response.status_code == 400, bad
        assert response.json()["code"] == "invalid" and "store" in response.json()["errors"], bad
    assert api_client.get("/api/dashboard/?store=987654").status_code == 404
    bare = django_user_model.objects.create_user("bare", "bare@example.com", "pw-bare-123", is_staff=True)
    a.users.add(bare)  # staff of the store, but may open none of the lists the figures count
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(bare)}")
    for response in (api_client.get("/api/dashboard/"), api_client.options("/api/dashboard/")):
        assert response.status_code == 403 and "missing: one of orders.view_order" in response.json()["detail"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(admin_user)}")
    assert api_client.post("/api/dashboard/").status_code == 405
    assert api_client.get(f"/api/dashboard/?store={a.pk}").json()["store"] == a.pk


def test_admin_home_needs_a_login(client):
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_charts_cover_30_and_14_days(client, superuser):
    store = make_store("Charts")
    order(store, S.COMPLETE, placed=days_ago(0))
    order(store, S.COMPLETE, placed=days_ago(29))
    order(store, S.COMPLETE, placed=days_ago(30))  # outside the chart
    run(store, SyncRun.State.FAILED, hours_ago=0)
    data = dashboard_figures(user=superuser)
    assert len(data.orders_per_day) == 30 and data.orders_per_day[0].day == timezone.localdate() - dt.timedelta(29)
    assert [d.count for d in data.orders_per_day if d.count] == [1, 1]
    assert data.syncs_per_day[-1].failed == 1 and len(data.syncs_per_day) == 14
    client.force_login(superuser)
    html = client.get(reverse("admin:index")).content.decode()
    assert html.count('class="chart"') == 2 and "Orders per day, last 30 days" in html
