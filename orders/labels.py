"""Readable words for the FNAC codes an order carries (shipping method, refund/cancel reason) and for OMS status
codes kept as plain text (the status history). Labels only: stored values and FNAC wire values never change."""

from __future__ import annotations

from fnac_connector.choices import choice_label
from orders.models import OrderStatus

# FNAC's shipping methods (state.xsd, simpleType shipping_method)
SHIPPING_METHODS = {
    "20": "Standard", "21": "Standard with tracking", "22": "Registered (signed for)", "50": "Express",
    "51": "Bulky item, delivery mode 1", "52": "Bulky item, delivery mode 2", "53": "Bulky item, delivery mode 3",
    "54": "Bulky item, delivery mode 4", "55": "Pick-up point (relay)",
}

# FNAC's refund_reason codes (state.xsd, simpleType refund_reason) in the seller's words, in the order a seller
# cancelling an order looks for them
REFUND_REASONS = {
    "no_stock": "Out of stock",
    "shipping_impossible": "I cannot ship it",
    "cancelled_client": "The buyer asked to cancel",
    "unmatch_article": "The item does not match its description",
    "damaged_article": "The item arrived damaged",
    "unreceived_article": "The buyer did not receive the item",
    "returned_article": "The buyer returned the item",
    "retraction": "The buyer withdrew (cooling-off period)",
    "counterfeit": "Counterfeit item",
    "other": "Another reason",
}


def shipping_method_label(code: str) -> str:
    """``"53"`` -> ``"Bulky item, delivery mode 3"``; an unknown code is shown as FNAC sent it."""
    code = (code or "").strip()
    return SHIPPING_METHODS.get(code, code or "—")


def refund_reason_label(code: str) -> str:
    return REFUND_REASONS.get(code, code or "—")


def status_label(code: str) -> str:
    """``"awaiting_acceptance"`` -> ``"Awaiting acceptance"`` (empty: "—")."""
    return choice_label(OrderStatus, code, empty="—")


FNAC_STATES = {
    "Created": "Created (to accept)", "Accepted": "Accepted (awaiting payment)", "Refused": "Refused",
    "ToShip": "Paid (to ship)", "Shipped": "Shipped", "NotReceived": "Not received", "Received": "Received",
    "Refunded": "Refunded", "Cancelled": "Cancelled", "Error": "Error",
    # line states
    "ToAccept": "To accept",  # a line state
}


def fnac_state_label(code: str) -> str:
    return FNAC_STATES.get(code, code or "—")
