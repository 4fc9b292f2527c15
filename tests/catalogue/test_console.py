"""The product pages of the seller console: condition and attributes as drop-downs, the attribute fields fetched
per category without submitting, the buttons of the product page (permission, when they apply, Delete offer's
confirmation with a reason), readable booleans, thumbnails, and the list's query count."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from catalogue.models import Category, Product
from stores.models import SyncRun

LS = Product.ListingState
IMG = "https://img.invalid/p/mouse-1.jpg"


@pytest.fixture
def mouse_product(reference_data):
    return Product.objects.create(
        store=reference_data, sku="M-1", ean="3760000000017", name="Souris M1", brand="Logitech",
        category=Category.objects.get(code="INFO_SOURIS"), condition="10", price=Decimal("24.90"),
        stock_on_hand=5, attributes={"connection": "BLUETOOTH"}, image_url=IMG, images=[IMG])


@pytest.fixture
def root(client, superuser):
    client.force_login(superuser)
    return client


def staff_client(client, django_user_model, *perms, stores=()):
    user = django_user_model.objects.create_user("clerk", "clerk@example.com", "pw-clerk-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(
        content_type__app_label__in=["catalogue", "stores", "inventory"], codename__in=perms))
    for store in stores:
        store.users.add(user)
    client.force_login(user)
    return client


def change_url(product):
    return reverse("admin:catalogue_product_change", args=[product.pk])


def form_data(product, **changes):
    """What the product page posts when nothing is changed (plus ``changes``)."""
    data = {"name": product.name, "brand": product.brand, "category": str(product.category_id or ""),
            "condition": product.condition, "description": product.description,
            "images_text": "\n".join(product.images), "price": str(product.price or ""), "sale_price": "",
            "stock_on_hand": str(product.stock_on_hand), "is_active": "on" if product.is_active else "",
            "attr_connection": (product.attributes or {}).get("connection", ""), "attr_operating_system": "",
            "attr_weight_kg": "", "_continue": "1"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# ---------------------------------------------------------------- condition and attributes
def test_condition_is_a_drop_down_of_readable_labels(root, mouse_product):
    html = root.get(change_url(mouse_product)).content.decode()
    select = re.search(r'<select name="condition".*?</select>', html, re.S).group(0)
    assert re.search(r'<option value="10" selected>Refurbished</option>', select)
    assert '<option value="11">New</option>' in select and "Used - good" in select


def test_product_page_has_one_field_per_category_attribute_with_the_allowed_values(root, mouse_product):
    html = root.get(change_url(mouse_product)).content.decode()
    assert 'name="attributes"' not in html  # no raw JSON box any more
    connection = re.search(r'<select name="attr_connection".*?</select>', html, re.S).group(0)
    assert 'id="id_attr_connection"' in connection and "required" in connection
    assert re.search(r'<option value="BLUETOOTH" selected>Bluetooth</option>', connection)
    assert '<option value="USB-C">USB-C</option>' in connection and "Sans fil 2.4 GHz" in connection
    assert 'id="id_attr_operating_system"' in html and 'id="id_attr_weight_kg"' in html
    # attributes that are product fields (brand, title, EAN...) are not asked twice
    assert 'id="id_attr_brand"' not in html and 'id="id_attr_title"' not in html


def test_product_page_saves_a_valid_attribute_value(root, mouse_product):
    response = root.post(change_url(mouse_product), form_data(mouse_product, attr_connection="USB-C",
                                                               attr_weight_kg="0.12"))
    assert response.status_code == 302, response.content.decode()[:2000]
    mouse_product.refresh_from_db()
    assert mouse_product.attributes == {"connection": "USB-C", "weight_kg": "0.12"}


def test_product_page_refuses_a_value_outside_the_list_with_a_field_error(root, mouse_product):
    response = root.post(change_url(mouse_product), form_data(mouse_product, attr_connection="FLOPPY"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "FLOPPY is not an allowed value of the FNAC list connection_types" in errors["attr_connection"][0]
    response = root.post(change_url(mouse_product), form_data(mouse_product, attr_connection=""))
    assert "required" in response.context["adminform"].form.errors["attr_connection"][0]
    response = root.post(change_url(mouse_product), form_data(mouse_product, attr_weight_kg="heavy"))
    assert "not a number" in response.context["adminform"].form.errors["attr_weight_kg"][0]
    mouse_product.refresh_from_db()
    assert mouse_product.attributes == {"connection": "BLUETOOTH"}


# ---------------------------------------------------------------- attribute fields fetched per category
def test_attribute_fields_are_fetched_for_a_category_with_nothing_else_filled(root, reference_data):
    url = reverse("admin:catalogue_product_attribute_fields")
    html = root.get(url, {"category": "INFO_PORTABLES"}).content.decode()
    for code in ("screen_size", "ram", "storage_capacity", "processor", "operating_system"):
        assert f'id="id_attr_{code}"' in html
    assert re.search(r'<select name="attr_ram"[^>]*required', html)
    html = root.get(url, {"category_id": Category.objects.get(code="INFO_SOURIS").pk}).content.decode()
    assert 'id="id_attr_connection"' in html and 'id="id_attr_ram"' not in html
    html = root.get(url, {"category": "INFORMATIQUE"}).content.decode()
    assert "not a leaf category" in html and "id_attr_" not in html


def test_attribute_fields_view_keeps_the_current_values_of_a_product(root, mouse_product):
    url = reverse("admin:catalogue_product_attribute_fields")
    html = root.get(url, {"category": "INFO_SOURIS", "product": mouse_product.pk}).content.decode()
    assert re.search(r'<option value="BLUETOOTH" selected>', html)


def test_attribute_fields_view_respects_permissions_and_store_scoping(client, django_user_model, mouse_product,
                                                                      make_store):
    url = reverse("admin:catalogue_product_attribute_fields")
    assert client.get(url, {"category": "INFO_SOURIS"}).status_code == 302  # not logged in: the login page
    other = make_store(name="Other shop")
    clerk = staff_client(client, django_user_model, "add_product", "change_product", "view_product",
                         stores=[other])
    assert clerk.get(url, {"category": "INFO_SOURIS"}).status_code == 200
    # a product of a store the user is not assigned to is not found (its values are not leaked)
    assert clerk.get(url, {"category": "INFO_SOURIS", "product": mouse_product.pk}).status_code == 404
    Permission.objects.get(codename="add_product").user_set.clear()
    Permission.objects.get(codename="change_product").user_set.clear()
    assert clerk.get(url, {"category": "INFO_SOURIS"}).status_code == 403


def test_add_page_shows_attributes_before_anything_else_is_filled(root, reference_data):
    html = root.get(reverse("admin:catalogue_product_create")).content.decode()
    assert 'id="attribute-fields"' in html and 'data-url="/admin/catalogue/product/attribute-fields/"' in html
    assert re.search(r'<button[^>]*name="choose_category"[^>]*formnovalidate[^>]*id="show-attributes"', html)
    # the no-script fallback: the button posts the form unchecked and the page comes back with the fields
    response = root.post(reverse("admin:catalogue_product_create"), {"category": "INFO_SOURIS",
                                                                    "choose_category": "1"})
    html = response.content.decode()
    assert response.status_code == 200 and 'id="id_attr_connection"' in html and "errorlist" not in html
    assert not Product.objects.exists()


# ---------------------------------------------------------------- readable booleans, thumbnails
def test_booleans_read_right_on_the_product_page(root, mouse_product):
    html = root.get(change_url(mouse_product)).content.decode()
    assert "Never pushed" in html and ">In sync<" not in html  # nothing was pushed yet
    assert "icon-no" not in html and "Removed on FNAC" in html
    Product.objects.filter(pk=mouse_product.pk).update(removed_on_fnac=True, differs_from_fnac=True)
    html = root.get(change_url(mouse_product)).content.decode()
    assert "Yes — no longer returned by FNAC" in html and "Yes — FNAC shows another price or quantity" in html


def test_thumbnails_in_the_list_and_on_the_page(root, mouse_product):
    html = root.get(reverse("admin:catalogue_product_changelist")).content.decode()
    assert re.search(rf'<img src="{re.escape(IMG)}"[^>]*loading="lazy"[^>]*width="40"', html)
    html = root.get(change_url(mouse_product)).content.decode()
    assert re.search(rf'<img src="{re.escape(IMG)}"[^>]*loading="lazy"[^>]*width="120"', html)


def test_product_list_queries_do_not_grow_with_the_products(root, reference_data, django_assert_max_num_queries):
    category = Category.objects.get(code="INFO_SOURIS")

    def add(n, start):
        Product.objects.bulk_create([Product(store=reference_data, sku=f"Q-{i}", name=f"q{i}", category=category,
                                             image_url=IMG) for i in range(start, start + n)])

    add(3, 0)
    url = reverse("admin:catalogue_product_changelist")
    with django_assert_max_num_queries(20) as small:
        assert root.get(url).status_code == 200
    add(40, 100)
    with django_assert_max_num_queries(len(small.captured_queries)):
        html = root.get(url).content.decode()
    assert html.count('class="product-thumb"') == 43


# ---------------------------------------------------------------- buttons of the product page
def detail_url(product, path):
    return f"/admin/catalogue/product/{product.pk}/{path}/"


def test_buttons_follow_the_permission_and_the_state(client, django_user_model, root, mouse_product):
    Product.objects.filter(pk=mouse_product.pk).update(listing_state=LS.LIVE, fnac_offer_id="OFF-1")
    html = root.get(change_url(mouse_product)).content.decode()
    for path in ("deactivate", "push-now", "delete-offer"):
        assert detail_url(mouse_product, path) in html
    assert detail_url(mouse_product, "list-on-fnac") not in html and detail_url(mouse_product, "activate") not in html
    Product.objects.filter(pk=mouse_product.pk).update(listing_state=LS.NOT_LISTED, fnac_offer_id="",
                                                       is_active=False)
    html = root.get(change_url(mouse_product)).content.decode()
    assert detail_url(mouse_product, "list-on-fnac") in html and detail_url(mouse_product, "activate") in html
    assert detail_url(mouse_product, "delete-offer") not in html and detail_url(mouse_product, "push-now") not in html
    client.logout()
    clerk = staff_client(client, django_user_model, "view_product", "change_product",
                         stores=[mouse_product.store])
    html = clerk.get(change_url(mouse_product)).content.decode()
    for path in ("list-on-fnac", "activate", "deactivate", "push-now", "delete-offer"):
        assert detail_url(mouse_product, path) not in html
    assert clerk.get(detail_url(mouse_product, "list-on-fnac")).status_code == 403
    assert clerk.post(detail_url(mouse_product, "activate")).status_code == 403
    Product.objects.filter(pk=mouse_product.pk).update(is_active=True)
    assert clerk.post(detail_url(mouse_product, "delete-offer"), {"reason": "gone"}).status_code == 403


def test_activate_and_deactivate_buttons_confirm_then_call_the_service(root, mouse_product):
    url = detail_url(mouse_product, "deactivate")
    page = root.get(url)
    assert page.status_code == 200 and "FNAC will show quantity 0" in page.content.decode()
    mouse_product.refresh_from_db()
    assert mouse_product.is_active  # a GET changes nothing
    assert root.post(url).status_code == 302
    mouse_product.refresh_from_db()
    assert not mouse_product.is_active
    assert root.post(detail_url(mouse_product, "activate")).status_code == 302
    mouse_product.refresh_from_db()
    assert mouse_product.is_active


def test_delete_offer_needs_a_confirmation_and_a_reason(root, mouse_product, sandbox, run_on_commit):
    from catalogue.services import products_list_request

    run_on_commit(products_list_request, store=mouse_product.store, product_ids=[mouse_product.pk], trigger="t")
    mouse_product.refresh_from_db()
    assert mouse_product.listing_state == LS.LIVE and mouse_product.sku in sandbox.state.offers
    sandbox.clear_requests()
    url = detail_url(mouse_product, "delete-offer")
    page = root.get(url).content.decode()
    assert "Yes, delete the offer on FNAC" in page and 'name="reason"' in page
    response = run_on_commit(root.post, url, {})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert not sandbox.requests_for("offers_update")
    assert mouse_product.sku in sandbox.state.offers
    response = run_on_commit(root.post, url, {"reason": "End of the range"})
    assert response.status_code == 302 and response["Location"] == change_url(mouse_product)
    body = sandbox.requests_for("offers_update")[0].body.decode()
    assert "<treatment>delete</treatment>" in body and mouse_product.sku not in sandbox.state.offers
    run = SyncRun.objects.filter(kind=SyncRun.Kind.PRODUCT_LISTING).order_by("-pk").first()
    assert run.params["reason"] == "End of the range" and run.params["purpose"] == "delete"
    mouse_product.refresh_from_db()
    assert mouse_product.listing_state == LS.DELISTED


def test_destructive_bulk_actions_come_last_in_the_menu(root, mouse_product):
    html = root.get(reverse("admin:catalogue_product_changelist")).content.decode()
    options = re.findall(r'<option value="([a-z_]+)"', re.search(r'<select name="action".*?</select>', html,
                                                                re.S).group(0))
    assert options[0] == "list_on_fnac" and options[-2:] == ["delete_offer", "delete_selected"]


def test_a_delisted_product_offers_list_again_not_delete(root, mouse_product):
    Product.objects.filter(pk=mouse_product.pk).update(listing_state=LS.DELISTED, fnac_offer_id="OFF-1",
                                                       removed_on_fnac=True)
    html = root.get(change_url(mouse_product)).content.decode()
    assert detail_url(mouse_product, "list-on-fnac") in html and detail_url(mouse_product, "delete-offer") not in html
    assert root.get(detail_url(mouse_product, "delete-offer")).status_code == 403


def test_a_view_only_user_sees_the_attributes_without_editing_them(client, django_user_model, mouse_product):
    clerk = staff_client(client, django_user_model, "view_product", stores=[mouse_product.store])
    html = clerk.get(change_url(mouse_product)).content.decode()
    connection = re.search(r'<select name="attr_connection".*?</select>', html, re.S).group(0)
    assert "disabled" in connection and re.search(r'<option value="BLUETOOTH" selected>', connection)


def test_job_and_upload_lists_read_in_words_with_a_bounded_query_count(root, reference_data,
                                                                      django_assert_max_num_queries):
    from catalogue.models import ListingJob, ProductUpload

    def add(n, start):
        for i in range(start, start + n):
            ListingJob.objects.create(store=reference_data, kind=ListingJob.Kind.OFFERS_UPDATE,
                                      external_id=f"batch-{i}", status="WARNING", message="ERR_105 price")
            ProductUpload.objects.create(store=reference_data, filename=f"f{i}.xlsx", total_rows=3, valid_rows=2,
                                         rejected_rows=1)

    add(2, 0)
    for offset, name in ((100, "listingjob"), (200, "productupload")):
        url = reverse(f"admin:catalogue_{name}_changelist")
        with django_assert_max_num_queries(20) as small:
            root.get(url)
        add(10, offset)
        with django_assert_max_num_queries(len(small.captured_queries)):
            html = root.get(url).content.decode()
        assert ("Done with warnings" in html) if name == "listingjob" else ("1 rejected" in html)


def test_changing_the_category_saves_the_new_category_attributes(root, mouse_product):
    coques = Category.objects.get(code="TEL_COQUES")
    data = form_data(mouse_product, category=str(coques.pk), attr_connection=None, attr_weight_kg=None,
                     attr_operating_system=None)
    response = root.post(change_url(mouse_product), data)
    assert response.status_code == 200  # its required attribute is missing: refused on its own field
    assert "required" in response.context["adminform"].form.errors["attr_compatible_model"][0]
    response = root.post(change_url(mouse_product), {**data, "attr_compatible_model": "iPhone 15"})
    assert response.status_code == 302, response.content.decode()[:2000]
    mouse_product.refresh_from_db()
    assert mouse_product.category_id == coques.pk and mouse_product.attributes == {"compatible_model": "iPhone 15"}
