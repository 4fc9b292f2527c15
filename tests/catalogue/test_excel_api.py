"""Bulk Excel (template, upload, preview, rejected rows, apply) and the products / categories API."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import call_command

from catalogue.models import Product, ProductUpload
from catalogue.validation import gs1_check_ok

pytestmark = pytest.mark.django_db
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ean13(n: int) -> str:
    body = f"3760{n:08d}"
    return next(body + d for d in "0123456789" if gs1_check_ok(body + d))


def workbook(rows, header=("sku", "ean", "title", "brand", "category", "condition", "price", "quantity",
                           "description", "images", "connection")) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "products"
    ws.append([f"{h} *" if h in ("sku", "ean", "title") else h for h in header])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def good_row(i: int, **kw):
    row = {"sku": f"XL-{i}", "ean": ean13(i), "title": f"Souris {i}", "brand": "Logitech", "category": "INFO_SOURIS",
           "condition": "11", "price": 19.9, "quantity": 5, "description": "d", "images": "https://img.invalid/a.jpg",
           "connection": "Bluetooth"}
    row.update(kw)
    return list(row.values())


@pytest.fixture
def bad_file():
    return workbook([good_row(1), good_row(2), good_row(3, brand="Logitek"), good_row(4, price="abc"),
                     good_row(5, sku="XL-1"), good_row(6, connection="")])


def test_template_per_category_with_required_columns_and_drop_downs(reference_data, superuser, token_client):
    response = token_client(superuser).get("/api/products/template/?category=INFO_PORTABLES")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    wb = openpyxl.load_workbook(io.BytesIO(response.content))
    header = [c.value for c in wb["products"][1]]
    assert header[:4] == ["sku *", "ean *", "title *", "brand *"]
    assert "ram *" in header and "screen_size *" in header and "operating_system" in header
    formulas = {str(dv.sqref): dv.formula1 for dv in wb["products"].data_validations.dataValidation}
    brand_col = openpyxl.utils.get_column_letter(header.index("brand *") + 1)
    assert any(k.startswith(f"{brand_col}2:") for k in formulas)
    lists = wb["lists"]
    assert "Apple" in [c.value for c in next(col for col in lists.iter_cols() if col[0].value == "brands")]
    assert wb["meta"]["B1"].value == "INFO_PORTABLES"
    bad = token_client(superuser).get("/api/products/template/?category=INFORMATIQUE")
    assert bad.status_code == 400 and "leaf" in bad.json()["detail"]


def test_api_upload_applies_valid_rows_and_reports_bad_ones(reference_data, sandbox, superuser, token_client,
                                                             bad_file, django_capture_on_commit_callbacks):
    client = token_client(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/api/products/import/", {"store": reference_data.pk, "file": io.BytesIO(bad_file)},
                               format="multipart")
    body = response.json()
    assert response.status_code == 200, body
    assert (body["total_rows"], body["valid_rows"], body["rejected_rows"]) == (6, 2, 4)
    assert "did you mean Logitech" in body["errors"]["4"]["brand"]
    assert "not a number" in body["errors"]["5"]["price"]
    assert "already in row 2" in body["errors"]["6"]["sku"]
    assert "required" in body["errors"]["7"]["connection"]
    assert set(Product.objects.values_list("sku", flat=True)) == {"XL-1", "XL-2"}
    assert set(Product.objects.values_list("listing_state", flat=True)) == {"live"}
    assert sandbox.requests_for("offers_update")[0].body.decode().count("<offer>") == 2

    rejected = client.get(body["rejected_rows_url"])
    ws = openpyxl.load_workbook(io.BytesIO(rejected.content))["products"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][-1] == "errors" and len(rows) == 5
    assert rows[1][0] == "XL-3" and "brand: unknown brand 'Logitek'" in rows[1][-1]


def test_upload_updates_existing_products_through_inventory(reference_data, sandbox, superuser, token_client,
                                                            django_capture_on_commit_callbacks):
    from inventory.models import OfferChange

    p = Product.objects.create(store=reference_data, sku="XL-9", ean=ean13(9), name="old", brand="Logitech",
                               price=Decimal("10.00"), stock_on_hand=1, listing_state="live", fnac_offer_id="X")
    content = workbook([["XL-9", 29.5, 4]], header=("sku", "price", "quantity"))
    with django_capture_on_commit_callbacks(execute=True):
        body = token_client(superuser).post("/api/products/import/", {"store": reference_data.pk,
                                                                      "file": io.BytesIO(content)},
                                            format="multipart").json()
    assert body["valid_rows"] == 1 and body["counts"]["updated"] == 1
    p.refresh_from_db()
    assert p.price == Decimal("29.50") and p.stock_on_hand == 4
    assert OfferChange.objects.filter(product=p).exists()


def test_admin_upload_preview_then_apply(reference_data, sandbox, superuser, client, bad_file,
                                         django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(superuser)
    response = client.post("/admin/catalogue/product/upload/", {
        "store": reference_data.pk, "file": SimpleUploadedFile("p.xlsx", bad_file, content_type=XLSX)})
    assert response.status_code == 302
    upload = ProductUpload.objects.get()
    preview = client.get(response["Location"]).content.decode()
    assert "2 valid" in preview and "4 rejected" in preview and 'class="bad"' in preview
    assert "did you mean Logitech" in preview
    assert not Product.objects.exists()
    rejected = client.get(f"/admin/catalogue/product/upload/{upload.pk}/rejected/")
    assert rejected["Content-Type"] == XLSX
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/catalogue/product/upload/{upload.pk}/")
    upload.refresh_from_db()
    assert upload.state == "applied" and Product.objects.count() == 2 and upload.run_id


def test_command_import_products_dry_run_and_apply(reference_data, sandbox, bad_file, tmp_path, capsys,
                                                   django_capture_on_commit_callbacks):
    path = tmp_path / "p.xlsx"
    path.write_bytes(bad_file)
    call_command("import_products", "--store", str(reference_data.pk), str(path), "--dry-run")
    out = capsys.readouterr().out
    assert "6 rows, 2 valid, 4 rejected" in out and "row 4: brand" in out and "dry run" in out
    assert not Product.objects.exists() and not ProductUpload.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_products", "--store", str(reference_data.pk), str(path))
    assert "created=2" in capsys.readouterr().out and Product.objects.count() == 2


def test_a_file_that_is_not_xlsx_is_refused(reference_data, superuser, token_client):
    response = token_client(superuser).post("/api/products/import/", {
        "store": reference_data.pk, "file": io.BytesIO(b"not excel")}, format="multipart")
    assert response.status_code == 400 and "xlsx" in response.json()["detail"]


def test_ten_thousand_rows_validate_and_apply(reference_data, sandbox, superuser, token_client,
                                              django_capture_on_commit_callbacks):
    content = workbook([good_row(i) for i in range(1, 10_001)])
    with django_capture_on_commit_callbacks(execute=True):
        body = token_client(superuser).post("/api/products/import/", {"store": reference_data.pk,
                                                                      "file": io.BytesIO(content)},
                                            format="multipart").json()
    assert body["valid_rows"] == 10_000 and Product.objects.count() == 10_000
    updates = sandbox.requests_for("offers_update")
    assert len(updates) == 1 and updates[0].body.decode().count("<offer>") == 10_000
    assert Product.objects.filter(listing_state="live").count() == 10_000


# ---------------------------------------------------------------- API
def test_products_api_list_filters_search_and_constant_queries(connected_store, sandbox, superuser, token_client,
                                                               django_assert_max_num_queries):
    from catalogue.imports import catalogue_sync

    sandbox.seed_offers(60)
    catalogue_sync(store=connected_store, full=False, trigger="test")
    client = token_client(superuser)
    with django_assert_max_num_queries(6):
        page = client.get("/api/products/?page_size=50").json()
    assert page["count"] == 60 and len(page["results"]) == 50
    row = page["results"][0]
    assert {"sku", "name", "ean", "price", "quantity", "listing_state", "image_url", "category"} <= set(row)
    assert client.get("/api/products/?sku=SKU-000005").json()["count"] == 1
    Product.objects.filter(sku=row["sku"]).update(ean="3760000000017")  # FNAC's offers carry none: the OMS sets it
    assert client.get("/api/products/?search=3760000000017").json()["count"] == 1
    assert client.get("/api/products/?listing_state=live&active=true").json()["count"] == 60
    assert client.get(f"/api/products/?store={connected_store.pk}&active=false").json()["count"] == 0


def test_products_api_hides_other_stores(connected_store, sandbox, staff_user, token_client):
    Product.objects.create(store=connected_store, sku="A")
    assert token_client(staff_user).get("/api/products/").json()["count"] == 0


def test_product_patch_goes_through_inventory_and_validates(reference_data, sandbox, superuser, token_client,
                                                            django_capture_on_commit_callbacks):
    from inventory.models import OfferChange

    p = Product.objects.create(store=reference_data, sku="P1", ean=ean13(77), name="n", price=Decimal("10.00"),
                               stock_on_hand=2, listing_state="live", fnac_offer_id="F")
    client = token_client(superuser)
    response = client.patch(f"/api/products/{p.pk}/", {"price": "12.50", "quantity": 9}, format="json")
    assert response.status_code == 200 and response.json()["price"] == "12.50" and response.json()["quantity"] == 9
    assert OfferChange.objects.filter(product=p).exists()
    bad = client.patch(f"/api/products/{p.pk}/", {"price": "25000", "brand": "Nope"}, format="json")
    assert bad.status_code == 400 and "price" in bad.json()["errors"] and "brand" in bad.json()["errors"]
    with django_capture_on_commit_callbacks(execute=True):
        off = client.post(f"/api/products/{p.pk}/deactivate/")
    assert off.json()["is_active"] is False


def test_product_create_api_lists_it(reference_data, sandbox, superuser, token_client,
                                     django_capture_on_commit_callbacks):
    data = {"store": reference_data.pk, "sku": "API-1", "ean": ean13(500), "name": "Souris API",
            "brand": "Logitech", "category": "INFO_SOURIS", "price": "15.00", "quantity": 3,
            "attributes": {"connection": "USB-C"}}
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(superuser).post("/api/products/", data, format="json")
    assert response.status_code == 201
    assert Product.objects.get(sku="API-1").listing_state == "live" and "API-1" in sandbox.state.offers
    bad = token_client(superuser).post("/api/products/", {**data, "sku": "API-2", "brand": "Appel"}, format="json")
    assert bad.status_code == 400 and "unknown brand" in bad.json()["errors"]["brand"]


def test_delete_offer_api(connected_store, sandbox, superuser, token_client, django_capture_on_commit_callbacks):
    from catalogue.imports import catalogue_sync

    sandbox.seed_offers(1)
    catalogue_sync(store=connected_store, full=False, trigger="test")
    p = Product.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(superuser).post(f"/api/products/{p.pk}/delete-offer/")
    assert response.status_code == 202
    p.refresh_from_db()
    assert p.listing_state == "delisted" and not sandbox.state.offers


def test_categories_api_with_attributes(reference_data, superuser, token_client, django_assert_max_num_queries):
    client = token_client(superuser)
    # 9: the page's queries, and one read of the bad-token count of this client address (shared by every process
    # in the database without Redis: fnac_connector/authentication.py); none per category
    with django_assert_max_num_queries(9):
        body = client.get("/api/categories/?page_size=100").json()
    by_code = {c["code"]: c for c in body["results"]}
    laptops = by_code["INFO_PORTABLES"]
    codes = {a["code"]: a for a in laptops["attributes"]}
    assert laptops["is_leaf"] and not by_code["INFORMATIQUE"]["is_leaf"]
    assert codes["ram"]["required"] and "operating_system" in codes and codes["brand"]["required"]
    assert {"code": "APPLE", "label": "Apple"} in codes["brand"]["values"]


def test_a_filled_column_the_category_does_not_have_rejects_its_row(reference_data, superuser, token_client):
    header = ("sku", "ean", "title", "brand", "category", "condition", "price", "quantity", "description", "images",
              "connection", "colour_code")
    content = workbook([good_row(1) + ["red"], good_row(2) + [None]], header=header)
    body = token_client(superuser).post("/api/products/import/", {"store": reference_data.pk,
                                                                  "file": io.BytesIO(content)},
                                        format="multipart").json()
    assert (body["valid_rows"], body["rejected_rows"]) == (1, 1)
    assert "'colour_code' is not an attribute of category INFO_SOURIS" in body["errors"]["2"]["colour_code"]
    assert list(Product.objects.values_list("sku", flat=True)) == ["XL-2"]
