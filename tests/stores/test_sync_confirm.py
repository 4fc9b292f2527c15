"""The confirm page behind every "Sync ..." button of the store page (stores.admin.store_sync_confirm)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from stores.models import SyncRun

pytestmark = pytest.mark.django_db

BUTTONS = [("admin:catalogue_product_sync_store", "Sync Catalogue"),
           ("admin:orders_order_sync_store", "Sync Orders"),
           ("admin:inventory_store_sync_stock", "Sync Stock")]


@pytest.mark.parametrize(("url_name", "action"), BUTTONS)
def test_confirm_page_is_scoped_to_the_users_stores(client, staff_user, make_store, url_name, action):
    mine, other = make_store(name="Mine"), make_store(name="Other")
    mine.users.add(staff_user)
    client.force_login(staff_user)
    page = client.get(reverse(url_name, args=[mine.pk]))
    back = reverse("admin:stores_store_change", args=[mine.pk])
    assert page.status_code == 200
    html = page.content.decode()
    assert f'value="{action}"' in html and f'href="{back}"' in html and "Cancel" in html
    assert client.get(reverse(url_name, args=[other.pk])).status_code == 404
    assert client.post(reverse(url_name, args=[other.pk])).status_code == 404


@pytest.mark.parametrize(("url_name", "action"), BUTTONS)
def test_refused_sync_returns_to_the_store_with_the_reason(client, superuser, store, url_name, action):
    client.force_login(superuser)
    response = client.post(reverse(url_name, args=[store.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:stores_store_change", args=[store.pk])
    assert "not connected" in response.content.decode()
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(("url_name", "action"), BUTTONS)
def test_syncing_needs_the_store_sync_permission(client, staff_user, connected_store, url_name, action):
    connected_store.users.add(staff_user)
    staff_user.user_permissions.remove(Permission.objects.get(codename="sync_store"))
    client.force_login(staff_user)
    assert client.get(reverse(url_name, args=[connected_store.pk])).status_code == 403
    assert client.post(reverse(url_name, args=[connected_store.pk])).status_code == 403
    assert not SyncRun.objects.filter(trigger="admin").exists()
