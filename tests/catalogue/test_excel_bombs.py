"""Excel bombs (issue 9, item 9): a workbook is measured before it is parsed. A few hundred kilobytes that unpack
to a huge cell, a huge part or a huge total, an absurd compression ratio, a DTD, or a file over the upload size
are refused with a clear error naming the file and the limit; nothing is stored and no row is applied."""

from __future__ import annotations

import io
import random
import string
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalogue.excel import upload_validate
from catalogue.models import Product, ProductUpload
from fnac_connector.errors import InvalidInput

pytestmark = pytest.mark.django_db
MB = 2**20
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _base_workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "products"
    ws.append(["sku", "description"])
    ws.append(["BOMB-1", "placeholder"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def crafted(cell_text: str, *, prolog: str = "", extra_parts: dict[str, bytes] | None = None) -> bytes:
    """A real .xlsx whose sheet holds ``cell_text`` in B2 as an inline string, as an attacker would write it
    (openpyxl itself truncates cells to Excel's 32,767 characters)."""
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{prolog}<worksheet {NS}><sheetData>'
             '<row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>description</t></is></c></row>'
             '<row r="2"><c r="A2" t="inlineStr"><is><t>BOMB-1</t></is></c>'
             f'<c r="B2" t="inlineStr"><is><t>{cell_text}</t></is></c></row>'
             "</sheetData></worksheet>")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_base_workbook())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, sheet.encode() if item.filename == SHEET else src.read(item.filename))
        for name, data in (extra_parts or {}).items():
            dst.writestr(name, data)
    return out.getvalue()


def incompressible(n: int) -> str:
    rng = random.Random(9)
    return "".join(rng.choices(string.ascii_letters + string.digits, k=n))


def _refusal(store, content: bytes) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        upload_validate(store=store, content=content, filename="bomb.xlsx")
    assert "file" in info.value.details
    assert not ProductUpload.objects.exists() and not Product.objects.exists()
    return info.value


# ---------------------------------------------------------------- each limit
def test_single_cell_bomb_is_refused_before_parsing(store, monkeypatch):
    content = crafted("A" * (40 * MB))  # 40 MB cell, about 40 KB on disk (the was 500 MB in 503 KB)
    assert len(content) < 200 * 1024

    def parse(*_a, **_k):
        raise AssertionError("openpyxl must not be asked to parse a bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", parse)
    error = _refusal(store, content)
    assert "UPLOAD_MAX_COMPRESSION_RATIO" in str(error) and SHEET in str(error)


def test_an_overlong_cell_is_refused_even_when_it_does_not_compress(store, settings):
    settings.UPLOAD_MAX_COMPRESSION_RATIO = 10_000
    error = _refusal(store, crafted(incompressible(400_000)))
    assert "UPLOAD_MAX_CELL_CHARS" in str(error)


def test_a_cell_just_over_excels_limit_is_refused_naming_row_and_column(store):
    error = _refusal(store, crafted(incompressible(40_000)))
    assert "Row 2, column description" in str(error) and "32,767" in str(error)


def test_a_part_larger_than_the_member_limit_is_refused(store, settings):
    settings.UPLOAD_MAX_MEMBER_MB = 1
    error = _refusal(store, crafted(incompressible(30_000),
                                    extra_parts={"xl/media/big.bin": random.Random(1).randbytes(2 * MB)}))
    assert "UPLOAD_MAX_MEMBER_MB" in str(error) and "xl/media/big.bin" in str(error)


def test_a_workbook_larger_than_the_total_limit_is_refused(store, settings):
    settings.UPLOAD_MAX_UNCOMPRESSED_MB = 1
    parts = {f"xl/media/p{i}.bin": random.Random(i).randbytes(400 * 1024) for i in range(3)}
    error = _refusal(store, crafted("ok", extra_parts=parts))
    assert "UPLOAD_MAX_UNCOMPRESSED_MB" in str(error)


def test_a_dtd_is_refused(store):
    prolog = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    error = _refusal(store, crafted("&b;", prolog=prolog))
    assert "DTD" in str(error)


def test_a_file_that_is_not_a_zip_is_refused_clearly(store):
    error = _refusal(store, b"sku,quantity\nA,1\n")
    assert "not a readable .xlsx" in str(error)


def test_an_ordinary_workbook_still_passes(store):
    upload = upload_validate(store=store, content=crafted("a fine description"), filename="ok.xlsx")
    assert upload.total_rows == 1 and upload.header == ["sku", "description"]


def test_a_sheet_claiming_16384_columns_is_read_as_wide_as_its_header(store):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "products"
    ws.append(["sku", "description"])
    ws.append(["WIDE-1", "d"])
    ws.cell(row=2, column=16384, value="far away")
    out = io.BytesIO()
    wb.save(out)
    upload = upload_validate(store=store, content=out.getvalue(), filename="wide.xlsx")
    assert upload.header == ["sku", "description"] and upload.total_rows == 1


# ---------------------------------------------------------------- the doors
def test_api_answers_400_naming_the_file(store, superuser, token_client):
    response = token_client(superuser).post(
        "/api/products/import/", {"store": store.pk, "file": io.BytesIO(crafted("A" * (40 * MB)))},
        format="multipart")
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "file_too_large" and "file" in body["errors"]
    assert not ProductUpload.objects.exists()


def test_api_refuses_an_upload_over_the_size_limit_before_reading_it(store, superuser, token_client, settings):
    settings.UPLOAD_MAX_FILE_MB = 0.01  # about 10 KB
    response = token_client(superuser).post(
        "/api/products/import/", {"store": store.pk, "file": io.BytesIO(crafted(incompressible(20_000)))},
        format="multipart")
    assert response.status_code == 400
    assert "UPLOAD_MAX_FILE_MB" in response.json()["detail"]
    assert not ProductUpload.objects.exists()


def test_admin_upload_shows_the_refusal_on_the_file_field(store, superuser, client):
    client.force_login(superuser)
    bomb = SimpleUploadedFile("bomb.xlsx", crafted("A" * (40 * MB)))
    response = client.post(reverse("admin:catalogue_product_upload"), {"store": store.pk, "file": bomb})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "UPLOAD_MAX_COMPRESSION_RATIO" in " ".join(errors["file"])
    assert not ProductUpload.objects.exists()


def test_admin_upload_over_the_size_limit_is_a_form_error(store, superuser, client, settings):
    settings.UPLOAD_MAX_FILE_MB = 0.01
    client.force_login(superuser)
    response = client.post(reverse("admin:catalogue_product_upload"),
                           {"store": store.pk, "file": SimpleUploadedFile("big.xlsx", b"x" * 20_000)})
    assert "UPLOAD_MAX_FILE_MB" in " ".join(response.context["form"].errors["file"])
    assert not ProductUpload.objects.exists()
