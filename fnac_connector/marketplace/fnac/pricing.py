"""``pricing_query``: what other sellers ask for a product (PricingQueryService.xsd), builder, parser and types.

The request lists up to ``MAX_PRODUCTS_PER_PRICING_QUERY`` product references (EAN by default) and asks for the
offers of the other sellers only (``sellers="others"``: "All sellers NOT including me" in the XSD), so the
connector never competes with its own offer. The answer has one ``pricing_product`` per reference:

- our own offer in ``seller_price`` / ``seller_shipping`` / ``seller_offer_sku`` / ``seller_offer_state``;
- the lowest price per generic condition in ``new_price`` / ``refurbished_price`` / ``used_price`` (+ shipping),
  as recorded from FNAC's sandbox by fnapy (alexandriagroup/fnapy, developer docs);
- one ``pricing type="professional|not professional|fnac"`` per competing offer (price, shipping_price,
  offer_status = the condition, the seller's name), as the XSD lists them;
- ``error`` elements when FNAC could not answer for that reference (unknown or invalid EAN).

What is not confirmed (see docs/pricing.md): whether the live API sends the ``pricing`` entries and the summary
prices together, which error code it uses for an unknown EAN, and whether more than 10 references refuse the
whole call or only the extra ones. The parser reads whatever of these is present.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .builder import PRODUCT_REFERENCE_TYPES, RequestHeader, _child, _root, _serialize
from .limits import MAX_PRODUCTS_PER_PRICING_QUERY
from .parser import _children, _errors_of, _FieldError, _iter_named, _opt_decimal, _text, parse_document
from .types import FnacErrorItem

SELLER_TYPES = ("professional", "not professional", "fnac")
SELLERS = ("all", "others")
# state.xsd RestrictedType: what a product_reference may contain (anything else refuses the whole call)
REFERENCE_PATTERN = re.compile(r"[0-9A-Z]*")
# the generic conditions FNAC's summary prices use; a product_state (types.PRODUCT_STATES) falls in one of them
CONDITION_GROUPS = {"new": ("11",), "refurbished": ("10",), "used": ("1", "2", "3", "4"),
                    "collectible": ("5", "6", "7", "8")}
_GROUP_OF = {state: group for group, states in CONDITION_GROUPS.items() for state in states}


def condition_group(state: str) -> str:
    """``new`` / ``refurbished`` / ``used`` / ``collectible`` for a product_state; the state itself when unknown (so an
    unknown state is never compared with a known one)."""
    return _GROUP_OF.get(str(state).strip(), f"state:{state}")


@dataclass(frozen=True)
class CompetingOffer:
    """One offer of another seller (a ``pricing`` entry), or a summary lowest price (``seller_type`` "summary")."""

    seller_type: str
    condition: str  # product_state code ("11" new...), or a group name for summary prices
    price: Decimal
    shipping_price: Decimal = Decimal("0")
    seller: str = ""

    @property
    def total(self) -> Decimal:
        return self.price + self.shipping_price

    @property
    def group(self) -> str:
        return self.condition if self.seller_type == "summary" else condition_group(self.condition)


@dataclass
class PricingProduct:
    """FNAC's answer for one product reference."""

    reference: str
    reference_type: str = "Ean"
    ean: str = ""
    product_name: str = ""
    product_url: str = ""
    # our own offer, as FNAC sees it
    seller_price: Decimal | None = None
    seller_shipping: Decimal | None = None
    seller_offer_sku: str = ""
    seller_offer_state: str = ""
    offers: list[CompetingOffer] = field(default_factory=list)
    errors: list[FnacErrorItem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(e.severity in ("ERROR", "FATAL") for e in self.errors)

    def competitors(self, condition: str) -> list[CompetingOffer]:
        """The other sellers' offers in the same generic condition as ``condition`` (a product_state); the summary
        prices only when FNAC sent no individual offers."""
        group = condition_group(condition)
        detailed = [o for o in self.offers if o.seller_type != "summary"]
        source = detailed if detailed else [o for o in self.offers if o.seller_type == "summary"]
        return [o for o in source if o.group == group]


def check_reference(reference: str) -> str | None:
    """Why FNAC would refuse this product reference in the whole call (XSD pattern), or None."""
    if not reference:
        return "empty product reference"
    if not REFERENCE_PATTERN.fullmatch(reference):
        return f"product reference {reference!r} may only hold digits and capital letters (FNAC's XSD)"
    return None


def build_pricing_query(header: RequestHeader, references: Sequence[str], *, reference_type: str = "Ean",
                        sellers: str = "others") -> bytes:
    if not references:
        raise ValueError("pricing_query needs at least one product reference")
    if len(references) > MAX_PRODUCTS_PER_PRICING_QUERY:
        raise ValueError(f"pricing_query takes at most {MAX_PRODUCTS_PER_PRICING_QUERY} products per call, got "
                         f"{len(references)}: split the list")
    if reference_type not in PRODUCT_REFERENCE_TYPES:
        raise ValueError(f"product reference type must be one of {', '.join(PRODUCT_REFERENCE_TYPES)}, got "
                         f"{reference_type!r}")
    if sellers not in SELLERS:
        raise ValueError(f"sellers must be one of {', '.join(SELLERS)}, got {sellers!r}")
    root = _root("pricing_query", header, sellers=sellers)
    for reference in references:
        problem = check_reference(str(reference))
        if problem:
            raise ValueError(problem)
        _child(root, "product_reference", str(reference), type=reference_type)
    return _serialize(root)


def _money(value: str, what: str) -> Decimal | None:
    try:
        return _opt_decimal(value, what)
    except _FieldError:
        return None


def parse_pricing_query(data: bytes) -> list[PricingProduct]:
    """One ``PricingProduct`` per ``pricing_product``; an unreadable price drops that offer, never the product."""
    root = parse_document(data, "pricing_query")
    products = []
    for element in _iter_named(root, "pricing_product"):
        fields = _children(element)
        ref = fields.get("product_reference")
        product = PricingProduct(
            reference=_text(ref), reference_type=(ref.get("type") if ref is not None else "") or "Ean",
            ean=_text(fields.get("ean")), product_name=_text(fields.get("product_name")),
            product_url=_text(fields.get("product_url")),
            seller_price=_money(_text(fields.get("seller_price")), "seller_price"),
            seller_shipping=_money(_text(fields.get("seller_shipping")), "seller_shipping"),
            seller_offer_sku=_text(fields.get("seller_offer_sku")),
            seller_offer_state=_text(fields.get("seller_offer_state")),
            errors=_errors_of(element),
        )
        for entry in _iter_named(element, "pricing"):
            ef = _children(entry)
            price = _money(_text(ef.get("price")), "price")
            if price is None:
                continue
            product.offers.append(CompetingOffer(
                seller_type=(entry.get("type") or "").strip(), condition=_text(ef.get("offer_status")),
                price=price, shipping_price=_money(_text(ef.get("shipping_price")), "shipping_price") or Decimal(0),
                seller=_text(ef.get("seller"))))
        for group in ("new", "refurbished", "used"):
            price = _money(_text(fields.get(f"{group}_price")), f"{group}_price")
            if price is not None:
                product.offers.append(CompetingOffer(
                    seller_type="summary", condition=group, price=price,
                    shipping_price=_money(_text(fields.get(f"{group}_shipping")), f"{group}_shipping") or Decimal(0)))
        products.append(product)
    return products
