"""Request builders of the FNAC XML API.

Each function returns the request body as UTF-8 bytes. Children are emitted in the order the per-service
XSD lists them, and every value the XSD limits is checked here, so a bad value raises ``ValueError``
before anything is sent (FNAC would refuse the whole call otherwise).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from lxml import etree

from .limits import (
    MAX_OFFER_TEXT,
    MAX_OFFERS_PER_UPDATE,
    MAX_ORDER_IDS_PER_QUERY,
    MAX_ORDERS_PER_UPDATE,
    MAX_PICTURES,
    MAX_PRICE,
    MAX_QUANTITY,
    MIN_PRICE,
    ORDER_ID_LENGTH,
)
from .types import (
    LINE_ACTIONS,
    NAMESPACE,
    ORDER_ACTIONS,
    ORDER_STATES,
    PRODUCT_STATES,
    REFUND_REASONS,
    OfferUpdate,
    OrderUpdate,
)

PRODUCT_REFERENCE_TYPES = ("Ean", "Isbn", "FnacId", "PartNumber", "CnetId", "PartnerId")
OFFER_DATE_TYPES = ("Created", "Modified")
ORDER_DATE_TYPES = ("CreatedAt", "UpdatedAt", "AcceptedAt", "ReceivedAt", "DebitedAt", "ShippedAt",
                    "RefusedAt", "CancelledAt")
QUANTITY_MODES = ("Equals", "LessThan", "GreaterThan", "LessThanOrEquals", "GreaterThanOrEquals")
SORT_ORDERS = ("ASC", "DESC")
OFFER_TREATMENTS = ("delete",)
CENTS = Decimal("0.01")


@dataclass(frozen=True)
class RequestHeader:
    """The attributes every request except ``auth`` carries on its root."""

    partner_id: str
    shop_id: str
    token: str


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def _root(service: str, header: RequestHeader | None = None, **attrs: str) -> etree._Element:
    root = etree.Element(_q(service), nsmap={None: NAMESPACE})
    if header is not None:
        root.set("partner_id", header.partner_id)
        root.set("shop_id", header.shop_id)
        root.set("token", header.token)
    for name, value in attrs.items():
        root.set(name, value)
    return root


def _child(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, _q(tag))
    for name, value in attrs.items():
        element.set(name, value)
    if text is not None:
        element.text = text
    return element


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def _datetime(value: dt.datetime, what: str) -> str:
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    return value.replace(microsecond=0).isoformat()


def _positive_int(value: int, what: str) -> str:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return str(value)


def _max_length(value: str, limit: int, what: str) -> str:
    value = str(value)
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters long, FNAC accepts at most {limit}")
    return value


def _one_of(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def format_price(value: Decimal | int | float | str) -> str:
    """Price with two decimals (half up), checked against FNAC's 0.90..20000 range."""
    try:
        amount = Decimal(str(value)).quantize(CENTS, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"price {value!r} is not a number") from exc
    if not amount.is_finite() or amount < MIN_PRICE or amount > MAX_PRICE:
        raise ValueError(f"price {value} is outside FNAC's range {MIN_PRICE}..{MAX_PRICE}")
    return f"{amount:.2f}"


def check_quantity(value: int, what: str = "quantity") -> str:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_QUANTITY:
        raise ValueError(f"{what} must be an integer in 0..{MAX_QUANTITY}, got {value!r}")
    return str(value)


def _order_id(value: str) -> str:
    value = str(value or "")
    if not value or len(value) != ORDER_ID_LENGTH:
        raise ValueError(f"order id {value!r} must be exactly {ORDER_ID_LENGTH} characters "
                         "(FNAC's order_id_restriction)")
    return value


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _uuid(value: str, what: str) -> str:
    """FNAC's message, comment and incident ids are UUIDs (MessagesQueryService.xsd, IncidentsQueryService.xsd)."""
    value = str(value or "").strip()
    if not _UUID.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a FNAC identifier (a UUID: 8-4-4-4-12 hexadecimal)")
    return value


def _date_constraint(parent: etree._Element, date_type: str, date_min: dt.datetime | None,
                     date_max: dt.datetime | None) -> None:
    """The ``date`` filter of a query service: ``type`` (already checked by the caller against the service's
    list), then ``min`` and/or ``max``. Call it only when a bound is given."""
    date = _child(parent, "date", type=date_type)
    if date_min is not None:
        _child(date, "min", _datetime(date_min, "date min"))
    if date_max is not None:
        _child(date, "max", _datetime(date_max, "date max"))
    if date_min is not None and date_max is not None and date_min > date_max:
        raise ValueError(f"date min {date_min.isoformat()} is after date max {date_max.isoformat()}")


# ---------------------------------------------------------------- auth
def build_auth(*, partner_id: str, shop_id: str, key: str) -> bytes:
    for name, value in (("partner_id", partner_id), ("shop_id", shop_id), ("key", key)):
        if not value:
            raise ValueError(f"auth needs a {name}")
    root = _root("auth")
    _child(root, "partner_id", str(partner_id))
    _child(root, "shop_id", str(shop_id))
    _child(root, "key", str(key))
    return _serialize(root)


# ---------------------------------------------------------------- offers
@dataclass(frozen=True)
class DateFilter:
    type: str
    min: dt.datetime | None = None
    max: dt.datetime | None = None


def build_offers_query(
    header: RequestHeader,
    *,
    page: int = 1,
    results_count: int = 100,
    dates: Iterable[DateFilter] = (),
    offer_seller_ids: Iterable[str] = (),
    quantity: tuple[str, int] | None = None,
) -> bytes:
    """offers_query. ``quantity`` is (mode, value), e.g. ("GreaterThan", 0)."""
    root = _root("offers_query", header, results_count=_positive_int(results_count, "results_count"))
    _child(root, "paging", _positive_int(page, "page"))
    for date in dates:
        _date_constraint(root, _one_of(date.type, OFFER_DATE_TYPES, "offers date type"), date.min, date.max)
    if quantity is not None:
        mode, value = quantity
        _child(root, "quantity", mode=_one_of(mode, QUANTITY_MODES, "quantity mode"),
               value=check_quantity(value, "quantity filter value"))
    for sku in offer_seller_ids:
        if not sku:
            raise ValueError("offer_seller_id filter must not be empty")
        _child(root, "offer_seller_id", str(sku))
    return _serialize(root)


def _offer(parent: etree._Element, offer: OfferUpdate, index: int) -> None:
    where = f"offer #{index} ({offer.sku!r})"
    if not offer.sku:
        raise ValueError(f"offer #{index}: sku (offer_seller_id) is required")
    element = _child(parent, "offer")
    if offer.product_reference:
        _child(element, "product_reference", str(offer.product_reference),
               type=_one_of(offer.product_reference_type, PRODUCT_REFERENCE_TYPES,
                            f"{where} product_reference_type"))
    _child(element, "offer_reference", _max_length(offer.sku, MAX_OFFER_TEXT, f"{where} sku"), type="SellerSku")
    if offer.price is not None:
        try:
            _child(element, "price", format_price(offer.price))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    if offer.product_state is not None:
        _child(element, "product_state",
               _one_of(str(offer.product_state), tuple(PRODUCT_STATES), f"{where} product_state"))
    if offer.quantity is not None:
        _child(element, "quantity", check_quantity(offer.quantity, f"{where} quantity"))
    if offer.description is not None:
        _child(element, "description", _max_length(offer.description, MAX_OFFER_TEXT, f"{where} description"))
    if offer.internal_comment is not None:
        _child(element, "internal_comment",
               _max_length(offer.internal_comment, MAX_OFFER_TEXT, f"{where} internal_comment"))
    if offer.treatment is not None:
        _child(element, "treatment", _one_of(offer.treatment, OFFER_TREATMENTS, f"{where} treatment"))
    if offer.pictures:
        if len(offer.pictures) > MAX_PICTURES:
            raise ValueError(f"{where}: {len(offer.pictures)} pictures, FNAC accepts at most {MAX_PICTURES}")
        pictures = _child(element, "pictures")
        for number, url in enumerate(offer.pictures, start=1):
            _child(pictures, f"picture_{number}", _max_length(url, MAX_OFFER_TEXT, f"{where} picture_{number}"))
    if offer.logistic_type_id is not None:
        _child(element, "logistic_type_id",
               _max_length(offer.logistic_type_id, MAX_OFFER_TEXT, f"{where} logistic_type_id"))
    if offer.time_to_ship is not None:
        if isinstance(offer.time_to_ship, bool) or not isinstance(offer.time_to_ship, int) \
                or offer.time_to_ship < 0:
            raise ValueError(f"{where}: time_to_ship must be a non-negative integer")
        _child(element, "time_to_ship", str(offer.time_to_ship))


def _batch_size_check(service: str, items: Sequence, most: int, noun: str) -> None:
    """One call of ``service`` carries 1 to ``most`` items; otherwise ValueError."""
    if not items:
        raise ValueError(f"{service} needs at least one {noun}")
    if len(items) > most:
        raise ValueError(f"{service} takes at most {most} {noun}s per call, got {len(items)}: split the batch")


def build_offers_update(header: RequestHeader, offers: Sequence[OfferUpdate]) -> bytes:
    _batch_size_check("offers_update", offers, MAX_OFFERS_PER_UPDATE, "offer")
    root = _root("offers_update", header)
    for index, offer in enumerate(offers):
        _offer(root, offer, index)
    return _serialize(root)


def build_batch_status(header: RequestHeader, batch_id: str) -> bytes:
    if not batch_id:
        raise ValueError("batch_status needs a batch_id")
    root = _root("batch_status", header)
    _child(root, "batch_id", str(batch_id))
    return _serialize(root)


# ---------------------------------------------------------------- orders
def build_orders_query(
    header: RequestHeader,
    *,
    page: int = 1,
    results_count: int = 100,
    date_type: str = "CreatedAt",
    date_min: dt.datetime | None = None,
    date_max: dt.datetime | None = None,
    states: Sequence[str] | None = None,
    sort_by: str | None = None,
    order_ids: Sequence[str] | None = None,
) -> bytes:
    """orders_query. One state is sent as ``state``, several as ``states/state``."""
    root = _root("orders_query", header, results_count=_positive_int(results_count, "results_count"))
    _child(root, "paging", _positive_int(page, "page"))
    if date_min is not None or date_max is not None:
        _date_constraint(root, _one_of(date_type, ORDER_DATE_TYPES, "orders date type"), date_min, date_max)
    if states:
        for state in states:
            _one_of(state, ORDER_STATES, "order state filter")
        if len(states) == 1:
            _child(root, "state", states[0])
        else:
            wrapper = _child(root, "states")
            for state in states:
                _child(wrapper, "state", state)
    if sort_by is not None:
        _child(root, "sort_by", _one_of(sort_by, SORT_ORDERS, "sort_by"))
    if order_ids:
        if len(order_ids) > MAX_ORDER_IDS_PER_QUERY:
            raise ValueError(f"orders_query takes at most {MAX_ORDER_IDS_PER_QUERY} order ids, "
                             f"got {len(order_ids)}")
        wrapper = _child(root, "orders_fnac_id")
        for order_id in order_ids:
            _child(wrapper, "order_fnac_id", _order_id(order_id))
    return _serialize(root)


def build_orders_update(header: RequestHeader, updates: Sequence[OrderUpdate]) -> bytes:
    _batch_size_check("orders_update", updates, MAX_ORDERS_PER_UPDATE, "order")
    root = _root("orders_update", header)
    for update in updates:
        where = f"order {update.order_id!r}"
        order = _child(root, "order", order_id=_order_id(update.order_id),
                       action=_one_of(update.action, ORDER_ACTIONS, f"{where} action"))
        if not update.lines:
            raise ValueError(f"{where}: at least one order_detail is required")
        for line in update.lines:
            detail = _child(order, "order_detail")
            if line.order_detail_id is not None:
                _child(detail, "order_detail_id",
                       _positive_int(line.order_detail_id, f"{where} order_detail_id"))
            _child(detail, "action", _one_of(line.action, LINE_ACTIONS, f"{where} line action"))
            if line.tracking_number is not None:
                _child(detail, "tracking_number",
                       _max_length(line.tracking_number, 32, f"{where} tracking_number"))
            if line.tracking_company is not None:
                _child(detail, "tracking_company",
                       _max_length(line.tracking_company, 100, f"{where} tracking_company"))
            if line.refund_reason is not None:
                _child(detail, "refund_reason",
                       _one_of(line.refund_reason, REFUND_REASONS, f"{where} refund_reason"))
    return _serialize(root)


def build_carriers_query(header: RequestHeader) -> bytes:
    root = _root("carriers_query", header)
    _child(root, "query", "all")
    return _serialize(root)
