"""Bulk products through Excel: the per-category template, validation (preview) and application of an upload,
and the download of the rejected rows with an error column.

Every row is validated first; valid rows are applied whatever the bad ones say; applied products are listed on
FNAC in batches of up to 10,000 offers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import openpyxl
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from catalogue import rules, upload_limits
from catalogue.listing import products_list_request
from catalogue.models import Product, ProductUpload
from catalogue.validation import FIELD_ATTRIBUTES, CatalogueContext, product_validate
from fnac_connector.errors import InvalidInput
from fnac_connector.marketplace.fnac import limits
from stores import hooks
from stores.models import Store

SHEET = "products"
BASE_COLUMNS = [  # (column, label, required)
    ("sku", "Seller SKU", True), ("ean", "EAN", True), ("title", "Title (≤ 200 characters)", True),
    ("brand", "Brand (FNAC brand list)", True), ("category", "Category code (leaf)", True),
    ("condition", "Condition: 11 new, 10 refurbished, 1-4 used, 5-8 collectible", False),
    ("price", f"Price in EUR ({limits.MIN_PRICE} to {limits.MAX_PRICE}, 2 decimals)", True),
    ("quantity", "Stock quantity", True),
    ("description", "Description (≤ 4000 characters; FNAC shows the first 255 on the offer)", False),
    ("images", "Picture URLs (up to 4, separated by spaces)", False),
]
TEMPLATE_ROWS = 10_000
MAX_COLUMNS = 1_000
CONTENT_FIELDS = ("ean", "name", "brand", "category", "condition", "description", "images", "attributes")


# ================================================================ template
def template_build(*, category_code: str, ctx: CatalogueContext | None = None) -> bytes:
    ctx = ctx or CatalogueContext.load()
    if category_code not in ctx.categories:
        raise InvalidInput(f"unknown category {category_code!r}"
                           + ("" if ctx.categories else ": categories are not imported yet, run Sync Catalogue"),
                           details={"category": "unknown"})
    if category_code not in ctx.leaf_codes:
        raise InvalidInput(f"{category_code!r} has sub-categories; choose a leaf category",
                           details={"category": "not a leaf"})
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    lists = wb.create_sheet("lists")
    meta = wb.create_sheet("meta")
    meta["A1"], meta["B1"] = "category", category_code
    meta["A2"], meta["B2"] = "category_label", ctx.categories[category_code].label
    meta.sheet_state = "hidden"
    lists.sheet_state = "hidden"

    columns = [(code, label, required, "") for code, label, required in BASE_COLUMNS]
    for attr in ctx.attributes_for(category_code):
        if attr.code in FIELD_ATTRIBUTES:
            continue
        columns.append((attr.code, attr.label or attr.code, attr.required, attr.values_list_code))
    list_columns: dict[str, str] = {}

    def list_range(list_code: str, values: list[str]) -> str:
        if list_code not in list_columns:
            col = get_column_letter(len(list_columns) + 1)
            lists[f"{col}1"] = list_code
            for i, value in enumerate(values, start=2):
                lists[f"{col}{i}"] = value
            list_columns[list_code] = f"lists!${col}$2:${col}${max(2, len(values) + 1)}"
        return list_columns[list_code]

    red, bold = Font(bold=True, color="C00000"), Font(bold=True)
    for index, (code, label, required, list_code) in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=index, value=f"{code} *" if required else code)
        cell.font = red if required else bold
        cell.fill = PatternFill("solid", fgColor="F2F2F2")
        cell.comment = Comment(f"{label}{' (required)' if required else ''}", "fnac-connector")
        letter = get_column_letter(index)
        ws.column_dimensions[letter].width = max(12, min(40, len(code) + 6))
        values = None
        if code == "brand":
            values = ctx.allowed_labels(ctx.brand_list_code())
            list_code = ctx.brand_list_code()
        elif code == "condition":
            values, list_code = list(rules.CONDITIONS), "conditions"
        elif code == "category":
            values, list_code = [category_code], "categories"
        elif list_code:
            values = ctx.allowed_labels(list_code)
        if values:
            dv = DataValidation(type="list", formula1=list_range(list_code, values), allow_blank=not required,
                                showErrorMessage=True, errorTitle=code, error=f"Choose a value of {list_code}")
            dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# ================================================================ parsing and validation
@dataclass
class Row:
    number: int  # Excel row number
    sku: str
    data: dict
    cleaned: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)
    existing: Product | None = None


def _header_key(value) -> str:
    return str(value or "").strip().rstrip("*").strip()


def _read(content: bytes) -> tuple[list[str], str, list[tuple[int, list]]]:
    """Header, category (from the template's meta sheet) and the non-empty data rows. The file is measured
    first (upload_limits: sizes, compression, cell lengths) and parsed in read-only mode, at most as wide
    as its header and UPLOAD_MAX_ROWS deep."""
    upload_limits.xlsx_check(content)
    row_limit, cell_limit = upload_limits.max_rows(), upload_limits.max_cell_chars()
    try:
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not xlsx
        raise InvalidInput(f"The file is not a readable .xlsx workbook ({exc.__class__.__name__}: {exc}).",
                           details={"file": "not an .xlsx workbook"}) from None
    try:
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        category = ""
        if "meta" in wb.sheetnames:
            for key, value, *_ in wb["meta"].iter_rows(min_row=1, max_row=5, values_only=True):
                if key == "category" and value:
                    category = str(value).strip()
        header_row = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), None)
        if not header_row:
            raise InvalidInput("The sheet is empty: the first row must hold the column names (sku, ean, ...).",
                               details={"file": "empty"})
        header = [_header_key(v) for v in header_row]
        while header and not header[-1]:
            header.pop()  # a sheet claiming 16,384 columns is read as wide as its header
        if "sku" not in header:
            raise InvalidInput("No 'sku' column in the first row; download the template for the expected columns.",
                               details={"file": "no sku column"})
        if len(header) > MAX_COLUMNS:
            raise InvalidInput(f"{len(header)} columns in the first row; a template has at most {MAX_COLUMNS}.",
                               details={"file": [f"more than {MAX_COLUMNS} columns"]})
        data_rows = []
        rows = ws.iter_rows(min_row=2, max_col=len(header), values_only=True)
        for number, values in enumerate(rows, start=2):
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            for index, value in enumerate(values):
                if isinstance(value, str) and len(value) > cell_limit:
                    column = header[index] or get_column_letter(index + 1)
                    raise InvalidInput(f"Row {number}, column {column}: {len(value):,} characters; a cell holds at "
                                       f"most {cell_limit:,} (UPLOAD_MAX_CELL_CHARS).",
                                       details={"file": [f"row {number}, column {column}: cell too long"]})
            data_rows.append((number, list(values)))
            if len(data_rows) > row_limit:
                raise InvalidInput(f"More than {row_limit:,} rows (UPLOAD_MAX_ROWS); split the file.",
                                   details={"file": "too many rows"})
        return header, category, data_rows
    finally:
        wb.close()


def _rows(store: Store, content: bytes, default_category: str, ctx: CatalogueContext) -> tuple[list[str], list[Row]]:
    header, file_category, data_rows = _read(content)
    default_category = default_category or file_category
    known = {c for c, _l, _r in BASE_COLUMNS}
    rows: list[Row] = []
    for number, values in data_rows:
        data, attributes = {}, {}
        for key, value in zip(header, values, strict=False):
            if not key or key == "errors":
                continue
            if value is None or str(value).strip() == "":
                continue
            if key in known:
                data[key] = value
            else:
                attributes[key] = value
        if attributes:
            data["attributes"] = attributes
        sku = str(data.get("sku", "")).strip()
        if isinstance(data.get("sku"), float) and data["sku"].is_integer():
            sku = str(int(data["sku"]))
        data["sku"] = sku
        if "ean" in data and isinstance(data["ean"], int | float):
            data["ean"] = str(int(data["ean"]))
        rows.append(Row(number=number, sku=sku, data=data))

    existing: dict[str, Product] = {}
    skus = [r.sku for r in rows if r.sku]
    for start in range(0, len(skus), 900):
        for p in Product.objects.filter(store=store, sku__in=skus[start:start + 900]).select_related("category"):
            existing[p.sku] = p
    first_row: dict[str, int] = {}
    for row in rows:
        row.existing = existing.get(row.sku)
        data = dict(row.data)
        if row.existing is None:
            data.setdefault("category", default_category)
            row.cleaned, row.errors = product_validate(data, ctx)
        else:  # an update: only the filled cells are checked and applied
            if "attributes" in data and "category" not in data and row.existing.category_id:
                data["category"] = row.existing.category.code
            row.cleaned, row.errors = product_validate(data, ctx, partial=True, current=row.existing)
            if "ean" in row.cleaned and row.cleaned["ean"] != row.existing.ean \
                    and row.existing.listing_state == Product.ListingState.LIVE:
                row.errors["ean"] = "the EAN of a live offer cannot change"
        if row.sku:
            if row.sku in first_row:
                row.errors["sku"] = f"{row.sku!r} is already in row {first_row[row.sku]}"
            else:
                first_row[row.sku] = row.number
    return header, rows


def upload_validate(*, store: Store, content: bytes, filename: str, category_code: str = "",
                    user=None) -> ProductUpload:
    """Validate every row (nothing is applied) and keep the file for the preview, the apply and the download
    of rejected rows."""
    ctx = CatalogueContext.load()
    header, rows = _rows(store, content, category_code, ctx)
    errors = {str(r.number): r.errors for r in rows if r.errors}
    upload = ProductUpload(store=store, created_by=user if getattr(user, "pk", None) else None,
                           filename=filename[:255], category_code=category_code, header=header,
                           total_rows=len(rows), valid_rows=len(rows) - len(errors), rejected_rows=len(errors),
                           errors=errors,
                           counts={"new": sum(1 for r in rows if not r.errors and r.existing is None),
                                   "updates": sum(1 for r in rows if not r.errors and r.existing is not None)})
    upload.file.save(filename or "products.xlsx", ContentFile(content), save=False)
    upload.save()
    return upload


def upload_rows(upload: ProductUpload) -> list[Row]:
    """The rows of an upload as validated now (for the preview table)."""
    with upload.file.open("rb") as fh:
        content = fh.read()
    return _rows(upload.store, content, upload.category_code, CatalogueContext.load())[1]


def upload_apply(*, upload: ProductUpload, trigger: str = "admin", list_on_fnac: bool = True) -> ProductUpload:
    """Apply the valid rows (validated again: reference data may have changed); bad rows are left out.
    New products are created; existing ones updated (price and stock through the inventory capability);
    then every applied product is listed on FNAC (offers_update in batches of up to 10,000)."""
    if upload.state == ProductUpload.State.APPLIED:
        raise InvalidInput(f"Upload #{upload.pk} was already applied.")
    store = upload.store
    rows = upload_rows(upload)
    valid = [r for r in rows if not r.errors]
    now = timezone.now()
    to_list: list[int] = []
    counts = {"created": 0, "updated": 0, "rejected": len(rows) - len(valid)}
    with transaction.atomic():
        new_rows = [r for r in valid if r.existing is None]
        created = []
        for row in new_rows:
            c = row.cleaned
            images = c.get("images", [])
            created.append(Product(
                store=store, sku=c["sku"], ean=c["ean"], name=c["name"], brand=c["brand"], category=c["category"],
                condition=c.get("condition", "11"), price=c["price"], sale_price=c.get("sale_price"),
                stock_on_hand=c["quantity"], description=c.get("description", ""), images=images,
                image_url=images[0] if images else "", attributes=c.get("attributes", {}),
                listing_state=Product.ListingState.NOT_LISTED, created_at=now, updated_at=now))
        Product.objects.bulk_create(created, batch_size=1000)
        new_ids = list(Product.objects.filter(store=store, sku__in=[r.sku for r in new_rows]).values_list(
            "pk", flat=True)) if len(new_rows) <= 900 else _ids_for(store, [r.sku for r in new_rows])
        to_list.extend(new_ids)
        counts["created"] = len(new_ids)

        updated, fields, money_rows = [], set(), []
        for row in (r for r in valid if r.existing is not None):
            product, c = row.existing, row.cleaned
            changed = False
            for key in CONTENT_FIELDS:
                if key in c and getattr(product, key) != c[key]:
                    setattr(product, key, c[key])
                    fields.add(key)
                    changed = True
            if "images" in c:
                product.image_url = product.images[0] if product.images else ""
                fields.add("image_url")
            if changed:
                product.updated_at = now
                updated.append(product)
            if any(k in c for k in ("price", "sale_price", "quantity")):
                money_rows.append(row)
            if changed or any(k in c for k in ("price", "sale_price", "quantity")):
                counts["updated"] += 1
            if changed and product.listing_state != Product.ListingState.LIVE:
                to_list.append(product.pk)
            elif changed and {"description", "images", "condition"} & set(c):
                to_list.append(product.pk)
        if updated:
            Product.objects.bulk_update(updated, [*sorted(fields), "updated_at"], batch_size=500)
        _apply_money(store, money_rows, trigger)
        upload.state, upload.applied_at = ProductUpload.State.APPLIED, now
        upload.counts = {**(upload.counts or {}), **counts}
        if to_list and list_on_fnac and store.is_connected:
            run = products_list_request(store=store, product_ids=to_list, trigger=f"excel:{trigger}")
            upload.run = run
        upload.save(update_fields=["state", "applied_at", "counts", "run"])
    return upload


def _ids_for(store: Store, skus: list[str]) -> list[int]:
    ids = []
    for start in range(0, len(skus), 900):
        ids += list(Product.objects.filter(store=store, sku__in=skus[start:start + 900]).values_list("pk", flat=True))
    return ids


def _apply_money(store: Store, rows: list[Row], trigger: str) -> None:
    """Price and stock go through inventory (validation, stock movement, outbox, push)."""
    source = f"excel:{trigger}"
    for row in rows:
        c, p = row.cleaned, row.existing
        hooks.price_stock_write(product=p, price=c.get("price") if c.get("price") != p.price else None,
                                sale_price=c.get("sale_price") if c.get("sale_price") != p.sale_price else None,
                                quantity=c.get("quantity") if c.get("quantity") != p.stock_on_hand else None,
                                source=source)


def rejected_rows_workbook(upload: ProductUpload) -> bytes:
    """The rejected rows as they were uploaded, plus an ``errors`` column (column: message; ...)."""
    with upload.file.open("rb") as fh:
        content = fh.read()
    header, _category, data_rows = _read(content)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet(SHEET)
    ws.append([*(h for h in header), "errors"])
    for number, values in data_rows:
        errors = (upload.errors or {}).get(str(number))
        if errors:
            text = "; ".join(f"{k}: {v}" for k, v in errors.items())
            ws.append([*values, f"row {number}: {text}"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
