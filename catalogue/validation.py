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

    if given("sku"):
        sku = _text(data.get("sku"))
        if not sku:
            errors["sku"] = "required"
        elif len(sku) > 100:
            errors["sku"] = "at most 100 characters"
        elif any(c.isspace() for c in sku):
            errors["sku"] = "must not contain spaces"
        else:
            cleaned["sku"] = sku
    if given("ean"):
        ean = _text(data.get("ean")).replace(" ", "")
        if not ean:
            errors["ean"] = "required (FNAC lists products by EAN)"
        elif not gs1_check_ok(ean):
            errors["ean"] = f"{ean!r} is not a valid EAN (8, 12, 13 or 14 digits with a valid check digit)"
        else:
            cleaned["ean"] = ean
    if given("name"):
        name = _text(data.get("name"))
        if not name:
            errors["name"] = "required"
        elif len(name) > rules.MAX_TITLE:
            errors["name"] = f"at most {rules.MAX_TITLE} characters (got {len(name)})"
        else:
            cleaned["name"] = name
    if given("description"):
        description = _text(data.get("description"))
        if len(description) > rules.MAX_DESCRIPTION:
            errors["description"] = f"at most {rules.MAX_DESCRIPTION} characters (got {len(description)})"
        else:
            cleaned["description"] = description
    if given("condition"):
        condition = _text(data.get("condition")) or "11"
        by_label = {label.lower(): code for code, label in rules.CONDITIONS.items()}
        condition = by_label.get(condition.lower(), condition)
        if condition not in rules.CONDITIONS:
            errors["condition"] = (f"{condition!r} is not a FNAC condition; use one of "
                                   + ", ".join(f"{k} ({v})" for k, v in rules.CONDITIONS.items()))
        else:
            cleaned["condition"] = condition
    if given("price"):
        price = parse_price(data.get("price"), errors)
        if price is not None:
            cleaned["price"] = price
    if "sale_price" in data and _text(data.get("sale_price")):
        sale = parse_price(data.get("sale_price"), errors, "sale_price", required=False)
        if sale is not None:
            cleaned["sale_price"] = sale
    if given("quantity"):
        quantity = parse_quantity(data.get("quantity"), errors)
        if quantity is not None:
            cleaned["quantity"] = quantity
    if given("images"):
        raw = data.get("images")
        urls = raw if isinstance(raw, list | tuple) else re.split(r"[\s,|]+", _text(raw))
        urls = [_text(u) for u in urls if _text(u)]
        bad = [u for u in urls if not _URL.match(u) or len(u) > 255]
        if bad:
            errors["images"] = f"not an http(s) URL of at most 255 characters: {bad[0]}"
        elif len(urls) > limits.MAX_PICTURES:
            errors["images"] = f"at most {limits.MAX_PICTURES} pictures (got {len(urls)})"
        else:
            cleaned["images"] = urls

    # category, brand and attributes depend on the reference data
    category_code = _text(data.get("category")) if given("category") else (
        current.category.code if current is not None and current.category_id else "")
    if given("category"):
        if not category_code:
            errors["category"] = "required"
        elif category_code not in ctx.categories:
            errors["category"] = (f"unknown category {category_code!r}"
                                  + ("" if ctx.categories else " (categories not imported yet: run Sync Catalogue)"))
        elif category_code not in ctx.leaf_codes:
            errors["category"] = f"{category_code!r} has sub-categories; choose a leaf category"
        else:
            cleaned["category"] = ctx.categories[category_code]
    if given("brand"):
        brand = _text(data.get("brand"))
        list_code = ctx.brand_list_code()
        allowed = ctx.values.get(list_code, {})
        if not brand:
            errors["brand"] = "required"
        elif not allowed:
            errors["brand"] = "the FNAC brand list is not loaded yet: run Sync Catalogue"
        elif brand.lower() not in allowed:
            errors["brand"] = f"unknown brand {brand!r}; " + _suggest(brand, ctx.allowed_labels(list_code))
        else:
            cleaned["brand"] = ctx.labels[list_code][allowed[brand.lower()]]
    if (given("attributes") or given("category")) and category_code in ctx.leaf_codes:
        values = dict((current.attributes or {}) if current is not None else {})
        values.update({k: v for k, v in (data.get("attributes") or {}).items()})
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
        for key, value in (data.get("attributes") or {}).items():
            if key not in known_codes and key not in FIELD_ATTRIBUTES and _text(value):
                errors[key] = f"{key!r} is not an attribute of category {category_code}; it was not applied"
        cleaned["attributes"] = checked
    return cleaned, errors


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
