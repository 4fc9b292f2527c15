"""Response parsers of the FNAC XML API.

Strict about nothing but what the connector needs: unknown elements are ignored, empty elements read
as "" / None, CDATA is plain text, the namespace is optional, unknown state values are kept as strings.

Errors:
- root ``status`` ERROR/FATAL with ``<error code=..>`` -> ``Rejected`` (``AuthError`` when a code is in
  ``AUTH_ERROR_CODES`` or the message clearly speaks of authentication / token);
- not XML, truncated, or an unexpected root element -> ``BadResponse``;
- one broken ``order`` in an orders_query page -> a ``MalformedOrder`` in its place, the rest is parsed.

Paged lists (offers_query, orders_query) are parsed with ``iterparse`` and each element is cleared
after use, so memory stays flat whatever the page size.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import IO
from zoneinfo import ZoneInfo

from lxml import etree

from ..errors import AuthError, BadResponse, Rejected
from .limits import AUTH_ERROR_CODES
from .types import (
    Address,
    AuthToken,
    BatchStatus,
    Carrier,
    FnacErrorItem,
    LineUpdateResult,
    MalformedOrder,
    Offer,
    OfferResult,
    OffersPage,
    Order,
    OrderLine,
    OrdersPage,
    OrderUpdateResult,
)

logger = logging.getLogger("fnac_connector.marketplace.fnac")

ERROR_STATUSES = ("ERROR", "FATAL")
# FNAC is a French marketplace; a date without an offset (never seen, but possible) is Paris time
FNAC_TZ = ZoneInfo("Europe/Paris")
_AUTH_MESSAGE = re.compile(r"authenti|\btoken\b|unauthori[sz]ed", re.IGNORECASE)

Source = bytes | IO[bytes]


class _FieldError(ValueError):
    """A value of one order could not be read (becomes a MalformedOrder)."""


# ---------------------------------------------------------------- small readers
def _local(tag) -> str:
    if not isinstance(tag, str):  # comments, processing instructions
        return ""
    return tag.rsplit("}", 1)[-1]


def _text(element: etree._Element | None) -> str:
    if element is None or element.text is None:
        return ""
    return element.text.strip()


def _children(element: etree._Element) -> dict[str, etree._Element]:
    """Direct children by local name (first occurrence wins)."""
    found: dict[str, etree._Element] = {}
    for child in element:
        name = _local(child.tag)
        if name and name not in found:
            found[name] = child
    return found


def _iter_named(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in element if _local(child.tag) == name)


def parse_datetime(value: str) -> dt.datetime:
    value = value.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=FNAC_TZ)
    return parsed


def _opt_datetime(value: str, what: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        raise _FieldError(f"{what}: bad date {value!r}") from None


def _opt_decimal(value: str, what: str) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        raise _FieldError(f"{what}: bad number {value!r}") from None
    if not number.is_finite():
        raise _FieldError(f"{what}: bad number {value!r}")
    return number


def _opt_int(value: str, what: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise _FieldError(f"{what}: bad integer {value!r}") from None


def _lenient(reader: Callable[[str, str], object], value: str, what: str):
    """Offers are never dropped for one unreadable value: log it and keep None."""
    try:
        return reader(value, what)
    except _FieldError as exc:
        logger.warning("offers_query: %s", exc)
        return None


def _error_item(element: etree._Element) -> FnacErrorItem:
    return FnacErrorItem(code=element.get("code", "").strip(), message=_text(element),
                         severity=element.get("severity", "ERROR").strip() or "ERROR")


def _errors_of(element: etree._Element) -> list[FnacErrorItem]:
    return [_error_item(child) for child in _iter_named(element, "error")]


def is_auth_error(errors: list[FnacErrorItem]) -> bool:
    return any(e.code in AUTH_ERROR_CODES or _AUTH_MESSAGE.search(e.message) for e in errors)


def error_for(service: str, status: str, errors: list[FnacErrorItem], *, auth_service: bool = False,
              status_code: int | None = None) -> Rejected | AuthError:
    """The typed error of a refused call: AuthError for credential problems, Rejected otherwise."""
    first = errors[0] if errors else FnacErrorItem("", f"{service}: status {status} without detail")
    if auth_service or is_auth_error(errors):
        auth = next((e for e in errors if is_auth_error([e])), first)
        return AuthError(auth.message or f"{service}: authentication refused", code=auth.code,
                         status_code=status_code)
    return Rejected(first.message, code=first.code, status_code=status_code,
                    errors=[(e.code, e.message) for e in errors])


# ---------------------------------------------------------------- whole-document responses
_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "remove_comments": True}


def parse_document(data: bytes, service: str) -> etree._Element:
    """Parse a small response and check its root; raise the marketplace's refusal as a typed error."""
    if not data or not data.strip():
        raise BadResponse(f"{service}: empty response body")
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise BadResponse(f"{service}: response is not well-formed XML ({exc})") from None
    _check_root(root, service, _errors_of(root))
    return root


def _check_root(root: etree._Element, service: str, errors: list[FnacErrorItem], *,
                refuse_on_error: bool = True) -> str:
    status = (root.get("status") or "").strip().upper()
    if errors and is_auth_error(errors) or (service == "auth" and status in ERROR_STATUSES):
        raise error_for(service, status, errors, auth_service=service == "auth")
    if refuse_on_error and status in ERROR_STATUSES:
        raise error_for(service, status, errors)
    if _local(root.tag) != f"{service}_response":
        raise BadResponse(f"{service}: unexpected root element <{_local(root.tag)}>")
    return status


def parse_auth(data: bytes) -> AuthToken:
    root = parse_document(data, "auth")
    fields = _children(root)
    token = _text(fields.get("token"))
    validity_text = _text(fields.get("validity"))
    if not token or not validity_text:
        raise BadResponse("auth: response without token or validity")
    try:
        validity = parse_datetime(validity_text)
    except ValueError:
        raise BadResponse(f"auth: unreadable validity {validity_text!r}") from None
    return AuthToken(token=token, validity=validity)


def parse_offers_update(data: bytes) -> str:
    root = parse_document(data, "offers_update")
    batch_id = _text(_children(root).get("batch_id"))
    if not batch_id:
        raise BadResponse("offers_update: response without batch_id")
    return batch_id


def parse_batch_status(data: bytes) -> BatchStatus:
    """A batch that failed (status ERROR with a batch_id or offer lines) is a result, not an exception."""
    if not data or not data.strip():
        raise BadResponse("batch_status: empty response body")
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise BadResponse(f"batch_status: response is not well-formed XML ({exc})") from None
    errors = _errors_of(root)
    fields = _children(root)
    batch_id = _text(fields.get("batch_id"))
    offers = list(_iter_named(root, "offer"))
    status = _check_root(root, "batch_status", errors, refuse_on_error=not (batch_id or offers))
    results = []
    for offer in offers:
        of = _children(offer)
        results.append(OfferResult(
            status=(offer.get("status") or _text(of.get("status"))).strip(),
            offer_seller_id=_text(of.get("offer_seller_id")),
            offer_fnac_id=_text(of.get("offer_fnac_id")),
            product_fnac_id=_text(of.get("product_fnac_id")),
            errors=_errors_of(offer),
        ))
    return BatchStatus(batch_id=batch_id, status=status, offers=results, errors=errors)


def parse_orders_update(data: bytes) -> list[OrderUpdateResult]:
    """Per-order and per-line results. A root ERROR without any order result is a refusal."""
    if not data or not data.strip():
        raise BadResponse("orders_update: empty response body")
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise BadResponse(f"orders_update: response is not well-formed XML ({exc})") from None
    orders = list(_iter_named(root, "order"))
    _check_root(root, "orders_update", _errors_of(root), refuse_on_error=not orders)
    results = []
    for order in orders:
        of = _children(order)
        lines = []
        for detail in _iter_named(order, "order_detail"):
            df = _children(detail)
            detail_id = _text(df.get("order_detail_id"))
            lines.append(LineUpdateResult(
                order_detail_id=int(detail_id) if detail_id.isdigit() else 0,
                status=_text(df.get("status")) or detail.get("status", ""),
                state=_text(df.get("state")),
                errors=_errors_of(detail),
            ))
        results.append(OrderUpdateResult(
            order_id=_text(of.get("order_id")) or order.get("order_id", ""),
            status=_text(of.get("status")) or order.get("status", ""),
            state=_text(of.get("state")),
            errors=_errors_of(order),
            lines=lines,
        ))
    return results


def parse_carriers(data: bytes) -> list[Carrier]:
    root = parse_document(data, "carriers_query")
    carriers = []
    for element in _iter_named(root, "carrier"):
        fields = _children(element)
        code = (element.get("code") or _text(fields.get("code"))).strip()
        if not code:
            continue
        is_global = (element.get("global") or _text(fields.get("global")) or "1").strip()
        carriers.append(Carrier(code=code, name=_text(fields.get("name")) or code,
                                is_global=is_global not in ("0", "false")))
    return carriers


# ---------------------------------------------------------------- streamed paged lists
class _PagedStream:
    """Walks a paged answer with iterparse: paging numbers, root errors, then one callback per item."""

    PAGING = ("page", "total_paging", "nb_total_per_page", "nb_total_result")

    def __init__(self, source: Source, service: str, item_tag: str):
        self.source = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
        self.service = service
        self.item_tag = item_tag
        self.paging: dict[str, int] = {}
        self.errors: list[FnacErrorItem] = []
        self.root: etree._Element | None = None

    def items(self) -> Iterator[etree._Element]:
        """Yield each item element (cleared after the consumer is done with it); check the root at the end."""
        context = etree.iterparse(self.source, events=("start", "end"), **_PARSER_OPTIONS)
        depth = 0
        try:
            for event, element in context:
                if event == "start":
                    if depth == 0:
                        self.root = element
                    depth += 1
                    continue
                depth -= 1
                if depth != 1:  # only direct children of the root are handled
                    continue
                name = _local(element.tag)
                if name == self.item_tag:
                    yield element
                elif name == "error":
                    self.errors.append(_error_item(element))
                elif name in self.PAGING:
                    value = _text(element)
                    self.paging[name] = int(value) if value.lstrip("-").isdigit() else 0
                element.clear(keep_tail=True)
                while element.getprevious() is not None:
                    del self.root[0]
        except etree.XMLSyntaxError as exc:
            raise BadResponse(f"{self.service}: response is not well-formed XML ({exc})") from None
        if self.root is None:
            raise BadResponse(f"{self.service}: empty response body")
        _check_root(self.root, self.service, self.errors)


def _offer(element: etree._Element) -> Offer:
    raw = {_local(child.tag): _text(child) for child in element if _local(child.tag) and len(child) == 0}
    return Offer(
        offer_seller_id=raw.get("offer_seller_id", ""),
        offer_fnac_id=raw.get("offer_fnac_id", ""),
        product_fnac_id=raw.get("product_fnac_id", ""),
        product_name=raw.get("product_name", ""),
        price=_lenient(_opt_decimal, raw.get("price", ""), "price"),
        quantity=_lenient(_opt_int, raw.get("quantity", ""), "quantity"),
        product_state=raw.get("product_state", ""),
        description=raw.get("description", ""),
        internal_comment=raw.get("internal_comment", ""),
        product_url=raw.get("product_url", ""),
        image=raw.get("image", ""),
        ean=raw.get("ean", "") or raw.get("product_ean", ""),
        fee_excluding_taxes=_lenient(_opt_decimal, raw.get("fee_excluding_taxes", ""), "fee_excluding_taxes"),
        time_to_ship=_lenient(_opt_int, raw.get("time_to_ship", ""), "time_to_ship"),
        raw_fields=raw,
    )


def _page_numbers(paging: dict[str, int]) -> dict[str, int]:
    """The paging numbers of a page (0 for any the answer left out), once its items are read."""
    return {name: paging.get(name, 0) for name in ("page", "total_paging", "nb_total_per_page", "nb_total_result")}


def iter_offers_query(source: Source) -> tuple[dict[str, int], Iterator[Offer]]:
    """(paging numbers, offers). The paging dict fills as the stream is consumed; see parse_offers_query."""
    stream = _PagedStream(source, "offers_query", "offer")
    return stream.paging, (_offer(element) for element in stream.items())


def parse_offers_query(source: Source) -> OffersPage:
    paging, offers_iter = iter_offers_query(source)
    offers = list(offers_iter)
    return OffersPage(**_page_numbers(paging), offers=offers)


def _address(element: etree._Element | None) -> Address | None:
    if element is None:
        return None
    fields = {name: _text(child) for name, child in _children(element).items()}
    return Address(**{name: fields.get(name, "") for name in Address.__dataclass_fields__})


def _line(element: etree._Element, order_id: str) -> OrderLine:
    f = {name: _text(child) for name, child in _children(element).items()}
    where = f"order {order_id} line"
    detail_id = _opt_int(f.get("order_detail_id", ""), f"{where} order_detail_id")
    if detail_id is None:
        raise _FieldError(f"{where}: missing order_detail_id")
    where = f"order {order_id} line {detail_id}"
    return OrderLine(
        order_detail_id=detail_id,
        state=f.get("state", ""),
        offer_seller_id=f.get("offer_seller_id", ""),
        product_fnac_id=f.get("product_fnac_id", ""),
        offer_fnac_id=f.get("offer_fnac_id", ""),
        product_name=f.get("product_name", ""),
        quantity=_opt_int(f.get("quantity", ""), f"{where} quantity") or 0,
        price=_opt_decimal(f.get("price", ""), f"{where} price") or Decimal("0"),
        fees=_opt_decimal(f.get("fees", ""), f"{where} fees") or Decimal("0"),
        product_state=f.get("product_state", ""),
        shipping_price=_opt_decimal(f.get("shipping_price", ""), f"{where} shipping_price"),
        shipping_method=f.get("shipping_method", ""),
        tracking_number=f.get("tracking_number", ""),
        tracking_company=f.get("tracking_company", ""),
        created_at=_opt_datetime(f.get("created_at", ""), f"{where} created_at"),
        debited_at=_opt_datetime(f.get("debited_at", ""), f"{where} debited_at"),
        received_at=_opt_datetime(f.get("received_at", ""), f"{where} received_at"),
        image=f.get("image", ""),
        nb_products_to_take_back=max(0, _lenient(_opt_int, f.get("nb_products_to_take_back", ""),
                                                 f"{where} nb_products_to_take_back") or 0),
    )


def parse_order(element: etree._Element) -> Order | MalformedOrder:
    """One ``order`` element; never raises for bad content (returns a MalformedOrder instead)."""
    raw_xml = etree.tostring(element, encoding="unicode", with_tail=False)
    fields = _children(element)
    order_id = _text(fields.get("order_id"))
    try:
        state = _text(fields.get("state"))
        created_text = _text(fields.get("created_at"))
        missing = [name for name, value in (("order_id", order_id), ("state", state),
                                            ("created_at", created_text)) if not value]
        if missing:
            raise _FieldError(f"missing {', '.join(missing)}")
        simple = {name: _text(child) for name, child in fields.items()}
        return Order(
            order_id=order_id,
            state=state,
            created_at=_opt_datetime(created_text, "created_at"),
            shop_id=simple.get("shop_id", ""),
            client_id=simple.get("client_id", ""),
            client_firstname=simple.get("client_firstname", ""),
            client_lastname=simple.get("client_lastname", ""),
            client_email=simple.get("client_email", ""),
            fees=_opt_decimal(simple.get("fees", ""), "fees"),
            vat_rate=_opt_decimal(simple.get("vat_rate", ""), "vat_rate"),
            delivery_note=simple.get("delivery_note", ""),
            updated_at=_opt_datetime(simple.get("updated_at", ""), "updated_at"),
            shipping_address=_address(fields.get("shipping_address")),
            billing_address=_address(fields.get("billing_address")),
            lines=[_line(detail, order_id) for detail in _iter_named(element, "order_detail")],
            raw_xml=raw_xml,
        )
    except _FieldError as exc:
        logger.warning("orders_query: malformed order %s: %s", order_id or "?", exc)
        return MalformedOrder(reason=str(exc), raw_xml=raw_xml, order_id=order_id)


def iter_orders_query(source: Source) -> tuple[dict[str, int], Iterator[Order | MalformedOrder]]:
    """(paging numbers, orders). The paging dict fills as the stream is consumed."""
    stream = _PagedStream(source, "orders_query", "order")
    return stream.paging, (parse_order(element) for element in stream.items())


def parse_orders_query(source: Source) -> OrdersPage:
    paging, orders_iter = iter_orders_query(source)
    orders = list(orders_iter)
    return OrdersPage(**_page_numbers(paging), orders=orders)
