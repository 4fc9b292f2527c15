"""The seller's catalogue: add a product choosing its category's attributes before anything else is filled (the
fields are fetched, nothing is submitted), then an Excel upload with a bad row (its error is shown, the valid
rows are applied and listed on FNAC)."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from playwright.sync_api import expect

from catalogue.models import Product, ProductUpload, ValuesListValue
from catalogue.validation import gs1_check_ok
from tests.browser import pages
from tests.browser.world import connected_store

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def ean13(first12: str) -> str:
    return next(first12 + d for d in "0123456789" if gs1_check_ok(first12 + d))


def test_add_a_product_choosing_its_attributes_before_the_other_fields(ui, admin_user, sandbox):
    store = connected_store(sandbox, "Boutique Lille")
    ui.login("boss")
    ui.go(pages.PRODUCT_ADD)
    add_url = ui.page.url

    # the category first: its attribute fields come at once, nothing else filled, nothing submitted
    ui.fill({"category": "INFO_SOURIS"})
    connection = ui.field("attr_connection")
    expect(connection).to_be_visible()
    options = connection.locator("option").all_inner_texts()
    assert "Sans fil 2.4 GHz" in options and "Bluetooth" in options
    # "Show its attributes" works as well at this point (no required-field check blocks it)
    ui.page.get_by_role("button", name="Show its attributes").click()
    expect(ui.page.locator("#attribute-fields")).not_to_have_attribute("aria-busy", "true")
    expect(ui.field("attr_connection")).to_be_visible()
    assert ui.page.url == add_url and ui.field("sku").input_value() == ""
    ui.fill({"attr_connection": "Sans fil 2.4 GHz"})
    ui.step("attributes-chosen-first")

    # then the rest
    ean = ean13("376000000007")
    ui.fill({"store": str(store.pk), "sku": "MOUSE-7", "ean": ean, "name": "Souris sans fil Logitech M7",
             "brand": "Logitech", "price": "24.90", "quantity": "12", "description": "Souris sans fil 2.4 GHz",
             "images": "https://img.invalid/m7.jpg"})
    expect(ui.field("attr_connection")).to_have_value(re.compile(".+"))
    ui.step("product-add-filled", screen="product-add", top=True)
    ui.submit("Create and list on FNAC")
    expect(ui.page.locator("body")).to_contain_text("MOUSE-7")
    ui.step("product-created")
    product = Product.objects.get(store=store, sku="MOUSE-7")
    assert product.ean == ean and product.category.code == "INFO_SOURIS"
    # the value chosen in the drop-down, kept as its code in FNAC's value list
    chosen = ValuesListValue.objects.get(values_list__code="connection_types", label="Sans fil 2.4 GHz")
    assert product.attributes["connection"] == chosen.code
    assert product.listing_state == Product.ListingState.LIVE, product.listing_message
    offer = sandbox.state.offers["MOUSE-7"]
    assert offer.ean == ean and str(offer.price) == "24.90" and offer.quantity == 12
    assert any(b"MOUSE-7" in r.body for r in sandbox.requests_for("offers_update"))


def workbook(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "products"
    ws.append(["sku *", "ean *", "title *", "brand", "category", "condition", "price", "quantity", "description",
               "images", "connection"])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def row(i: int, **changes) -> list:
    data = {"sku": f"XL-{i}", "ean": ean13(f"3760000001{i:02d}"), "title": f"Souris {i}", "brand": "Logitech",
            "category": "INFO_SOURIS", "condition": "11", "price": 19.9, "quantity": 5, "description": "d",
            "images": "https://img.invalid/a.jpg", "connection": "Bluetooth"}
    data.update(changes)
    return list(data.values())


def test_excel_upload_with_a_bad_row_shows_its_error_and_applies_the_valid_rows(ui, admin_user, sandbox):
    store = connected_store(sandbox, "Boutique Rennes")
    ui.login("boss")
    ui.go(pages.PRODUCT_UPLOAD)
    ui.fill({"store": str(store.pk)})
    ui.page.locator("input[type=file][name=file]").set_input_files(files=[{
        "name": "souris.xlsx", "mimeType": XLSX,
        "buffer": workbook([row(1), row(2, brand="Logitek"), row(3)])}])
    ui.submit("Check the file")

    # the preview: the bad row and its error, the valid rows
    bad = ui.page.locator("td.bad").first
    expect(bad).to_contain_text("Logitek")
    expect(ui.page.locator("body")).to_contain_text("Logitech")  # the error says what FNAC's list holds
    ui.step("upload-preview", screen="excel-upload")
    upload = ProductUpload.objects.get(store=store)
    assert (upload.total_rows, upload.valid_rows, upload.rejected_rows) == (3, 2, 1)
    assert not Product.objects.filter(store=store).exists()  # nothing is created before Apply

    ui.submit(re.compile(r"Apply the 2 valid rows"))
    expect(ui.page.locator("body")).to_contain_text("2 created")
    ui.step("upload-applied")
    assert sorted(Product.objects.filter(store=store).values_list("sku", flat=True)) == ["XL-1", "XL-3"]
    listed = {r.body for r in sandbox.requests_for("offers_update")}
    assert any(b"XL-1" in body and b"XL-3" in body for body in listed)
    assert not any(b"XL-2" in body for body in listed)
    assert {"XL-1", "XL-3"} <= set(sandbox.state.offers) and "XL-2" not in sandbox.state.offers
