"""Issue 9, items 3 and 4 in the admin: model permissions on every page and action, store filters that list only
the user's stores, django-q for superusers only."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.urls import reverse

from stores.admin import StoreFilter
from stores.models import Store

pytestmark = pytest.mark.django_db

OWN, FOREIGN = "Zephyr-own-store", "Quokka-foreign-store"
# every admin list that filters by store
STORE_FILTERED_LISTS = ["stores_syncrun", "fulfilment_carrier", "fulfilment_shipment", "fulfilment_wmsevent",
                        "fulfilment_wmsdelivery", "inventory_stock", "inventory_pushbatch", "catalogue_product",
                        "catalogue_listingjob", "catalogue_productupload", "orders_order", "claims_claim",
                        "claims_linerefund", "pricing_competition", "pricing_repricingrule", "pricing_repricelog",
                        "fulfilment_carrieraccount", "fulfilment_carrierbooking", "inbox_message", "inbox_ordercomment"]


def user_with(django_user_model, name, *, role=None, perms=(), store=None):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", f"pw-{name}-123", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    for dotted in perms:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    if store is not None:
        store.users.add(user)
    return user


def actions_offered(page) -> set[str]:
    form = page.context.get("action_form")
    return {value for value, _label in form.fields["action"].choices if value} if form else set()


# ---------------------------------------------------------------- item 4: the store filter
def test_store_filters_list_only_the_users_stores(client, staff_user, make_store):
    own, _foreign = make_store(name=OWN), make_store(name=FOREIGN)
    own.users.add(staff_user)
    staff_user.user_permissions.add(*Permission.objects.filter(content_type__app_label__in=["pricing", "inbox"]))
    client.force_login(staff_user)
    for name in STORE_FILTERED_LISTS:
        page = client.get(reverse(f"admin:{name}_changelist"))
        assert page.status_code == 200, name
        html = page.content.decode()
        assert OWN in html, name  # the filter offers the user's store...
        assert FOREIGN not in html, name  # ...and never another seller's


def test_no_admin_list_filters_on_the_raw_store_field():
    """A raw ``"store"`` entry lists every store's name: each list uses the shared StoreFilter instead."""
    for model, model_admin in admin.site._registry.items():
        for entry in model_admin.list_filter:
            name = entry if isinstance(entry, str) else entry[0] if isinstance(entry, tuple) else None
            if name is None:
                continue
            field = model._meta.get_field(name.split("__")[0])
            assert not (isinstance(field, models.ForeignKey) and field.related_model is Store), \
                f"{type(model_admin).__name__}.list_filter: use StoreFilter, not {name!r}"
    assert sum(StoreFilter in m.list_filter for m in admin.site._registry.values()) == len(STORE_FILTERED_LISTS)


# ---------------------------------------------------------------- item 4: django-q for superusers only
def test_django_q_admin_is_for_superusers_only(client, django_user_model, superuser):
    staff = user_with(django_user_model, "ops")
    staff.user_permissions.add(*Permission.objects.filter(content_type__app_label="django_q"))
    client.force_login(staff)
    assert "django_q" not in client.get(reverse("admin:index")).content.decode()
    for name in ("schedule", "success", "failure"):
        assert client.get(reverse(f"admin:django_q_{name}_changelist")).status_code == 403, name
    client.force_login(superuser)
    assert "django_q" in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse("admin:django_q_schedule_changelist")).status_code == 200


# ---------------------------------------------------------------- item 3: admin pages and actions
def test_staff_without_permissions_is_refused_the_store_pages(client, django_user_model, connected_store):
    user = user_with(django_user_model, "bare", store=connected_store)
    client.force_login(user)
    assert client.get(reverse("admin:stores_store_changelist")).status_code == 403
    assert client.get(reverse("admin:stores_store_change", args=[connected_store.pk])).status_code == 403
    assert client.get(reverse("admin:stores_store_connect", args=[connected_store.pk])).status_code == 403
    response = client.post(reverse("admin:stores_store_changelist"),
                           {"action": "disconnect_stores", "_selected_action": [connected_store.pk]})
    assert response.status_code == 403
    assert Store.objects.get(pk=connected_store.pk).status == Store.Status.CONNECTED


def test_read_only_role_sees_the_store_but_cannot_act(client, django_user_model, connected_store):
    user = user_with(django_user_model, "reader", role="Read-only", store=connected_store)
    client.force_login(user)
    listing = client.get(reverse("admin:stores_store_changelist"))
    assert listing.status_code == 200 and actions_offered(listing) == set()
    change_url = reverse("admin:stores_store_change", args=[connected_store.pk])
    page = client.get(change_url)
    assert page.status_code == 200 and not page.context["adminform"].form.fields  # read-only page
    assert client.post(change_url, {"name": "Renamed"}).status_code == 403
    client.post(reverse("admin:stores_store_changelist"),
                {"action": "disconnect_stores", "_selected_action": [connected_store.pk]})
    store = Store.objects.get(pk=connected_store.pk)
    assert (store.name, store.status) == (connected_store.name, Store.Status.CONNECTED)
    assert client.get(reverse("admin:stores_store_connect", args=[connected_store.pk])).status_code == 403
    assert client.get(reverse("admin:orders_order_sync_store", args=[connected_store.pk])).status_code == 403
    orders = client.get(reverse("admin:orders_order_changelist"))
    assert orders.status_code == 200 and actions_offered(orders) <= {"print_labels"}


def test_actions_follow_the_custom_permissions(client, django_user_model, connected_store, make_product):
    make_product(connected_store, "SKU-1", on_hand=5)
    warehouse = user_with(django_user_model, "picker", role="Warehouse", store=connected_store)
    manager = user_with(django_user_model, "boss", role="Store manager", store=connected_store)
    client.force_login(warehouse)
    offered = actions_offered(client.get(reverse("admin:orders_order_changelist")))
    assert {"release_to_warehouse", "ready_to_ship", "ship_with_details", "print_labels"} <= offered
    assert not {"accept_orders", "refuse_orders", "cancel_by_seller", "clear_flag"} & offered
    assert actions_offered(client.get(reverse("admin:stores_store_changelist"))) == set()
    stock = actions_offered(client.get(reverse("admin:inventory_stock_changelist")))
    assert "adjust_stock" in stock and "sync_selected_stock" not in stock
    client.force_login(manager)
    offered = actions_offered(client.get(reverse("admin:stores_store_changelist")))
    assert {"disconnect_stores", "sync_stock", "sync_catalogue_action", "sync_orders_action",
            "refresh_carriers_action"} <= offered
    orders = actions_offered(client.get(reverse("admin:orders_order_changelist")))
    assert {"accept_orders", "cancel_by_seller"} <= orders
    products = actions_offered(client.get(reverse("admin:catalogue_product_changelist")))
    assert {"list_on_fnac", "delete_offer"} <= products


def test_stock_edits_need_their_own_permission(client, django_user_model, connected_store, make_product):
    product = make_product(connected_store, "SKU-1", on_hand=5, price="10.00")
    warehouse = user_with(django_user_model, "picker", role="Warehouse", store=connected_store)
    client.force_login(warehouse)
    # the change page: quantity editable, prices shown read-only
    page = client.get(reverse("admin:inventory_stock_change", args=[product.pk]))
    assert page.status_code == 200
    assert set(page.context["adminform"].form.fields) == {"stock_on_hand"}
    # the list's inline edits: a price change is refused with the reason, the row left as it was
    listing = reverse("admin:inventory_stock_changelist")
    edit = {"form-TOTAL_FORMS": "1", "form-INITIAL_FORMS": "1", "form-0-id": str(product.pk), "_save": "Save",
            "form-0-stock_on_hand": "8", "form-0-price": "19.00", "form-0-sale_price": ""}
    response = client.post(listing, edit, follow=True)
    assert "you may not change prices" in response.content.decode()
    product.refresh_from_db()
    assert (product.stock_on_hand, str(product.price)) == (5, "10.00")
    client.post(listing, {**edit, "form-0-price": "10.00"})
    product.refresh_from_db()
    assert (product.stock_on_hand, str(product.price)) == (8, "10.00")
