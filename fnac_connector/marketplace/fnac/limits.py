"""FNAC's limits and error codes, in one place.

Every layer that must respect what FNAC accepts (the request builder, the catalogue rules, inventory,
the sandbox that plays FNAC) reads these values from here; none keeps its own copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Offer values (OffersUpdateService.xsd and FNAC's seller documentation).
MIN_PRICE = Decimal("0.90")
MAX_PRICE = Decimal("20000")
MAX_QUANTITY = 9999
MAX_OFFER_TEXT = 255  # an offer's SKU, description, internal comment, picture URL, logistic type
MAX_PICTURES = 4

# Items per call.
MAX_OFFERS_PER_UPDATE = 10_000  # offers_update
MAX_ORDERS_PER_UPDATE = 25  # orders_update
MAX_ORDER_IDS_PER_QUERY = 50  # orders_query by order id
MAX_PRODUCTS_PER_PRICING_QUERY = 10  # pricing_query
ORDER_ID_MAX_LENGTH = 13


@dataclass(frozen=True)
class ErrorCode:
    """One FNAC error code: what it means and whether repeating the same call later may succeed."""

    code: str
    meaning: str
    transient: bool = False

    @property
    def final(self) -> bool:
        return not self.transient


AUTH_FAILED = "ERR_097"
PRODUCT_NOT_FOUND = "ERR_026"

ERROR_CODES: dict[str, ErrorCode] = {e.code: e for e in (
    ErrorCode("ERR_001", "Request rejected: XML not well-formed, wrong root element or invalid against the "
                         "service XSD (status FATAL)"),
    ErrorCode("ERR_026", "Product not found: the product_reference is not in the FNAC catalogue (create it "
                         "through Mirakl P41)"),
    ErrorCode("ERR_096", "XML Validation failed: the whole call is refused, no batch id"),
    # re-authenticate once, then give up (the client does that; a repeated refusal is final)
    ErrorCode("ERR_097", "Authentication failed: wrong partner_id/shop_id/key on auth, or unknown/expired "
                         "token", transient=True),
    ErrorCode("ERR_101", "Unknown service"),
    ErrorCode("ERR_102", "Service not implemented"),
    ErrorCode("ERR_103", f"Too many items in one call (offers_update > {MAX_OFFERS_PER_UPDATE} offers, "
                         f"orders_update > {MAX_ORDERS_PER_UPDATE} orders)"),
    ErrorCode("ERR_104", "Offer invalid against the XSD (one offer only; the rest of the batch is processed)"),
    ErrorCode("ERR_105", f"Price out of range ({MIN_PRICE} to {MAX_PRICE})"),
    ErrorCode("ERR_106", "New offer without product_reference"),
    ErrorCode("ERR_107", "Offer not found (delete of an unknown SKU, or offer_reference type FnacId unknown)"),
    ErrorCode("ERR_108", "New offer without price"),
    ErrorCode("ERR_109", "Refund not allowed in the order's current state"),
    ErrorCode("ERR_110", "Unknown batch_id"),
    ErrorCode("ERR_111", "Unknown order_id"),
    ErrorCode("ERR_112", "Order action not allowed in the order's current state"),
    ErrorCode("ERR_113", "Unknown order_detail_id for this order"),
    ErrorCode("ERR_114", "Line action not allowed with this order action or in the line's current state"),
    ErrorCode("ERR_115", "Unknown carrier in tracking_company (see carriers_query)"),
    ErrorCode("ERR_116", "Action reserved to the buyer/FNAC (receive_all_order, line action Received)"),
    ErrorCode("ERR_117", "refund_reason missing"),
    ErrorCode("ERR_118", "Nothing to update: no line of the order is eligible for this action"),
)}

# Authentication failed or the token is no longer valid: re-authenticate once, then give up.
AUTH_ERROR_CODES = frozenset({AUTH_FAILED})


def error_meaning(code: str) -> str:
    """What an FNAC error code means, or an empty string for a code not listed here."""
    known = ERROR_CODES.get(code)
    return known.meaning if known else ""


def is_transient(code: str) -> bool:
    """True when repeating the same call later may succeed; an unknown code is final (never blindly repeat)."""
    known = ERROR_CODES.get(code)
    return bool(known and known.transient)
