"""The stock side of the seller console: Push now (stock page and product page), readable push states, the pushes
list in words, and the Store column only for users who see several stores."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalogue.models import Product
from inventory.models import PushBatch
from stores.models import SyncRun
from tests.inventory.conftest import offers_sent


@pytest.fixture
def root(client, superuser):
    client.force_login(superuser)
    return client


def test_push_now_from_the_product_page_confirms_then_pushes(root, live_products, sandbox,
                                                            django_capture_on_commit_callbacks):
    product, = live_products(1, on_hand=7)
    product_button = f"/admin/catalogue/product/{product.pk}/push-now/"
    assert product_button in root.get(reverse("admin:catalogue_product_change", args=[product.pk])).content.decode()
    response = root.get(product_button)
    push_url = reverse("admin:inventory_stock_push_now", args=[product.pk])
    assert response.status_code == 302 and response["Location"] == push_url + "?from=product"
    page = root.get(response["Location"])
    assert page.status_code == 200 and "FNAC gets quantity 7" in page.content.decode()
    sandbox.clear_requests()
    assert not SyncRun.objects.filter(kind=SyncRun.Kind.STOCK_SYNC).exists()  # a GET pushes nothing
    with django_capture_on_commit_callbacks(execute=True):
        response = root.post(push_url + "?from=product")
    assert response["Location"] == reverse("admin:catalogue_product_change", args=[product.pk])
    assert SyncRun.objects.filter(kind=SyncRun.Kind.STOCK_SYNC, store=product.store).count() == 1
    assert [o["sku"] for o in offers_sent(sandbox)[-1]] == [product.sku]
    assert offers_sent(sandbox)[-1][0]["quantity"] == "7"


def test_push_now_needs_the_sync_permission_and_an_active_live_product(client, django_user_model, root,
                                                                      live_products):
    product, = live_products(1)
    stock_page = reverse("admin:inventory_stock_change", args=[product.pk])
    push_url = reverse("admin:inventory_stock_push_now", args=[product.pk])
    assert push_url in root.get(stock_page).content.decode()
    Product.objects.filter(pk=product.pk).update(is_active=False)
    assert push_url not in root.get(stock_page).content.decode()
    assert root.post(push_url).status_code == 403
    Product.objects.filter(pk=product.pk).update(is_active=True)
    client.logout()
    clerk = django_user_model.objects.create_user("clerk", "c@example.com", "pw-clerk-123", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename__in=["view_stock", "adjust_stock"]))
    product.store.users.add(clerk)
    client.force_login(clerk)
    assert push_url not in client.get(stock_page).content.decode()
    assert client.post(push_url).status_code == 403
    assert not SyncRun.objects.filter(kind=SyncRun.Kind.STOCK_SYNC).exists()


def test_stock_list_reads_right(root, live_products, make_store):
    product, = live_products(1)
    url = reverse("admin:inventory_stock_changelist")
    html = root.get(url).content.decode()
    assert "Never pushed" in html and ">In sync<" not in html
    assert "column-store" not in html  # one store: no Store column
    Product.objects.filter(pk=product.pk).update(push_state=Product.PushState.REJECTED, push_message="ERR_42 bad",
                                                 pushed_quantity=3)
    html = root.get(url).content.decode()
    assert "Rejected" in html and "ERR_42 bad" in html
    make_store(name="Second shop")
    assert "column-store" in root.get(url).content.decode()


def test_pushes_list_shows_fnac_statuses_in_words(root, connected_store, django_assert_max_num_queries):
    PushBatch.objects.create(store=connected_store, batch_id="B-1", offers=3, status="OK", accepted=3)
    PushBatch.objects.create(store=connected_store, batch_id="B-2", offers=1, status="ERROR", rejected=1)
    url = reverse("admin:inventory_pushbatch_changelist")
    with django_assert_max_num_queries(20) as small:
        html = root.get(url).content.decode()
    assert ">Done<" in html and ">Failed<" in html and ">OK<" not in html
    PushBatch.objects.bulk_create([PushBatch(store=connected_store, batch_id=f"B-{i}", status="WARNING")
                                   for i in range(3, 30)])
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert "Done with warnings" in root.get(url).content.decode()
