"""Bad input is a 400 naming the field, never a 500 (issue 9, item 10): huge or malformed ids in filters and
paths, keys that cannot travel in XML or an HTTP header, absurd prices and quantities, a negative page size."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalogue.models import Product
from stores.models import Store

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999"  # past bigint


@pytest.fixture
def api(superuser, token_client):
    return token_client(superuser)


def _field_error(response, field: str) -> str:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["code"] and body["detail"], body
    assert field in body["errors"], body
    return " ".join(map(str, body["errors"][field]))


# ---------------------------------------------------------------- filters and paths
@pytest.mark.parametrize("url, field", [
    ("/api/orders/?store=1e20", "store"), (f"/api/orders/?store={HUGE}", "store"),
    ("/api/products/?store=1e20", "store"), (f"/api/products/?store={HUGE}", "store"),
    (f"/api/labels/?orders={HUGE}", "orders"), ("/api/labels/?orders=1,abc", "orders"),
    ("/api/categories/?level=1e20", "level"),
    ("/api/shipments/abc/label/", "id"), ("/api/shipments/abc/", "id"), (f"/api/orders/{HUGE}/", "id"),
    ("/api/orders/?page_size=-1", "page_size"), ("/api/orders/?page_size=0", "page_size"),
    ("/api/products/?page_size=501", "page_size"), ("/api/orders/?page=0", "page"),
    ("/api/sync-runs/?page=abc", "page"),
])
def test_malformed_or_huge_numbers_in_the_url_are_400_naming_the_field(api, store, url, field):
    _field_error(api.get(url), field)


def test_date_filters_reach_the_database_in_utc_or_are_400(api, store):
    # PostgreSQL refuses a +21:46 offset that Python accepts: the filter converts to UTC first
    response = api.get("/api/sync-runs/?created_at__lte=0414-05-04T07:05:00.44%2B21:46")
    assert response.status_code == 200 and response.json()["count"] == 0
    _field_error(api.get("/api/orders/?created_after=0001-01-01T00:00:00%2B05:00"), "created_after")
    _field_error(api.get("/api/orders/?created_before=not-a-date"), "created_before")


def test_a_good_filter_still_filters(api, store, make_product):
    make_product(store, "A-1")
    body = api.get(f"/api/products/?store={store.pk}&page_size=500").json()
    assert [p["sku"] for p in body["results"]] == ["A-1"]


def test_an_unknown_api_address_answers_json_404(api):
    response = api.get("/api/orders/0.5/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# ---------------------------------------------------------------- keys that cannot be sent
@pytest.mark.parametrize("field, value", [
    ("fnac_key", "0d9f0a4e\x07-1c2b"), ("fnac_key", "clé-secrète"), ("mirakl_api_key", "ключ-api"),
    ("mirakl_api_key", "key\r\nX-Injected: 1"), ("partner_id", "P\tID"), ("shop_id", "shop id"),
])
def test_store_create_refuses_a_key_that_breaks_xml_or_headers(api, sandbox, field, value):
    creds = sandbox.credentials
    data = {"name": "Keys", "partner_id": creds.partner_id, "shop_id": creds.shop_id, "fnac_key": creds.key,
            "mirakl_api_key": creds.mirakl_key, "fnac_base_url": sandbox.fnac_url,
            "mirakl_base_url": sandbox.mirakl_url, field: value}
    message = _field_error(api.post("/api/stores/", data, format="json"), field)
    assert "printable ASCII" in message
    assert not Store.objects.filter(name="Keys").exists()


def test_store_patch_refuses_a_control_character_in_a_key(api, store):
    before = Store.objects.get(pk=store.pk).fnac_key
    _field_error(api.patch(f"/api/stores/{store.pk}/", {"fnac_key": "abc\x1bdef"}, format="json"), "fnac_key")
    assert Store.objects.get(pk=store.pk).fnac_key == before


@pytest.mark.parametrize("field, value", [("fnac_key", "a\x01b"), ("mirakl_api_key", "€uro-key")])
def test_connect_refuses_such_a_key_before_sending_anything(api, store, sandbox, field, value):
    sent_before = len(sandbox.requests)
    response = api.post(f"/api/stores/{store.pk}/connect/", {field: value}, format="json")
    _field_error(response, field)
    assert len(sandbox.requests) == sent_before  # nothing went to FNAC or Mirakl
    assert Store.objects.get(pk=store.pk).status != Store.Status.CONNECTED


# ---------------------------------------------------------------- prices and quantities
def test_price_1e308_on_the_price_door_is_400(api, store, make_product):
    product = make_product(store, "P-1", price=Decimal("10.00"))
    for value in ("1e308", 1e308, "Infinity", "NaN", "-1e308"):
        message = _field_error(api.patch(f"/api/products/{product.pk}/price/", {"price": value}, format="json"),
                               "price")
        assert "outside FNAC's limits" in message or "not a number" in message, message
    assert Product.objects.get(pk=product.pk).price == Decimal("10.00")


def test_absurd_stock_numbers_are_400(api, store, make_product):
    product = make_product(store, "S-1", on_hand=3)
    _field_error(api.patch(f"/api/products/{product.pk}/stock/", {"quantity": 10**30}, format="json"), "quantity")
    _field_error(api.patch(f"/api/products/{product.pk}/stock/", {"delta": -10**30}, format="json"), "delta")
    response = api.post("/api/stock/", {"store": store.pk, "items": [{"sku": "S-1", "quantity": "1e999999999"}]},
                        format="json")
    assert response.status_code == 400 and "too large" in response.json()["results"][0]["error"]
    assert Product.objects.get(pk=product.pk).stock_on_hand == 3


def test_validation_errors_all_have_detail_code_and_errors(api, store, make_product):
    product = make_product(store, "V-1", on_hand=3)
    body = api.patch(f"/api/products/{product.pk}/stock/", {"quantity": 1, "delta": 1}, format="json").json()
    assert body["code"] == "invalid" and "exactly one" in body["detail"] and body["errors"]
