"""Every door: API, management commands, admin; plus Sync Stock and Partial -> New on arrival."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from catalogue.models import Product
from inventory import services
from inventory.models import OfferChange
from stores.models import SyncRun

from .conftest import offers_sent


# ================================================================ API
def test_api_patch_stock(live_products, superuser, token_client, django_capture_on_commit_callbacks, sandbox):
    p, = live_products(1, on_hand=10)
    client = token_client(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.patch(f"/api/products/{p.pk}/stock/", {"delta": -4}, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["stock_on_hand"] == 6 and r.json()["sellable"] == 6
    assert sandbox.state.offers[p.sku].quantity == 6
    assert client.get(f"/api/products/{p.pk}/stock/").json()["push_state"] == "in_sync"
    r = client.patch(f"/api/products/{p.pk}/stock/", {"quantity": 3}, format="json")
    assert r.status_code == 200 and r.json()["stock_on_hand"] == 3
    r = client.patch(f"/api/products/{p.pk}/stock/", {"quantity": 3, "delta": 1}, format="json")
    assert r.status_code == 400 and "exactly one" in str(r.json())
    r = client.patch(f"/api/products/{p.pk}/stock/", {"delta": -30}, format="json")
    assert r.status_code == 400 and "only 3 on hand" in r.json()["detail"]


def test_api_staff_see_only_their_stores(live_products, staff_user, token_client):
    p, = live_products(1)
    r = token_client(staff_user).patch(f"/api/products/{p.pk}/stock/", {"quantity": 1}, format="json")
    assert r.status_code == 404
    p.store.users.add(staff_user)
    r = token_client(staff_user).patch(f"/api/products/{p.pk}/stock/", {"quantity": 1}, format="json")
    assert r.status_code == 200


def test_api_stock_batch(live_products, superuser, token_client, connected_store):
    a, b = live_products(2, on_hand=5)
    r = token_client(superuser).post("/api/stock/", {"store": connected_store.pk, "items": [
        {"sku": a.sku, "quantity": 9}, {"sku": "NOPE", "delta": 1}, {"sku": b.sku, "delta": -9}, 7]}, format="json")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["applied"] == 1 and body["rejected"] == 3
    errors = {i["index"]: i["error"] for i in body["results"] if not i["ok"]}
    assert "unknown sku NOPE" in errors[1] and "only 5 on hand" in errors[2] and 3 in errors
    r = token_client(superuser).post("/api/stock/", {"store": connected_store.pk, "items": [
        {"sku": "NOPE", "quantity": 1}]}, format="json")
    assert r.status_code == 400
    r = token_client(superuser).post("/api/stock/", {"store": 999, "items": [{"sku": "x", "quantity": 1}]},
                                     format="json")
    assert r.status_code == 400 and "unknown store" in r.json()["detail"]


def test_api_patch_price(live_products, superuser, token_client):
    p, = live_products(1, price="10.00")
    client = token_client(superuser)
    r = client.patch(f"/api/products/{p.pk}/price/", {"price": "0.50"}, format="json")
    assert r.status_code == 400
    assert "outside FNAC's limits" in r.json()["detail"] and "price" in r.json()["errors"]
    r = client.patch(f"/api/products/{p.pk}/price/", {"price": "12.345"}, format="json")
    assert r.status_code == 400 and "two decimals" in r.json()["detail"]
    r = client.patch(f"/api/products/{p.pk}/price/", {"price": "12.50", "sale_price": "11.00"}, format="json")
    assert r.status_code == 200 and r.json()["price"] == "12.50" and r.json()["fnac_price"] == "12.50"
    r = client.patch(f"/api/products/{p.pk}/price/", {"sale_price": None}, format="json")
    assert r.status_code == 200 and r.json()["sale_price"] is None


def test_api_sync_stock(live_products, superuser, token_client, connected_store, sandbox,
                        django_capture_on_commit_callbacks):
    a, b = live_products(2, on_hand=4)
    Product.objects.create(store=connected_store, sku="GHOST-9", stock_on_hand=1, price=Decimal("5.00"),
                           listing_state=Product.ListingState.LIVE)
    sandbox.clear_requests()
    with django_capture_on_commit_callbacks(execute=True):
        r = token_client(superuser).post(f"/api/stores/{connected_store.pk}/sync-stock/", {}, format="json")
    assert r.status_code == 202, r.content
    run = SyncRun.objects.get(pk=r.json()["run_id"])
    assert run.kind == SyncRun.Kind.STOCK_SYNC and run.state == SyncRun.State.PARTIAL
    assert run.counts["sent"] == 3 and run.counts["accepted"] == 2 and run.counts["rejected"] == 1
    assert run.counts["changed_on_fnac"] == 2 and a.sku in run.message
    assert run.issues.get().reference == "GHOST-9"
    assert len(offers_sent(sandbox)) == 1
    assert sandbox.state.offers[a.sku].quantity == 4
    # repeated: everything is sent again (forced) and nothing changed on FNAC
    with django_capture_on_commit_callbacks(execute=True):
        r = token_client(superuser).post(f"/api/stores/{connected_store.pk}/sync-stock/", {"skus": [b.sku]},
                                         format="json")
    run = SyncRun.objects.get(pk=r.json()["run_id"])
    assert run.counts["sent"] == 1 and run.counts["changed_on_fnac"] == 0


def test_api_sync_stock_refused_when_not_connected(store, superuser, token_client):
    r = token_client(superuser).post(f"/api/stores/{store.pk}/sync-stock/", {}, format="json")
    assert r.status_code == 409 and "not connected" in r.json()["detail"]


# ================================================================ commands
def test_set_stock_command(live_products, connected_store, tmp_path, capsys):
    a, b = live_products(2, on_hand=5)
    path = tmp_path / "stock.csv"
    path.write_text(f"sku,quantity\n{a.sku},12\nNOPE,3\n\n{b.sku},-1\n{b.sku},x\n")
    call_command("set_stock", "--store", str(connected_store.pk), str(path))
    out, err = capsys.readouterr()
    assert "1 row(s) set, 3 rejected" in out
    assert "line 3: NOPE: unknown sku" in err and "line 5:" in err and "line 6:" in err
    a.refresh_from_db()
    assert a.stock_on_hand == 12
    path.write_text(f"sku;delta\n{b.sku};-2\n")
    call_command("set_stock", "--store", str(connected_store.pk), str(path))
    b.refresh_from_db()
    assert b.stock_on_hand == 3
    path.write_text("sku,qty\nA,1\n")
    with pytest.raises(CommandError, match="line 1"):
        call_command("set_stock", "--store", str(connected_store.pk), str(path))


def test_sync_stock_command(live_products, connected_store, sandbox, capsys):
    a, b = live_products(2, on_hand=7)
    sandbox.clear_requests()
    call_command("sync_stock", "--store", str(connected_store.pk), "--sku", a.sku, "--sku", "NOPE")
    out, err = capsys.readouterr()
    assert "sent 1 in 1 call(s), accepted 1, rejected 0" in out
    assert "NOPE: no product with SKU NOPE" in err
    assert [o["sku"] for o in offers_sent(sandbox)[0]] == [a.sku]


# ================================================================ admin
@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


def test_stock_changelist_queries_do_not_grow(admin_client_, live_products, django_assert_max_num_queries):
    live_products(3)
    url = reverse("admin:inventory_stock_changelist")
    with django_assert_max_num_queries(12) as small:
        assert admin_client_.get(url).status_code == 200
    live_products(30)
    with django_assert_max_num_queries(len(small.captured_queries)):
        r = admin_client_.get(url)
    assert r.status_code == 200 and b"Sellable on FNAC" in r.content


def test_stock_list_editable_goes_through_the_service(admin_client_, live_products):
    p, = live_products(1, on_hand=5, price="10.00")
    Product.objects.filter(pk=p.pk).update(stock_reserved=2)
    url = reverse("admin:inventory_stock_changelist")
    data = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(p.pk),
            "form-0-stock_on_hand": "9", "form-0-price": "10.00", "form-0-sale_price": "", "_save": "Save"}
    r = admin_client_.post(url, data)
    assert r.status_code == 302
    p.refresh_from_db()
    assert (p.stock_on_hand, p.stock_reserved) == (9, 2)
    assert OfferChange.objects.get(product=p).is_pending
    data.update({"form-0-price": "0.10"})
    r = admin_client_.post(url, data)
    assert r.status_code == 200 and b"outside FNAC" in r.content  # refused on its field, with the reason
    p.refresh_from_db()
    assert p.price == Decimal("10.00")


def test_bulk_adjust_action(admin_client_, live_products):
    a, b = live_products(2, on_hand=1)
    Product.objects.filter(pk=b.pk).update(stock_on_hand=5)
    url = reverse("admin:inventory_stock_changelist")
    base = {"action": "adjust_stock", "_selected_action": [a.pk, b.pk]}
    r = admin_client_.post(url, base)
    assert r.status_code == 200 and b"Adjust stock" in r.content
    r = admin_client_.post(url, {**base, "apply": "1", "delta": "-3"}, follow=True)
    assert b"only 1 on hand" in r.content
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.stock_on_hand, b.stock_on_hand) == (1, 2)


def test_sync_stock_admin_action_on_products_and_store(admin_client_, live_products, connected_store, sandbox,
                                                       django_capture_on_commit_callbacks):
    a, b = live_products(2, on_hand=3)
    sandbox.clear_requests()
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client_.post(reverse("admin:inventory_stock_changelist"),
                               {"action": "sync_selected_stock", "_selected_action": [a.pk]}, follow=True)
    assert b"Sync Stock of 1 product" in r.content
    assert [o["sku"] for o in offers_sent(sandbox)[0]] == [a.sku]
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client_.post(reverse("admin:stores_store_changelist"),
                               {"action": "sync_stock", "_selected_action": [connected_store.pk]}, follow=True)
    assert b"Sync Stock of" in r.content
    assert sorted(o["sku"] for o in offers_sent(sandbox)[1]) == sorted([a.sku, b.sku])


def test_store_buttons_sync_page_and_price_mapping(admin_client_, live_products, connected_store,
                                                   django_capture_on_commit_callbacks):
    live_products(2)
    r = admin_client_.get(reverse("admin:stores_store_change", args=[connected_store.pk]))
    assert b"Sync Stock" in r.content and b"Price mapping" in r.content
    url = reverse("admin:inventory_store_sync_stock", args=[connected_store.pk])
    assert admin_client_.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        r = admin_client_.post(url, {"skus": ""})
    assert r.status_code == 302
    assert SyncRun.objects.get(kind=SyncRun.Kind.STOCK_SYNC).state == SyncRun.State.SUCCEEDED
    r = admin_client_.get(reverse("admin:inventory_store_price_mapping", args=[connected_store.pk]))
    assert r.status_code == 200 and b"Round up to .99" in r.content and b"19.90" in r.content


# ================================================================ Partial -> New on arrival
def test_stock_arrival_promotes_partial_orders_oldest_first(connected_store, django_capture_on_commit_callbacks):
    from orders.models import Order, OrderLine, OrderStatus

    p = Product.objects.create(store=connected_store, sku="ARR-1", stock_on_hand=0, price=Decimal("5.00"))
    now = timezone.now()
    orders = []
    for i, qty in enumerate((2, 3)):
        order = Order.objects.create(store=connected_store, marketplace_order_id=f"ORD{i:010d}", fnac_state="ToShip",
                                     status=OrderStatus.PARTIAL, created_at=now - dt.timedelta(hours=5 - i))
        OrderLine.objects.create(order=order, order_detail_id=1, sku=p.sku, product=p, quantity=qty, state="ToShip")
        orders.append(order)
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(product=p, delta=3, source="api")
    for order in orders:
        order.refresh_from_db()
    assert [o.status for o in orders] == [OrderStatus.NEW, OrderStatus.PARTIAL]  # oldest first, as far as it goes
    p.refresh_from_db()
    assert (p.stock_on_hand, p.stock_reserved) == (3, 2)
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_batch(store=connected_store, items=[{"sku": p.sku, "quantity": 5}], source="api")
    orders[1].refresh_from_db()
    assert orders[1].status == OrderStatus.NEW
