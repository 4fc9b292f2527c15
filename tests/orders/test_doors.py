"""Every door of the orders capability: admin (stores action, store button, order list/detail/actions), API,
command, connect hook and schedules; list pages whose query count does not grow with the page size."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from stores.models import Store, SyncRun

S = OrderStatus


def _orders(store, n, *, prefix="B"):
    now = timezone.now()
    orders = Order.objects.bulk_create([
        Order(store=store, marketplace_order_id=f"{prefix}{i:012d}", fnac_state="ToShip", status=S.NEW,
              created_at=now, customer_lastname=f"Name{i}") for i in range(n)])
    OrderLine.objects.bulk_create([OrderLine(order=o, order_detail_id=j, sku=f"SKU-{o.pk}-{j}", quantity=1,
                                             state="ToShip") for o in orders for j in (1, 2)])
    OrderStatusChange.objects.bulk_create([OrderStatusChange(order=o, to_status=S.NEW, source="marketplace")
                                           for o in orders])
    return orders


# ---------------------------------------------------------------- starting a sync
def test_api_sync_orders_answers_202_with_the_run_and_imports(sandbox, token_client, superuser, manual_store,
                                                              django_capture_on_commit_callbacks):
    sandbox.seed_orders(15, days=30)
    api = token_client(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/stores/{manual_store.pk}/sync-orders/", {}, format="json")
    assert response.status_code == 202, response.content
    run = SyncRun.objects.get(pk=response.data["run_id"])
    assert run.kind == SyncRun.Kind.ORDERS_IMPORT and run.trigger == "api"
    assert run.state == SyncRun.State.SUCCEEDED
    assert Order.objects.filter(store=manual_store).count() == 15


def test_api_sync_orders_refuses_a_store_not_connected(token_client, superuser, store):
    response = token_client(superuser).post(f"/api/stores/{store.pk}/sync-orders/", {}, format="json")
    assert response.status_code == 409 and "not connected" in response.data["detail"]


def test_api_sync_orders_of_another_users_store_is_404(token_client, staff_user, connected_store):
    response = token_client(staff_user).post(f"/api/stores/{connected_store.pk}/sync-orders/", {}, format="json")
    assert response.status_code == 404


def test_admin_store_action_sync_orders(sandbox, client, superuser, manual_store,
                                        django_capture_on_commit_callbacks):
    sandbox.seed_orders(5, days=10)
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("admin:stores_store_changelist"),
                               {"action": "sync_orders_action", "_selected_action": [manual_store.pk]}, follow=True)
    assert b"Order sync started" in response.content
    assert Order.objects.count() == 5


def test_store_page_button_then_confirm(sandbox, client, superuser, manual_store, django_capture_on_commit_callbacks):
    sandbox.seed_orders(4, days=10)
    client.force_login(superuser)
    url = reverse("admin:orders_order_sync_store", args=[manual_store.pk])
    page = client.get(reverse("admin:stores_store_change", args=[manual_store.pk]))
    assert url.encode() in page.content and b"Sync Orders" in page.content
    assert client.get(url).status_code == 200  # a GET only asks for confirmation
    assert not SyncRun.objects.filter(kind=SyncRun.Kind.ORDERS_IMPORT).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 302
    assert Order.objects.count() == 4


def test_command_sync_orders(sandbox, manual_store):
    sandbox.seed_orders(12, days=30)
    out = io.StringIO()
    call_command("sync_orders", "--store", str(manual_store.pk), "--full", stdout=out)
    assert "created=12" in out.getvalue()
    out = io.StringIO()
    call_command("sync_orders", "--store", str(manual_store.pk), "--since", "2020-01-01", stdout=out)
    assert "unchanged=12" in out.getvalue()
    with pytest.raises(CommandError, match="not an ISO date"):
        call_command("sync_orders", "--store", str(manual_store.pk), "--since", "yesterday")
    with pytest.raises(CommandError, match="no store"):
        call_command("sync_orders", "--store", "999")


def test_connect_enqueues_the_90_day_import_and_schedules_both_jobs(sandbox, store,
                                                                    django_capture_on_commit_callbacks):
    from django_q.models import Schedule

    from stores.services import store_connect

    Store.objects.filter(pk=store.pk).update(acceptance_mode=Store.AcceptanceMode.MANUAL)
    store.refresh_from_db()
    sandbox.seed_orders(10, days=60)
    with django_capture_on_commit_callbacks(execute=True):
        store_connect(store=store, trigger="test")
    run = SyncRun.objects.get(kind=SyncRun.Kind.ORDERS_IMPORT)
    assert run.params["mode"] == "full" and run.state == SyncRun.State.SUCCEEDED
    assert Order.objects.count() == 10
    schedules = {s.name: s for s in Schedule.objects.filter(name__startswith=f"store:{store.pk}:orders")}
    assert schedules[f"store:{store.pk}:orders_new"].minutes == 5
    assert schedules[f"store:{store.pk}:orders_status"].minutes == 30
    assert schedules[f"store:{store.pk}:orders_new"].func == "orders.tasks.orders_new_task"


def test_scheduled_tasks_run_and_respect_the_switches(sandbox, manual_store):
    from orders.tasks import orders_new_task, orders_status_task

    sandbox.seed_orders(3, days=1)
    assert orders_new_task(manual_store.pk)
    assert orders_status_task(manual_store.pk)
    assert Order.objects.count() == 3
    Store.objects.filter(pk=manual_store.pk).update(sync_orders_enabled=False, sync_order_status_enabled=False)
    assert orders_new_task(manual_store.pk) is None and orders_status_task(manual_store.pk) is None


# ---------------------------------------------------------------- API reads and decisions
def test_api_order_list_detail_and_filters(token_client, superuser, store):
    orders = _orders(store, 3)
    Order.objects.filter(pk=orders[0].pk).update(flagged=True, has_unmatched_lines=True, status=S.PARTIAL)
    api = token_client(superuser)
    data = api.get("/api/orders/").data
    assert data["count"] == 3
    first = data["results"][0]
    for field in ("marketplace_order_id", "fnac_state", "status", "created_at", "lines"):
        assert field in first
    assert set(first["lines"][0]) >= {"sku", "quantity", "price", "state"}
    assert api.get("/api/orders/", {"flagged": "true"}).data["count"] == 1
    assert api.get("/api/orders/", {"unmatched": "true"}).data["count"] == 1
    assert api.get("/api/orders/", {"status": "partial"}).data["count"] == 1
    assert api.get("/api/orders/", {"fnac_state": "ToShip", "store": store.pk}).data["count"] == 3
    assert api.get("/api/orders/", {"search": f"SKU-{orders[1].pk}-2"}).data["count"] == 1
    assert api.get("/api/orders/", {"search": "Name2"}).data["count"] == 1
    assert api.get("/api/orders/", {"created_after": "2999-01-01T00:00:00Z"}).data["count"] == 0
    detail = api.get(f"/api/orders/{orders[0].pk}/").data
    assert len(detail["lines"]) == 2 and detail["status_history"][0]["to_status"] == S.NEW
    assert "shipping_address" in detail
    mapping = api.get("/api/orders/status-mapping/").data
    assert {row["oms_status"] for row in mapping} == set(S.values)


def test_api_staff_sees_only_their_stores(token_client, staff_user, make_store):
    mine, other = make_store(), make_store()
    mine.users.add(staff_user)
    _orders(mine, 2, prefix="M")
    _orders(other, 3, prefix="O")
    data = token_client(staff_user).get("/api/orders/").data
    assert data["count"] == 2
    theirs = Order.objects.filter(store=other).first()
    assert token_client(staff_user).get(f"/api/orders/{theirs.pk}/").status_code == 404


def test_api_accept_and_refuse(sandbox, token_client, superuser, manual_store, make_product):
    from orders.services import orders_sync

    make_product(manual_store, "A", on_hand=5)
    one = sandbox.add_order(state="Created", lines=[{"sku": "A", "quantity": 1}, {"sku": "A", "quantity": 1}])
    two = sandbox.add_order(state="Created")
    orders_sync(store=manual_store, mode="new")
    api = token_client(superuser)
    o1, o2 = (Order.objects.get(marketplace_order_id=i) for i in (one, two))
    refuse_line = o1.lines.last().order_detail_id
    response = api.post(f"/api/orders/{o1.pk}/accept/", {"refuse_lines": [refuse_line]}, format="json")
    assert response.status_code == 200, response.content
    assert response.data["status"] == S.AWAITING_PAYMENT
    assert {line["state"] for line in response.data["lines"]} == {"Accepted", "Refused"}
    response = api.post(f"/api/orders/{o2.pk}/refuse/", format="json")
    assert response.status_code == 400 and "reason" in response.json()["errors"]
    assert sandbox.order_json(two)["state"] == "Created"
    response = api.post(f"/api/orders/{o2.pk}/refuse/", {"reason": "Price error"}, format="json")
    assert response.status_code == 200 and response.data["status"] == S.REFUSED
    assert response.data["status_history"][-1]["note"].endswith("Reason: Price error")
    # deciding twice is a conflict that says why
    response = api.post(f"/api/orders/{o2.pk}/accept/", {}, format="json")
    assert response.status_code == 409 and "not waiting for acceptance" in response.data["detail"]


def test_api_accept_failure_is_502_with_fnac_reason(sandbox, token_client, superuser, manual_store):
    from orders.services import orders_sync

    order_id = sandbox.add_order(state="Created")
    orders_sync(store=manual_store, mode="new")
    sandbox.set_order_state(order_id, "Cancelled")
    order = Order.objects.get(marketplace_order_id=order_id)
    response = token_client(superuser).post(f"/api/orders/{order.pk}/accept/", {}, format="json")
    assert response.status_code == 502 and "ERR_112" in response.data["detail"]


# ---------------------------------------------------------------- admin pages
def test_admin_order_list_detail_and_actions(sandbox, client, superuser, manual_store, make_product):
    from orders.services import orders_sync

    make_product(manual_store, "A", on_hand=5)
    order_id = sandbox.add_order(state="Created", lines=[{"sku": "A", "quantity": 1}])
    orders_sync(store=manual_store, mode="new")
    order = Order.objects.get(marketplace_order_id=order_id)
    client.force_login(superuser)
    page = client.get(reverse("admin:orders_order_changelist"), {"q": "A"})
    assert page.status_code == 200 and order_id.encode() in page.content
    assert b"Status mapping" in page.content
    for params in ({"status__exact": "awaiting_acceptance"}, {"fnac_state": "Created"}, {"flagged__exact": "0"},
                   {"has_unmatched_lines__exact": "0"}, {"store": manual_store.pk}):
        page = client.get(reverse("admin:orders_order_changelist"), params)
        assert page.status_code == 200 and order_id.encode() in page.content, params
    detail = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert detail.status_code == 200
    for text in (b"Status history", order.shipping_address["city"].encode(), b"run #"):
        assert text in detail.content
    response = client.post(reverse("admin:orders_order_changelist"),
                           {"action": "accept_orders", "_selected_action": [order.pk]}, follow=True)
    assert b"1 order(s) accepted" in response.content
    assert sandbox.order_json(order_id)["state"] == "Accepted"


def test_admin_action_failure_is_shown(sandbox, client, superuser, manual_store):
    from orders.services import orders_sync

    order_id = sandbox.add_order(state="Created")
    orders_sync(store=manual_store, mode="new")
    sandbox.set_order_state(order_id, "Cancelled")
    client.force_login(superuser)
    order = Order.objects.get()
    response = client.post(reverse("admin:orders_order_changelist"),
                           {"action": "refuse_orders", "_selected_action": [order.pk], "apply": "1",
                            "reason": "Out of stock"}, follow=True)
    assert b"ERR_112" in response.content


def test_hook_actions_and_inlines_appear(client, superuser, store):
    from django.contrib import admin as django_admin

    from orders import hooks

    @django_admin.action(description="Release to warehouse (test)")
    def release_test(modeladmin, request, queryset):
        return None

    class ExtraInline(django_admin.TabularInline):
        model = OrderStatusChange
        verbose_name_plural = "extra panel from a hook"

    hooks.order_admin_action(release_test)
    hooks.order_admin_inline(ExtraInline)
    try:
        order = _orders(store, 1)[0]
        client.force_login(superuser)
        page = client.get(reverse("admin:orders_order_changelist"))
        assert b"release_test" in page.content
        detail = client.get(reverse("admin:orders_order_change", args=[order.pk]))
        assert b"Extra panel from a hook" in detail.content
    finally:
        hooks._actions.remove(release_test)
        hooks._inlines.remove(ExtraInline)


@pytest.mark.parametrize("door", ["admin", "api"])
def test_list_query_count_does_not_grow_with_page_size(door, client, token_client, superuser, store,
                                                       django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _orders(store, 120)
    client.force_login(superuser)
    api = token_client(superuser)

    def count(n):
        from orders.admin import OrderAdmin

        with CaptureQueriesContext(connection) as ctx:
            if door == "admin":
                OrderAdmin.list_per_page = n
                try:
                    assert client.get(reverse("admin:orders_order_changelist")).status_code == 200
                finally:
                    OrderAdmin.list_per_page = 100
            else:
                response = api.get("/api/orders/", {"page_size": n})
                assert response.status_code == 200 and len(response.data["results"]) == n
        return len(ctx.captured_queries)

    count(5)  # warm caches (content types, permissions)
    small, large = count(5), count(100)
    assert large == small
    with django_assert_max_num_queries(small):
        count(100)
