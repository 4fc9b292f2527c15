"""Absurd prices and quantities (issue 9, item 10) in every catalogue door: the API, the admin form, an Excel
row and an offer FNAC sends. Each is refused naming the field (or reported on its row / offer); nothing is a 500
and one bad offer does not fail the import of the others."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from catalogue.imports import catalogue_sync
from catalogue.models import Product
from catalogue.validation import CatalogueContext, product_validate
from stores.models import SyncIssue, SyncRun

from .conftest import touch_offer
from .test_excel_api import ean13, good_row, workbook

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("price", ["1e308", "-1e308", "Infinity", "NaN", "1e-400"])
def test_product_validate_refuses_absurd_prices_without_crashing(price):
    cleaned, errors = product_validate({"price": price}, CatalogueContext(), partial=True)
    assert "price" in errors and "price" not in cleaned


def test_product_validate_refuses_a_quantity_of_10_to_the_30():
    cleaned, errors = product_validate({"quantity": 10**30}, CatalogueContext(), partial=True)
    assert "more than 10,000,000" in errors["quantity"] and "quantity" not in cleaned


def _create_data(store, **changes):
    return {"store": store.pk, "sku": "BIG-1", "ean": ean13(900), "name": "Souris", "brand": "Logitech",
            "category": "INFO_SOURIS", "price": "15.00", "quantity": 3, "attributes": {"connection": "USB-C"},
            **changes}


def test_api_product_create_with_price_1e308_is_400(reference_data, superuser, token_client):
    response = token_client(superuser).post("/api/products/", _create_data(reference_data, price=1e308),
                                            format="json")
    assert response.status_code == 400 and "out of FNAC's range" in response.json()["errors"]["price"]
    response = token_client(superuser).post("/api/products/", _create_data(reference_data, quantity=10**30),
                                            format="json")
    assert response.status_code == 400 and "quantity" in response.json()["errors"]
    assert not Product.objects.exists()


def test_api_product_patch_with_price_1e308_is_400(reference_data, superuser, token_client, make_product):
    product = make_product(reference_data, "P-1")
    response = token_client(superuser).patch(f"/api/products/{product.pk}/", {"price": "1e308"}, format="json")
    assert response.status_code == 400 and "price" in response.json()["errors"]


def test_admin_product_create_with_absurd_numbers_shows_field_errors(reference_data, superuser, client):
    client.force_login(superuser)
    data = {"store": reference_data.pk, "category": "INFO_SOURIS", "sku": "ADM-1", "ean": ean13(901),
            "name": "Souris", "brand": "Logitech", "condition": "11", "price": "19.90", "quantity": str(10**30),
            "attr_connection": "Bluetooth"}
    response = client.post(reverse("admin:catalogue_product_create"), data)
    assert response.status_code == 200
    assert "more than 10,000,000" in str(response.context["form"].errors)
    response = client.post(reverse("admin:catalogue_product_create"), {**data, "quantity": "3", "price": "1e308"})
    assert response.status_code == 200 and "price" in response.context["form"].errors
    assert not Product.objects.exists()


def test_excel_rows_with_absurd_numbers_are_rejected_and_the_others_applied(reference_data, superuser,
                                                                            token_client):
    content = workbook([good_row(1), good_row(2, price=1e308), good_row(3, quantity=1e30),
                        good_row(4, price="1e308")])
    response = token_client(superuser).post("/api/products/import/",
                                            {"store": reference_data.pk, "file": io.BytesIO(content)},
                                            format="multipart")
    assert response.status_code == 200, response.content[:300]
    body = response.json()
    assert (body["valid_rows"], body["rejected_rows"]) == (1, 3)
    assert "out of FNAC's range" in body["errors"]["3"]["price"]
    assert "more than 10,000,000" in body["errors"]["4"]["quantity"]
    assert "price" in body["errors"]["5"]
    assert list(Product.objects.values_list("sku", flat=True)) == ["XL-1"]


def test_one_offer_with_quantity_10_to_the_23_is_an_issue_not_a_failed_import(connected_store, sandbox):
    sandbox.seed_offers(30)
    touch_offer(sandbox, "SKU-000007", quantity=10**23)

    run = catalogue_sync(store=connected_store, full=False, trigger="test")

    assert run.state == SyncRun.State.PARTIAL  # finished, with an issue
    assert Product.objects.filter(store=connected_store).count() == 29
    assert not Product.objects.filter(sku="SKU-000007").exists()
    issue = SyncIssue.objects.get(run=run, code="offer_out_of_range")
    assert issue.reference == "SKU-000007" and "quantity 100000000000000000000000" in issue.message
