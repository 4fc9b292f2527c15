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
ORDER_ID_LENGTH = 13  # exactly: common.xsd order_id_restriction (minLength = maxLength = 13)


@dataclass(frozen=True)
class ErrorCode:
    """One FNAC error code: what it means, whether repeating the same call later may succeed, and whether FNAC
    is known to use it with that meaning (``confirmed``) or the sandbox picked it (nothing may depend on those)."""

    code: str
    meaning: str
    transient: bool = False
    confirmed: bool = False

    @property
    def final(self) -> bool:
        return not self.transient


# Codes seen in FNAC's answers (recorded by fnapy against FNAC's sandbox, see ../shared/fnac-api/NOTES.md) or
# named by the issue that set them; the connector may rely on these.
PRODUCT_NOT_FOUND = "ERR_026"
INVALID_REQUEST = "ERR_096"  # "XML Validation failed: ...": the whole call refused, status ERROR, no batch id
AUTH_FAILED = "ERR_097"
TOO_MANY_ELEMENTS = "ERR_105"
REFUND_NOT_ALLOWED = "ERR_109"
# Codes the sandbox answers where FNAC's own code is not known: the connector never decides on them (it reads
# the status and FNAC's message), so a different real code changes nothing but the text shown.
OFFER_NOT_FOUND = "ERR_107"
UNKNOWN_ORDER = "ERR_111"
ORDER_ACTION_NOT_ALLOWED = "ERR_112"
UNKNOWN_ORDER_LINE = "ERR_113"
LINE_ACTION_NOT_ALLOWED = "ERR_114"
BUYER_ONLY_ACTION = "ERR_116"
REFUND_REASON_MISSING = "ERR_117"
NOTHING_TO_UPDATE = "ERR_118"
UNKNOWN_SERVICE = "ERR_101"
NOT_IMPLEMENTED = "ERR_102"
NEW_OFFER_WITHOUT_PRODUCT = "ERR_106"
NEW_OFFER_WITHOUT_PRICE = "ERR_108"

ERROR_CODES: dict[str, ErrorCode] = {e.code: e for e in (
    ErrorCode(PRODUCT_NOT_FOUND, "Product not found: the product_reference is not in the FNAC catalogue (create "
                                 "it through Mirakl P41)", confirmed=True),
    ErrorCode(INVALID_REQUEST, "XML Validation failed: the whole call is refused (status ERROR, no batch id, "
                               "nothing applied)", confirmed=True),
    # re-authenticate once, then give up (the client does that; a repeated refusal is final)
    ErrorCode(AUTH_FAILED, "Authentication failed: wrong partner_id/shop_id/key on auth, or unknown/expired "
                           "token", transient=True, confirmed=True),
    ErrorCode(TOO_MANY_ELEMENTS, f"Too many elements in one call (offers_update > {MAX_OFFERS_PER_UPDATE} offers, "
                                 f"orders_update > {MAX_ORDERS_PER_UPDATE} orders)", confirmed=True),
    ErrorCode(REFUND_NOT_ALLOWED, "Refund not allowed in the order's or line's current state", confirmed=True),
    ErrorCode(UNKNOWN_SERVICE, "Unknown service (sandbox's code)"),
    ErrorCode(NOT_IMPLEMENTED, "Service not implemented by the sandbox (sandbox's code)"),
    ErrorCode(NEW_OFFER_WITHOUT_PRODUCT, "New offer without product_reference (sandbox's code)"),
    ErrorCode(OFFER_NOT_FOUND, "Offer not found: delete of an unknown SKU, or offer_reference type FnacId unknown "
                               "(sandbox's code)"),
    ErrorCode(NEW_OFFER_WITHOUT_PRICE, "New offer without price (sandbox's code)"),
    ErrorCode(UNKNOWN_ORDER, "Unknown order_id (sandbox's code)"),
    ErrorCode(ORDER_ACTION_NOT_ALLOWED, "Order action not allowed in the order's current state (sandbox's code)"),
    ErrorCode(UNKNOWN_ORDER_LINE, "Unknown order_detail_id for this order (sandbox's code)"),
    ErrorCode(LINE_ACTION_NOT_ALLOWED, "Line action not allowed with this order action or in the line's current "
                                       "state (sandbox's code)"),
    ErrorCode(BUYER_ONLY_ACTION, "Action reserved to the buyer/FNAC: receive_all_order, line action Received "
                                 "(sandbox's code)"),
    ErrorCode(REFUND_REASON_MISSING, "refund_reason missing (sandbox's code)"),
    ErrorCode(NOTHING_TO_UPDATE, "Nothing to update: no line of the order is eligible for this action "
                                 "(sandbox's code)"),
)}

# incidents_update (issue 15): FNAC's codes for these are unknown, the sandbox's choice
UNKNOWN_INCIDENT = "ERR_119"
INCIDENT_CLOSED = "ERR_120"
INVALID_EAN = "ERR_121"  # pricing_query, per product: the sandbox's code, FNAC's own is not known
ERROR_CODES.update({e.code: e for e in (
    ErrorCode(UNKNOWN_INCIDENT, "Unknown incident_id for this order (sandbox's code)"),
    ErrorCode(INCIDENT_CLOSED, "The incident is closed: nothing can be refunded through it any more "
                               "(sandbox's code)"),
    ErrorCode(INVALID_EAN, "pricing_query: invalid EAN (wrong check digit), per product (sandbox's code)"),
)})

# After-sale conversations (issue 15: messages_update, client_order_comments_update). ERR_128 was recorded by fnapy
# against FNAC's sandbox ("[ClientOrderComment Update] Comment not found"); the others are the sandbox's codes.
COMMENT_NOT_FOUND = "ERR_128"
MESSAGE_NOT_FOUND = "ERR_140"
MESSAGE_ACTION_NOT_ALLOWED = "ERR_141"
MESSAGE_REPLY_REFUSED = "ERR_142"
COMMENT_ALREADY_ANSWERED = "ERR_143"
ERROR_CODES.update({e.code: e for e in (
    ErrorCode(COMMENT_NOT_FOUND, "[ClientOrderComment Update] Comment not found", confirmed=True),
    ErrorCode(MESSAGE_NOT_FOUND, "Message not found: unknown message id for this shop (sandbox's code)"),
    ErrorCode(MESSAGE_ACTION_NOT_ALLOWED, "Message action not allowed on this message (sandbox's code)"),
    ErrorCode(MESSAGE_REPLY_REFUSED, "Reply refused by FNAC (sandbox's code)"),
    ErrorCode(COMMENT_ALREADY_ANSWERED, "The comment already has a reply (sandbox's code)"),
)})

# Authentication failed or the token is no longer valid: re-authenticate once, then give up.
AUTH_ERROR_CODES = frozenset({AUTH_FAILED})
# A whole call refused for what it carries: sending its items in smaller calls isolates the offending ones.
SPLITTABLE_CODES = frozenset({INVALID_REQUEST, TOO_MANY_ELEMENTS})


def error_meaning(code: str) -> str:
    """What an FNAC error code means, or an empty string for a code not listed here."""
    known = ERROR_CODES.get(code)
    return known.meaning if known else ""


def is_transient(code: str) -> bool:
    """True when repeating the same call later may succeed; an unknown code is final (never blindly repeat)."""
    known = ERROR_CODES.get(code)
    return bool(known and known.transient)
