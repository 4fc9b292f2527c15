"""Catalogue rules kept as data and small pure functions: what FNAC should show for a product, duplicate SKUs."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from fnac_connector.marketplace.fnac import limits
from fnac_connector.marketplace.fnac.types import PRODUCT_STATES
from stores.models import Store

CENT = Decimal("0.01")
MAX_STOCK_ON_HAND = 10_000_000  # an OMS stock count (FNAC is shown at most MAX_QUANTITY of it)
MAX_TITLE = 200
MAX_DESCRIPTION = 4000  # product description (Mirakl); the FNAC offer description is its first 255 characters
CONDITIONS = PRODUCT_STATES  # "11" New, "10" Refurbished, "1".."4" Used, "5".."8" Collectible


# ================================================================ what FNAC may sell, at what price
# The one implementation: listing, the stock and price push (inventory) and the catalogue import all use these.
def sellable_quantity(*, on_hand: int, reserved: int, safety_stock: int, is_active: bool = True) -> int:
    if not is_active:
        return 0
    return max(0, min(limits.MAX_QUANTITY, on_hand - reserved - safety_stock))


def fnac_quantity_for(product, store: Store) -> int:
    """On hand - reserved - the store's safety stock, never below 0, capped at FNAC's 9,999; 0 when inactive."""
    return sellable_quantity(on_hand=product.stock_on_hand, reserved=product.stock_reserved,
                             safety_stock=store.safety_stock, is_active=product.is_active)


def round_price(value: Decimal, rule: str) -> Decimal:
    """Apply a store's rounding rule (``Store.PriceRounding``) to an OMS price."""
    value = Decimal(value)
    if rule in (Store.PriceRounding.END_99, Store.PriceRounding.END_90):
        cents = value.quantize(CENT, rounding=ROUND_CEILING)
        base = cents.quantize(Decimal("1"), rounding=ROUND_FLOOR)
        end = Decimal("0.99") if rule == Store.PriceRounding.END_99 else Decimal("0.90")
        return base + end if cents - base <= end else base + 1 + end
    if rule == Store.PriceRounding.EURO:
        return value.quantize(Decimal("1"), rounding=ROUND_HALF_UP).quantize(CENT)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def mapped_price(*, price: Decimal | None, sale_price: Decimal | None, store: Store) -> Decimal | None:
    source = price
    if store.price_field == Store.PriceField.SALE_PRICE and sale_price is not None:
        source = sale_price
    if source is None:
        return None
    return round_price(source, store.price_rounding)


def fnac_price_for(product, store: Store) -> Decimal | None:
    """The price FNAC gets: the store's chosen OMS field (price, or sale price when set), then its rounding rule.
    None when the product has no price (the offer's price is then left as it is on FNAC)."""
    return mapped_price(price=product.price, sale_price=product.sale_price, store=store)


def price_problem(value, *, label: str = "price") -> str | None:
    """Why FNAC would refuse this price, or None."""
    try:
        value = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return f"{label} {value!r} is not a number"
    if not value.is_finite():
        return f"{label} {value} is not a number"
    # the range first: 1e308 cannot even be rounded to the cent
    if not limits.MIN_PRICE <= value <= limits.MAX_PRICE:
        return f"{label} {value} is outside FNAC's limits ({limits.MIN_PRICE} to {limits.MAX_PRICE:.2f} EUR)"
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        return f"{label} {value} has more than two decimals"
    return None


def differs_from_fnac(product, store) -> bool:
    """True when FNAC shows another price or quantity than the OMS would push (never overwritten on import)."""
    if product.fnac_price is not None and product.price is not None:
        if fnac_price_for(product, store) != product.fnac_price:
            return True
    if product.fnac_quantity is not None and fnac_quantity_for(product, store) != product.fnac_quantity:
        return True
    return False


def duplicate_winner_key(offer_fnac_id: str) -> str:
    """Duplicate SKU rule: of several FNAC offers with one SKU, the one with the smallest offer_fnac_id
    (case-insensitive) is imported. It does not depend on page order, so every run keeps the same offer."""
    return (offer_fnac_id or "\uffff").upper()
