"""Catalogue rules kept as data and small pure functions: what FNAC should show for a product, duplicate SKUs."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from fnac_connector.marketplace.fnac.types import PRODUCT_STATES

CENT = Decimal("0.01")
MIN_PRICE = Decimal("0.90")
MAX_PRICE = Decimal("20000")
MAX_QUANTITY = 9999
MAX_STOCK_ON_HAND = 10_000_000  # an OMS stock count (FNAC is shown at most MAX_QUANTITY of it)
MAX_TITLE = 200
MAX_DESCRIPTION = 4000  # product description (Mirakl); the FNAC offer description is its first 255 characters
MAX_OFFER_DESCRIPTION = 255
MAX_PICTURES = 4
CONDITIONS = PRODUCT_STATES  # "11" New, "10" Refurbished, "1".."4" Used, "5".."8" Collectible


def rounded_price(value: Decimal | None, rounding: str) -> Decimal | None:
    """A store's price rounding (stores.Store.PriceRounding) applied to an OMS price."""
    if value is None:
        return None
    if rounding == "euro":
        return value.quantize(Decimal("1"), rounding=ROUND_HALF_UP).quantize(CENT)
    if rounding in ("end_99", "end_90"):
        ending = Decimal("0.99") if rounding == "end_99" else Decimal("0.90")
        whole = value.quantize(Decimal("1"), rounding=ROUND_CEILING)
        candidate = whole - 1 + ending
        return candidate if candidate >= value else whole + ending
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _inventory():
    try:
        from inventory import services
    except ImportError:
        return None
    return services if hasattr(services, "fnac_price_for") and hasattr(services, "fnac_quantity_for") else None


def fnac_price_for(product, store) -> Decimal | None:
    """The price the connector shows on FNAC for this product (store's price field and rounding); the inventory
    capability's rule when it is installed, so listing, push and import agree."""
    inventory = _inventory()
    if inventory is not None:
        return inventory.fnac_price_for(product, store)
    base = product.price
    if store.price_field == "sale_price" and product.sale_price is not None:
        base = product.sale_price
    return rounded_price(base, store.price_rounding)


def fnac_quantity_for(product, store) -> int:
    """The quantity the connector shows on FNAC: 0 when deactivated, else on hand - reserved - safety stock."""
    inventory = _inventory()
    if inventory is not None:
        return inventory.fnac_quantity_for(product, store)
    if not product.is_active:
        return 0
    available = product.stock_on_hand - product.stock_reserved - (store.safety_stock or 0)
    return max(0, min(MAX_QUANTITY, available))


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
