"""Issue 9, items 2 and 3: the API is for staff, and every operation needs the Django model permissions of what it
does (fnac_connector.permissions.StaffModelPermissions, the default permission class); roles come as groups."""

from __future__ import annotations

import importlib
import re

import pytest
from django.contrib.auth.models import Group, Permission
from drf_spectacular.generators import EndpointEnumerator
from rest_framework.permissions import AllowAny

from catalogue.models import Product
from fnac_connector.permissions import StaffModelPermissions
from orders.models import Order, OrderStatus
from stores.models import Store

pytestmark = pytest.mark.django_db

# open by design: the warehouse signs its events with the store's secret; label links are signed and expire
OPEN_OPERATIONS = {("/api/wms/events/", "POST"), ("/api/wms/labels/{token}/", "GET")}


def api_operations():
    return [(path, method, callback) for path, _regex, method, callback in EndpointEnumerator().get_api_endpoints()
            if path.startswith("/api/") and not path.startswith(("/api/schema", "/api/docs"))]


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: "x" if m.group(1) in ("token", "code") else "1", path)


@pytest.fixture
def bare_staff(django_user_model):
    """Staff, no permission at all."""
    return django_user_model.objects.create_user("bare", "bare@example.com", "pw-bare-123", is_staff=True)


def role_user(django_user_model, name: str, role: str, store):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", f"pw-{name}-123", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    store.users.add(user)
    return user


# ---------------------------------------------------------------- every operation is covered
def test_every_api_view_uses_the_default_permission_class_or_is_open_by_design():
    operations = api_operations()
    assert len(operations) > 40
    for path, method, callback in operations:
        classes = callback.cls.permission_classes
        if (path, method) in OPEN_OPERATIONS:
            assert classes == [AllowAny], path
        else:
            assert classes == [StaffModelPermissions], (path, method, classes)


def test_a_staff_user_without_permissions_is_refused_every_operation(api_client, bare_staff, make_store):
    store = make_store()
    store.users.add(bare_staff)  # assigned to the store: the scoping alone would let the user in
    api_client.force_authenticate(bare_staff)
    refused = set()
    for path, method, _callback in api_operations():
        if (path, method) in OPEN_OPERATIONS:
            continue
        url = concrete(path).replace("/stores/1/", f"/stores/{store.pk}/")
        response = api_client.generic(method, url, data="{}", content_type="application/json")
        assert response.status_code == 403, (method, url, response.status_code, response.content[:200])
        assert "missing:" in response.json()["detail"]
        options = api_client.options(url)
        assert options.status_code == 403, ("OPTIONS", url, options.content[:200])
        refused.add((path, method))
    assert len(refused) >= 40
    store.refresh_from_db()
    assert store.status == Store.Status.NOT_CONNECTED  # the connect above did nothing


def test_a_method_a_view_does_not_have_is_405_not_a_server_error(api_client, bare_staff):
    api_client.force_authenticate(bare_staff)
    assert api_client.post("/api/labels/").status_code == 405
    assert api_client.delete("/api/stores/1/sync-orders/").status_code == 405


def test_the_wms_endpoints_stay_open_to_signed_requests(api_client):
    # no user: the answer is about the signature (401), never about permissions (403)
    response = api_client.post("/api/wms/events/", data=b"{}", content_type="application/json")
    assert response.status_code == 401 and response.json()["code"] == "no_store"
    assert api_client.get("/api/wms/labels/not-a-token/").status_code == 404


# ---------------------------------------------------------------- item 2: staff only
def test_a_non_staff_user_cannot_create_a_store_even_with_every_permission(token_client, django_user_model):
    user = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw-clerk-123")
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="stores"))
    api = token_client(user)
    response = api.post("/api/stores/", {"name": "Sneaky", "partner_id": "P", "shop_id": "S"}, format="json")
    assert response.status_code == 403
    assert "staff" in response.json()["detail"]
    assert not Store.objects.filter(name="Sneaky").exists()
    assert api.get("/api/stores/").status_code == 403


def test_anonymous_requests_are_401(api_client):
    assert api_client.get("/api/stores/").status_code == 401


# ---------------------------------------------------------------- item 3: writes need their permissions
@pytest.fixture
def awaiting_order(sandbox, connected_store, make_product, django_capture_on_commit_callbacks):
    """An order left for a decision (manual acceptance), imported from the sandbox."""
    from orders.services import orders_sync

    Store.objects.filter(pk=connected_store.pk).update(acceptance_mode=Store.AcceptanceMode.MANUAL)
    connected_store.refresh_from_db()
    make_product(connected_store, "SKU-1", on_hand=5)
    order_id = sandbox.add_order(state="Created", lines=[{"sku": "SKU-1", "quantity": 1}])
    orders_sync(store=connected_store, mode="manual", trigger="test")
    return Order.objects.get(store=connected_store, marketplace_order_id=order_id)


def test_staff_without_permissions_gets_403_on_writes_and_nothing_changes(
        token_client, bare_staff, connected_store, awaiting_order, sandbox):
    connected_store.users.add(bare_staff)
    product = Product.objects.get(store=connected_store, sku="SKU-1")
    api = token_client(bare_staff)
    seq = sandbox.last_seq
    store_url = f"/api/stores/{connected_store.pk}/"
    for method, url, body in [
        ("patch", store_url, {"name": "Renamed"}),
        ("patch", store_url, {"fnac_base_url": "http://attacker.example/api.php/"}),
        ("post", store_url + "connect/", {}),
        ("post", store_url + "disconnect/", {}),
        ("post", store_url + "sync-orders/", {}),
        ("patch", f"/api/products/{product.pk}/stock/", {"quantity": 99}),
        ("patch", f"/api/products/{product.pk}/price/", {"price": "12.00"}),
        ("post", "/api/stock/", {"store": connected_store.pk, "items": [{"sku": "SKU-1", "quantity": 99}]}),
        ("post", f"/api/orders/{awaiting_order.pk}/accept/", {}),
        ("post", f"/api/orders/{awaiting_order.pk}/refuse/", {}),
        ("post", f"/api/orders/{awaiting_order.pk}/ready-to-ship/", {}),
        ("post", f"/api/orders/{awaiting_order.pk}/cancel/", {}),
    ]:
        response = getattr(api, method)(url, body, format="json")
        assert response.status_code == 403, (method, url, response.content)
    store = Store.objects.get(pk=connected_store.pk)
    assert (store.name, store.status) == (connected_store.name, Store.Status.CONNECTED)
    assert store.fnac_base_url == connected_store.fnac_base_url
    product.refresh_from_db()
    assert product.stock_on_hand == 5 and product.price == Product.objects.get(pk=product.pk).price
    awaiting_order.refresh_from_db()
    assert awaiting_order.status == OrderStatus.AWAITING_ACCEPTANCE
    assert [r for r in sandbox.requests if r.seq > seq and r.api != "control"] == []


def test_read_only_role_reads_and_cannot_write(token_client, django_user_model, connected_store, awaiting_order):
    user = role_user(django_user_model, "reader", "Read-only", connected_store)
    api = token_client(user)
    product = Product.objects.get(store=connected_store, sku="SKU-1")
    for url in ["/api/stores/", f"/api/stores/{connected_store.pk}/", "/api/sync-runs/", "/api/products/",
                f"/api/products/{product.pk}/stock/", "/api/orders/", f"/api/orders/{awaiting_order.pk}/",
                "/api/shipments/", "/api/carriers/", "/api/wms/deliveries/", "/api/wms/event-log/",
                "/api/categories/", "/api/orders/status-mapping/"]:
        assert api.get(url).status_code == 200, url
    assert [o["id"] for o in api.get("/api/orders/").json()["results"]] == [awaiting_order.pk]
    assert api.patch(f"/api/stores/{connected_store.pk}/", {"name": "X"}, format="json").status_code == 403
    assert api.post(f"/api/stores/{connected_store.pk}/disconnect/").status_code == 403
    assert api.patch(f"/api/products/{product.pk}/stock/", {"quantity": 1}, format="json").status_code == 403
    assert api.post(f"/api/orders/{awaiting_order.pk}/accept/", {}, format="json").status_code == 403
    assert Store.objects.get(pk=connected_store.pk).status == Store.Status.CONNECTED


def test_warehouse_role_counts_stock_but_does_not_decide_orders_or_prices(token_client, django_user_model,
                                                                          connected_store, awaiting_order):
    user = role_user(django_user_model, "picker", "Warehouse", connected_store)
    api = token_client(user)
    product = Product.objects.get(store=connected_store, sku="SKU-1")
    response = api.patch(f"/api/products/{product.pk}/stock/", {"quantity": 7}, format="json")
    assert response.status_code == 200 and response.json()["stock_on_hand"] == 7
    assert api.patch(f"/api/products/{product.pk}/price/", {"price": "15.00"}, format="json").status_code == 403
    assert api.patch(f"/api/products/{product.pk}/", {"price": "15.00"}, format="json").status_code == 403
    assert api.post(f"/api/orders/{awaiting_order.pk}/accept/", {}, format="json").status_code == 403
    assert api.post(f"/api/orders/{awaiting_order.pk}/cancel/", {}, format="json").status_code == 403
    assert api.post(f"/api/stores/{connected_store.pk}/connect/").status_code == 403
    # shipping is the warehouse's: the permission lets it through to the order's own rules (409: not accepted)
    assert api.post(f"/api/orders/{awaiting_order.pk}/ready-to-ship/", {}, format="json").status_code == 409


def test_store_manager_role_runs_the_store(token_client, django_user_model, connected_store, awaiting_order,
                                           sandbox):
    user = role_user(django_user_model, "manager", "Store manager", connected_store)
    api = token_client(user)
    response = api.post(f"/api/orders/{awaiting_order.pk}/accept/", {}, format="json")
    assert response.status_code == 200, response.content
    assert sandbox.requests_for("orders_update")
    response = api.patch(f"/api/stores/{connected_store.pk}/", {
        "fnac_base_url": "https://partners-test.mp.fnacdarty.com/api.php/"}, format="json")
    assert response.status_code == 200 and response.json()["fnac_key_masked"] == ""
    assert api.post(f"/api/stores/{connected_store.pk}/disconnect/").status_code == 409  # not connected any more


def test_roles_migration_is_idempotent():
    from django.apps import apps
    from django.db import connection

    roles = importlib.import_module("fulfilment.migrations.0002_roles")

    def snapshot():
        return {g.name: sorted(g.permissions.values_list("content_type__app_label", "codename"))
                for g in Group.objects.filter(name__in=roles.ROLES)}

    before = snapshot()
    assert set(before) == {"Store manager", "Warehouse", "Read-only"}

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    roles.create_roles(apps, editor)
    roles.create_roles(apps, editor)
    assert snapshot() == before
    manager = {f"{a}.{c}" for a, c in before["Store manager"]}
    assert {"stores.change_store_credentials", "stores.connect_store", "orders.accept_order",
            "catalogue.change_price"} <= manager
    assert not any(c.startswith("delete_") for _a, c in before["Store manager"])
    warehouse = {f"{a}.{c}" for a, c in before["Warehouse"]}
    assert {"orders.ship_order", "catalogue.adjust_stock"} <= warehouse
    assert not {"orders.accept_order", "catalogue.change_price", "stores.change_store"} & warehouse
    assert all(c.startswith("view_") for _a, c in before["Read-only"])
