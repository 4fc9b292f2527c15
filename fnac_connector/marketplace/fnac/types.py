"""Typed results and request items of the FNAC XML API.

Amounts are ``Decimal``; datetimes are timezone-aware; unknown state values are kept as strings.
Everything the parser does not map is ignored (the live API returns more than the 2018 XSDs list).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from .limits import MAX_OFFERS_PER_UPDATE, MAX_ORDERS_PER_UPDATE  # noqa: F401  (re-exported: limits.py is the source)

NAMESPACE = "http://www.fnac.com/schemas/mp-dialog.xsd"

ORDER_STATES = ("Created", "Accepted", "Refused", "ToShip", "Shipped", "NotReceived", "Received",
                "Cancelled", "Refunded", "Error")
LINE_STATES = ("ToAccept", "Accepted", "Refused", "ToShip", "Shipped", "NotReceived", "Received",
               "Refunded", "Cancelled")
ORDER_ACTIONS = ("accept_order", "confirm_to_send", "refund_order", "update", "accept_all_orders",
                 "confirm_all_to_send", "update_all", "receive_all_order")
LINE_ACTIONS = ("Accepted", "Refused", "Shipped", "Refunded", "Updated", "Received")
REFUND_REASONS = ("other", "counterfeit", "retraction", "cancelled_client", "unmatch_article",
                  "damaged_article", "unreceived_article", "returned_article", "no_stock",
                  "shipping_impossible")
PRODUCT_STATES = {"11": "New", "10": "Refurbished", "1": "Used - like new", "2": "Used - very good",
                  "3": "Used - good", "4": "Used - acceptable", "5": "Collectible - like new",
                  "6": "Collectible - very good", "7": "Collectible - good", "8": "Collectible - acceptable"}
FINAL_BATCH_STATUSES = ("OK", "WARNING", "ERROR", "FATAL")


@dataclass(frozen=True)
class FnacErrorItem:
    code: str
    message: str
    severity: str = "ERROR"


@dataclass(frozen=True)
class AuthToken:
    token: str
    validity: dt.datetime  # aware


# ---------------------------------------------------------------- offers
@dataclass
class Offer:
    """One ``offer`` of an offers_query answer."""

    offer_seller_id: str  # the seller SKU
    offer_fnac_id: str = ""
    product_fnac_id: str = ""
    product_name: str = ""
    price: Decimal | None = None
    quantity: int | None = None
    product_state: str = ""
    description: str = ""
    internal_comment: str = ""
    product_url: str = ""
    image: str = ""
    ean: str = ""  # when the answer carries one (not in the 2018 XSD)
    fee_excluding_taxes: Decimal | None = None
    time_to_ship: int | None = None
    raw_fields: dict[str, str] = field(default_factory=dict)  # every simple child, for unknown extras


@dataclass
class OffersPage:
    page: int
    total_paging: int
    nb_total_per_page: int
    nb_total_result: int
    offers: list[Offer]


@dataclass
class OfferUpdate:
    """One ``offer`` of an offers_update request. Only ``sku`` is required by FNAC."""

    sku: str
    product_reference: str = ""  # EAN by default
    product_reference_type: str = "Ean"  # Ean|Isbn|FnacId|PartNumber|CnetId|PartnerId
    price: Decimal | None = None
    product_state: str | None = None  # "11" new ...
    quantity: int | None = None  # 0..9999
    description: str | None = None  # <= 255
    internal_comment: str | None = None
    treatment: str | None = None  # "delete" removes the offer
    pictures: list[str] = field(default_factory=list)  # up to 4 URLs
    logistic_type_id: str | None = None
    time_to_ship: int | None = None


@dataclass
class OffersSent:
    """What ``FnacClient.offers_update_isolating`` did: the batches FNAC accepted (each with the offers it carries,
    to follow with batch_status), the offers FNAC refused when sent alone (SKU -> FNAC's error), and, when a call
    failed for another reason after some were sent, that error and the offers not sent."""

    batches: list[tuple[str, list[OfferUpdate]]] = field(default_factory=list)
    refused: dict[str, FnacErrorItem] = field(default_factory=dict)
    unsent: list[OfferUpdate] = field(default_factory=list)
    error: Exception | None = None
    calls: int = 0


class ItemOutcome:
    """``ok`` and ``message`` of a per-item result that has ``status`` and ``errors`` (a batch_status offer line, a
    messages_update / client_order_comments_update item)."""

    status: str
    errors: list[FnacErrorItem]

    @property
    def ok(self) -> bool:
        """Went through: status OK or WARNING with no error of severity ERROR/FATAL."""
        return self.status in ("OK", "WARNING") and not any(e.severity in ("ERROR", "FATAL") for e in self.errors)

    @property
    def message(self) -> str:
        return "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in self.errors)


@dataclass
class OfferResult(ItemOutcome):
    """Per-offer line of a batch_status answer."""

    status: str  # OK | WARNING | ERROR | FATAL | ...
    offer_seller_id: str = ""
    offer_fnac_id: str = ""
    product_fnac_id: str = ""
    errors: list[FnacErrorItem] = field(default_factory=list)


@dataclass
class BatchStatus:
    batch_id: str
    status: str  # ACTIVE | RUNNING | OK | WARNING | ERROR | FATAL
    offers: list[OfferResult] = field(default_factory=list)
    errors: list[FnacErrorItem] = field(default_factory=list)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_BATCH_STATUSES

    def results_for(self, skus) -> dict[str, OfferResult]:
        """The outcome of each SKU sent in this (final) batch, the one rule every flow reads.

        FNAC answers a finished batch whose offers all went through with ``status="OK"`` and only the
        batch_id, no per-offer lines (recorded from FNAC's sandbox): on an OK batch a SKU without a line
        succeeded. On any other status a SKU without a line is not known to have gone through: ERROR, with the
        batch's own errors when it gave some."""
        lines = {r.offer_seller_id: r for r in self.offers}
        out = {}
        for sku in skus:
            if sku in lines:
                out[sku] = lines[sku]
            elif self.status == "OK":
                out[sku] = OfferResult(status="OK", offer_seller_id=sku)
            else:
                errors = list(self.errors) or [FnacErrorItem(
                    "", f"batch {self.batch_id} ended {self.status} without a result for this offer")]
                out[sku] = OfferResult(status="ERROR", offer_seller_id=sku, errors=errors)
        return out


# ---------------------------------------------------------------- orders
@dataclass
class Address:
    firstname: str = ""
    lastname: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    address3: str = ""
    zipcode: str = ""
    city: str = ""
    country: str = ""  # ISO alpha-3, e.g. FRA
    phone: str = ""
    mobile: str = ""
    nif: str = ""


@dataclass
class OrderLine:
    order_detail_id: int
    state: str
    offer_seller_id: str = ""  # SKU
    product_fnac_id: str = ""
    offer_fnac_id: str = ""
    product_name: str = ""
    quantity: int = 0
    price: Decimal = Decimal("0")
    fees: Decimal = Decimal("0")
    product_state: str = ""
    shipping_price: Decimal | None = None
    shipping_method: str = ""
    tracking_number: str = ""
    tracking_company: str = ""
    created_at: dt.datetime | None = None
    debited_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    image: str = ""
    # old appliances the buyer hands back (French take-back obligation); sent by the live API, not in the 2018 XSD
    nb_products_to_take_back: int = 0


@dataclass
class Order:
    order_id: str
    state: str  # unknown values kept as-is
    created_at: dt.datetime
    shop_id: str = ""
    client_id: str = ""
    client_firstname: str = ""
    client_lastname: str = ""
    client_email: str = ""
    fees: Decimal | None = None
    vat_rate: Decimal | None = None
    delivery_note: str = ""
    updated_at: dt.datetime | None = None  # when the answer carries it
    shipping_address: Address | None = None
    billing_address: Address | None = None
    lines: list[OrderLine] = field(default_factory=list)
    raw_xml: str = ""  # the order fragment as received, for audit


@dataclass
class MalformedOrder:
    """An ``order`` element that could not be parsed; yielded in place of an Order, never raised."""

    reason: str
    raw_xml: str
    order_id: str = ""  # when it could be read


@dataclass
class OrdersPage:
    """One page of an orders_query answer; a malformed ``order`` is kept in place as MalformedOrder."""

    page: int
    total_paging: int
    nb_total_per_page: int
    nb_total_result: int
    orders: list[Order | MalformedOrder]


@dataclass
class LineUpdate:
    action: str  # Accepted | Refused | Shipped | Refunded | Updated | Received
    order_detail_id: int | None = None
    tracking_number: str | None = None  # <= 32
    tracking_company: str | None = None  # <= 100, a carriers_query code
    refund_reason: str | None = None


@dataclass
class OrderUpdate:
    order_id: str
    action: str  # accept_order | confirm_to_send | update | refund_order | accept_all_orders ...
    lines: list[LineUpdate]


@dataclass
class LineUpdateResult:
    order_detail_id: int
    status: str
    state: str = ""
    errors: list[FnacErrorItem] = field(default_factory=list)


@dataclass
class OrderUpdateResult:
    order_id: str
    status: str  # OK | ERROR ...
    state: str = ""
    errors: list[FnacErrorItem] = field(default_factory=list)
    lines: list[LineUpdateResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "OK" and not self.errors and all(
            line.status == "OK" and not line.errors for line in self.lines)


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str
    is_global: bool = True
