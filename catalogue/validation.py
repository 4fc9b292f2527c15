"""Validation of product data against FNAC's rules and the Mirakl reference data (categories, attributes,
value lists). One function for every door: the admin form, the API, the Excel upload.

Errors are a dict ``{field or attribute code: message}`` so each door can show them where they belong.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from catalogue import rules
from catalogue.models import Category, CategoryAttribute, ValuesListValue
from fnac_connector.marketplace.fnac import limits

# Mirakl attributes that are Product fields rather than entries of Product.attributes
FIELD_ATTRIBUTES = {"category": "category", "ean": "ean", "title": "name", "brand": "brand",
                    "description": "description", "main_image": "images"}
BRAND_LIST_FALLBACK = "brands"
_URL = re.compile(r"^https?://\S+$", re.I)


def gs1_check_ok(code: str) -> bool:
    """GS1 check digit (EAN-8, UPC-12, EAN-13/ISBN-13, GTIN-14)."""
    if not code.isdigit() or len(code) not in (8, 12, 13, 14):
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


@dataclass
class CatalogueContext:
    """Reference data loaded once (a few queries) to validate one product or 10,000 rows."""

    categories: dict[str, Category] = field(default_factory=dict)
    leaf_codes: set[str] = field(default_factory=set)
    attributes: dict[str, list[CategoryAttribute]] = field(default_factory=dict)  # category code ("" common)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # list code -> {lower code/label: code}
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # list code -> {code: label}
    _cache: dict[str, list[CategoryAttribute]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> CatalogueContext:
        ctx = cls()
        ctx.categories = {c.code: c for c in Category.objects.all()}
        parents = {c.parent_code for c in ctx.categories.values() if c.parent_code}
        ctx.leaf_codes = {code for code in ctx.categories if code not in parents}
        for attr in CategoryAttribute.objects.select_related("category"):
            ctx.attributes.setdefault(attr.category.code if attr.category else "", []).append(attr)
        for list_code, code, label in ValuesListValue.objects.values_list("values_list__code", "code", "label"):
            lookup = ctx.values.setdefault(list_code, {})
            lookup[code.lower()] = code
            lookup.setdefault((label or code).lower(), code)
            ctx.labels.setdefault(list_code, {})[code] = label or code
        return ctx

    def ancestors(self, code: str) -> list[str]:
        out, seen = [], set()
        while code and code not in seen and code in self.categories:
            seen.add(code)
            out.append(code)
            code = self.categories[code].parent_code
        return out

    def attributes_for(self, category_code: str) -> list[CategoryAttribute]:
        """Common attributes plus those of the category and its parents; the deepest definition wins."""
        if category_code in self._cache:
            return self._cache[category_code]
        by_code: dict[str, CategoryAttribute] = {}
        for code in ["", *reversed(self.ancestors(category_code))]:
            for attr in self.attributes.get(code, []):
                by_code[attr.code] = attr
        result = sorted(by_code.values(), key=lambda a: (not a.required, a.code != "category", a.code))
        self._cache[category_code] = result
        return result

    def brand_list_code(self) -> str:
        for attr in self.attributes.get("", []):
            if attr.code == "brand" and attr.values_list_code:
                return attr.values_list_code
        return BRAND_LIST_FALLBACK

    def allowed_labels(self, list_code: str) -> list[str]:
        return sorted(self.labels.get(list_code, {}).values())


def _suggest(value: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(value, allowed, n=5, cutoff=0.5) or difflib.get_close_matches(
        value.lower(), [a.lower() for a in allowed], n=5, cutoff=0.5)
    if close:
        return "did you mean " + ", ".join(close) + "?"
    shown = allowed[:15]
    return "allowed values: " + ", ".join(shown) + (f" … ({len(allowed)} in all)" if len(allowed) > 15 else "")


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_price(value, errors: dict, key: str = "price", *, required: bool = True) -> Decimal | None:
    text = _text(value).replace(",", ".")
    if not text:
        if required:
            errors[key] = "required"
        return None
    try:
        price = Decimal(text)
    except InvalidOperation:
        errors[key] = f"{text[:40]!r} is not a number"
        return None
    if not price.is_finite():
        errors[key] = f"{text[:40]!r} is not a number"
        return None
    # the range first: 1e308 cannot even be rounded to the cent
    if not limits.MIN_PRICE <= price <= limits.MAX_PRICE:
        errors[key] = f"{text[:40]} is out of FNAC's range ({limits.MIN_PRICE} to {limits.MAX_PRICE} EUR)"
        return None
    if price != price.quantize(rules.CENT):
        errors[key] = f"{text} has more than 2 decimals"
        return None
    return price.quantize(rules.CENT)


def parse_quantity(value, errors: dict, key: str = "quantity", *, required: bool = True) -> int | None:
    text = _text(value)
    if not text:
        if required:
            errors[key] = "required"
        return None
    if not re.fullmatch(r"\d+", text):
        errors[key] = f"{text[:40]!r} is not a whole number ≥ 0"
        return None
    if len(text) > 12 or int(text) > rules.MAX_STOCK_ON_HAND:
        errors[key] = f"{text[:40]} is more than {rules.MAX_STOCK_ON_HAND:,} units"
        return None
    return int(text)


def product_validate(data: dict, ctx: CatalogueContext, *, partial: bool = False,
                     current=None) -> tuple[dict, dict[str, str]]:
    """Check and normalise product data. ``partial``: only the keys given (PATCH), checked against ``current``.

    Keys: sku, ean, name (or title), brand, category (code), condition, price, sale_price, quantity, description,
    images (list or whitespace/comma separated URLs), attributes (dict attribute code -> value).
    Returns (cleaned, errors); cleaned holds only valid values.
    """
    data = dict(data)
    if "title" in data and "name" not in data:
        data["name"] = data.pop("title")
    cleaned: dict = {}
    errors: dict[str, str] = {}

    def given(key: str) -> bool:
        return not partial or key in data

    for key, check in _FIELD_CHECKS:
        if key == "sale_price":  # optional even on create: checked only when a value is given
            if not ("sale_price" in data and _text(data.get("sale_price"))):
                continue
        elif not given(key):
            continue
        value, error = check(data.get(key))
        if error:
            errors[key] = error
        elif value is not None:
            cleaned[key] = value

    # category, brand and attributes depend on the reference data
    category_code = _text(data.get("category")) if given("category") else (
        current.category.code if current is not None and current.category_id else "")
    if given("category"):
        _keep(cleaned, errors, "category", _check_category(category_code, ctx))
    if given("brand"):
        _keep(cleaned, errors, "brand", _check_brand(_text(data.get("brand")), ctx))
    if (given("attributes") or given("category")) and category_code in ctx.leaf_codes:
        cleaned["attributes"] = _check_attributes(data.get("attributes") or {}, category_code, ctx, errors,
                                                  current=current)
    return cleaned, errors


def _keep(cleaned: dict, errors: dict, key: str, result: tuple) -> None:
    value, error = result
    if error:
        errors[key] = error
    else:
        cleaned[key] = value


# ---------------------------------------------------------------- one product field each: (cleaned value, error)
def _check_sku(value) -> tuple[str | None, str]:
    sku = _text(value)
    if not sku:
        return None, "required"
    if len(sku) > 100:
        return None, "at most 100 characters"
    if any(c.isspace() for c in sku):
        return None, "must not contain spaces"
    return sku, ""


def _check_ean(value) -> tuple[str | None, str]:
    ean = _text(value).replace(" ", "")
    if not ean:
        return None, "required (FNAC lists products by EAN)"
    if not gs1_check_ok(ean):
        return None, f"{ean!r} is not a valid EAN (8, 12, 13 or 14 digits with a valid check digit)"
    return ean, ""


def _check_name(value) -> tuple[str | None, str]:
    name = _text(value)
    if not name:
        return None, "required"
    if len(name) > rules.MAX_TITLE:
        return None, f"at most {rules.MAX_TITLE} characters (got {len(name)})"
    return name, ""


def _check_description(value) -> tuple[str | None, str]:
    description = _text(value)
    if len(description) > rules.MAX_DESCRIPTION:
        return None, f"at most {rules.MAX_DESCRIPTION} characters (got {len(description)})"
    return description, ""


def _check_condition(value) -> tuple[str | None, str]:
    condition = _text(value) or "11"
    by_label = {label.lower(): code for code, label in rules.CONDITIONS.items()}
    condition = by_label.get(condition.lower(), condition)
    if condition not in rules.CONDITIONS:
        return None, (f"{condition!r} is not a FNAC condition; use one of "
                      + ", ".join(f"{k} ({v})" for k, v in rules.CONDITIONS.items()))
    return condition, ""


def _error_of(parse, key: str, **kwargs):
    """A ``parse_price`` / ``parse_quantity`` as a field check."""
    def check(value):
        errors: dict[str, str] = {}
        parsed = parse(value, errors, key, **kwargs)
        return parsed, errors.get(key, "")
    return check


def _check_images(value) -> tuple[list | None, str]:
    urls = value if isinstance(value, list | tuple) else re.split(r"[\s,|]+", _text(value))
    urls = [_text(u) for u in urls if _text(u)]
    bad = [u for u in urls if not _URL.match(u) or len(u) > limits.MAX_OFFER_TEXT]
    if bad:
        return None, f"not an http(s) URL of at most {limits.MAX_OFFER_TEXT} characters: {bad[0]}"
    if len(urls) > limits.MAX_PICTURES:
        return None, f"at most {limits.MAX_PICTURES} pictures (got {len(urls)})"
    return urls, ""


_FIELD_CHECKS = (
    ("sku", _check_sku),
    ("ean", _check_ean),
    ("name", _check_name),
    ("description", _check_description),
    ("condition", _check_condition),
    ("price", _error_of(parse_price, "price")),
    ("sale_price", _error_of(parse_price, "sale_price", required=False)),
    ("quantity", _error_of(parse_quantity, "quantity")),
    ("images", _check_images),
)


# ---------------------------------------------------------------- fields checked against FNAC's reference data
def _check_category(code: str, ctx: CatalogueContext) -> tuple[Category | None, str]:
    if not code:
        return None, "required"
    if code not in ctx.categories:
        return None, (f"unknown category {code!r}"
                      + ("" if ctx.categories else " (categories not imported yet: run Sync Catalogue)"))
    if code not in ctx.leaf_codes:
        return None, f"{code!r} has sub-categories; choose a leaf category"
    return ctx.categories[code], ""


def _check_brand(brand: str, ctx: CatalogueContext) -> tuple[str | None, str]:
    list_code = ctx.brand_list_code()
    allowed = ctx.values.get(list_code, {})
    if not brand:
        return None, "required"
    if not allowed:
        return None, "the FNAC brand list is not loaded yet: run Sync Catalogue"
    if brand.lower() not in allowed:
        return None, f"unknown brand {brand!r}; " + _suggest(brand, ctx.allowed_labels(list_code))
    return ctx.labels[list_code][allowed[brand.lower()]], ""


def _check_attributes(given: dict, category_code: str, ctx: CatalogueContext, errors: dict, *,
                      current=None) -> dict:
    """The category's attributes (the product's current ones updated with ``given``), checked; errors by code."""
    values = dict((current.attributes or {}) if current is not None else {})
    values.update(dict(given.items()))
    checked = {}
    for attr in ctx.attributes_for(category_code):
        if attr.code in FIELD_ATTRIBUTES:
            continue
        value = _text(values.get(attr.code))
        if not value:
            if attr.required:
                errors[attr.code] = f"required for category {category_code} ({attr.label or attr.code})"
            continue
        message, value = _attribute_error(attr, value, ctx)
        if message:
            errors[attr.code] = message
        else:
            checked[attr.code] = value
    known_codes = {attr.code for attr in ctx.attributes_for(category_code)}
    for key, value in given.items():
        if key not in known_codes and key not in FIELD_ATTRIBUTES and _text(value):
            errors[key] = f"{key!r} is not an attribute of category {category_code}; it was not applied"
    return checked


def _attribute_error(attr: CategoryAttribute, value: str, ctx: CatalogueContext) -> tuple[str, str]:
    kind = (attr.type or "TEXT").upper()
    if kind == "LIST" and attr.values_list_code:
        lookup = ctx.values.get(attr.values_list_code, {})
        if value.lower() not in lookup:
            return (f"{value!r} is not in the list {attr.values_list_code}; "
                    + _suggest(value, ctx.allowed_labels(attr.values_list_code))), value
        return "", lookup[value.lower()]
    if kind == "INTEGER" and not re.fullmatch(r"-?\d+", value):
        return f"{value!r} is not a whole number", value
    if kind == "DECIMAL":
        try:
            Decimal(value.replace(",", "."))
        except InvalidOperation:
            return f"{value!r} is not a number", value
    if kind == "MEDIA" and not _URL.match(value):
        return f"{value!r} is not an http(s) URL", value
    return "", value
