"""FNAC incidents (buyer claims, "réclamations"): ``incidents_query`` and ``incidents_update``.

Types, request builders and response parsers in one module (IncidentsQueryService.xsd,
IncidentsUpdateService.xsd). Requests follow the XSD strictly (a bad value raises ``ValueError`` before anything
is sent); answers are read leniently: unknown elements are ignored, and an incident may carry several
``order_detail_incident`` lines although the 2018 XSD lists one (FNAC's own PHP client reads a list).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree

from ..errors import BadResponse
from .builder import (
    RequestHeader,
    _child,
    _date_constraint,
    _one_of,
    _order_id,
    _positive_int,
    _root,
    _serialize,
    _uuid,
)
from .limits import MAX_ORDER_IDS_PER_QUERY
from .parser import (
    _PARSER_OPTIONS,
    Source,
    _check_root,
    _children,
    _errors_of,
    _FieldError,
    _iter_named,
    _local,
    _opt_datetime,
    _opt_decimal,
    _opt_int,
    _page_numbers,
    _PagedStream,
    _text,
    logger,
)
from .types import REFUND_REASONS, FnacErrorItem

INCIDENT_STATUSES = ("OPENED", "CLOSED")
INCIDENT_DATE_TYPES = ("CreatedAt", "UpdatedAt", "ClosedAt")
INCIDENT_BY = ("client", "call-center", "seller")
INCIDENT_UPDATE_ACTIONS = ("refund",)  # state.xsd incident_order_update_action: the only seller action
SORT_ORDERS = ("ASC", "DESC")
# state.xsd incident_open_state, in a seller's words
INCIDENT_TYPES = {
    0: "No incident", 1: "Item not received", 2: "Item not as ordered", 3: "Defective item",
    4: "Withdrawal (cooling-off)",
    5: "Counterfeit item", 6: "Other (buyer)", 7: "Refund", 8: "Out of stock", 9: "Returned by the buyer",
    10: "Cancelled by the buyer", 11: "Shipping impossible", 12: "Item not received", 13: "Faulty item",
    14: "Item unlike its description", 15: "Other (seller)", 16: "Delivery taking longer", 17: "Refund by the seller",
    18: "Refund by FNAC customer service",
}
# state.xsd incident_close_state
CLOSED_STATUSES = {
    0: "No incident", 1: "Item referred to the seller", 2: "Refund by cheque", 3: "Seller agreement",
    4: "Item received", 5: "Item is good", 6: "Item not received", 7: "Faulty item", 8: "Item unlike description",
    9: "Buyer did not answer", 10: "Refunded", 11: "Other", 12: "Solved by FNAC", 13: "No answer", 14: "No news",
    15: "Out of stock", 16: "Item returned", 17: "Item cancelled", 18: "Shipping impossible", 19: "Withdrawal",
    20: "Counterfeit", 21: "Delivery took longer", 22: "Seller after-sales service",
}
MAX_ORDERS_PER_INCIDENTS_QUERY = MAX_ORDER_IDS_PER_QUERY  # incidents_fnac_id_type: order maxOccurs 50


def incident_type_label(code: int | None) -> str:
    return INCIDENT_TYPES.get(code, f"type {code}") if code is not None else "—"


def closed_status_label(code: int | None) -> str:
    return CLOSED_STATUSES.get(code, f"status {code}") if code is not None else "—"


# ---------------------------------------------------------------- types
@dataclass(frozen=True)
class IncidentRefund:
    """A refund FNAC records on an incident line (``refunds/refund``)."""

    product_amount: Decimal
    shipping_amount: Decimal
    fee_ht_amount: Decimal
    created_at: dt.datetime | None = None


@dataclass
class IncidentLine:
    order_detail_id: int
    type: int | None
    status: str
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    refunds: list[IncidentRefund] = field(default_factory=list)


@dataclass
class Incident:
    incident_id: str
    order_id: str
    status: str  # OPENED | CLOSED (kept as sent when unknown)
    waiting_for_seller_answer: bool
    message: str = ""
    opened_by: str = ""
    closed_by: str = ""
    closed_status: int | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    lines: list[IncidentLine] = field(default_factory=list)
    raw_xml: str = ""


@dataclass
class MalformedIncident:
    reason: str
    raw_xml: str
    incident_id: str = ""


@dataclass
class IncidentsPage:
    page: int
    total_paging: int
    nb_total_per_page: int
    nb_total_result: int
    incidents: list[Incident | MalformedIncident]


@dataclass(frozen=True)
class IncidentRefundLine:
    order_detail_id: int
    refund_reason: str


@dataclass
class IncidentUpdate:
    """One ``order`` of an incidents_update: refund these lines of the incident (or of the order)."""

    order_id: str
    lines: list[IncidentRefundLine]
    incident_id: str = ""
    action: str = "refund"


@dataclass
class IncidentLineResult:
    order_detail_id: int
    status: str
    state: str = ""
    errors: list[FnacErrorItem] = field(default_factory=list)


@dataclass
class IncidentUpdateResult:
    order_id: str
    status: str
    incident_id: str = ""
    incident_status: str = ""
    state: str = ""
    errors: list[FnacErrorItem] = field(default_factory=list)
    lines: list[IncidentLineResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "OK" and not self.errors and all(
            line.status == "OK" and not line.errors for line in self.lines)


# ---------------------------------------------------------------- builders
def build_incidents_query(
    header: RequestHeader,
    *,
    page: int = 1,
    results_count: int = 100,
    date_type: str = "UpdatedAt",
    date_min: dt.datetime | None = None,
    date_max: dt.datetime | None = None,
    status: str | None = None,
    waiting_for_seller_answer: bool | None = None,
    incident_ids: Sequence[str] = (),
    order_ids: Sequence[str] = (),
    sort_by: str | None = None,
) -> bytes:
    root = _root("incidents_query", header, results_count=_positive_int(results_count, "results_count"))
    _child(root, "paging", _positive_int(page, "page"))
    if date_min is not None or date_max is not None:
        _date_constraint(root, _one_of(date_type, INCIDENT_DATE_TYPES, "incidents date type"), date_min, date_max)
    if status is not None:
        _child(root, "status", _one_of(status, INCIDENT_STATUSES, "incident status"))
    if incident_ids:
        wrapper = _child(root, "incidents_id")
        for incident_id in incident_ids:
            _child(wrapper, "incident_id", _uuid(incident_id, "incident id"))
    if waiting_for_seller_answer is not None:
        _child(root, "waiting_for_seller_answer", "TRUE" if waiting_for_seller_answer else "FALSE")
    if sort_by is not None:
        _child(root, "sort_by", _one_of(sort_by, SORT_ORDERS, "sort_by"))
    if order_ids:
        if len(order_ids) > MAX_ORDERS_PER_INCIDENTS_QUERY:
            raise ValueError(f"incidents_query takes at most {MAX_ORDERS_PER_INCIDENTS_QUERY} order ids, "
                             f"got {len(order_ids)}")
        wrapper = _child(root, "orders")
        for order_id in order_ids:
            _child(wrapper, "order", _order_id(order_id))
    return _serialize(root)


def build_incidents_update(header: RequestHeader, updates: Sequence[IncidentUpdate]) -> bytes:
    if not updates:
        raise ValueError("incidents_update needs at least one order")
    root = _root("incidents_update", header)
    for update in updates:
        where = f"order {update.order_id!r}"
        attrs = {"order_id": _order_id(update.order_id),
                 "action": _one_of(update.action, INCIDENT_UPDATE_ACTIONS, f"{where} action")}
        if update.incident_id:
            attrs = {"incident_id": _uuid(update.incident_id, f"{where} incident id"), **attrs}
        order = _child(root, "order", **attrs)
        if not update.lines:
            raise ValueError(f"{where}: at least one order_detail is required")
        for line in update.lines:
            detail = _child(order, "order_detail")
            _child(detail, "order_detail_id", _positive_int(line.order_detail_id, f"{where} order_detail_id"))
            _child(detail, "refund_reason", _one_of(line.refund_reason, REFUND_REASONS, f"{where} refund_reason"))
    return _serialize(root)


# ---------------------------------------------------------------- parsers
def _refund(element: etree._Element, where: str) -> IncidentRefund:
    f = {name: _text(child) for name, child in _children(element).items()}
    return IncidentRefund(
        product_amount=_opt_decimal(f.get("product_amount", ""), f"{where} product_amount") or Decimal("0"),
        shipping_amount=_opt_decimal(f.get("shipping_amount", ""), f"{where} shipping_amount") or Decimal("0"),
        fee_ht_amount=_opt_decimal(f.get("fee_ht_amount", ""), f"{where} fee_ht_amount") or Decimal("0"),
        created_at=_opt_datetime(f.get("created_at", ""), f"{where} created_at"),
    )


def _incident_line(element: etree._Element, incident_id: str) -> IncidentLine:
    children = _children(element)
    f = {name: _text(child) for name, child in children.items()}
    detail_id = _opt_int(f.get("order_detail_id", ""), f"incident {incident_id} order_detail_id")
    if detail_id is None:
        raise _FieldError(f"incident {incident_id}: a line without order_detail_id")
    where = f"incident {incident_id} line {detail_id}"
    refunds = []
    if "refunds" in children:
        refunds = [_refund(r, where) for r in _iter_named(children["refunds"], "refund")]
    return IncidentLine(order_detail_id=detail_id, type=_opt_int(f.get("type", ""), f"{where} type"),
                        status=f.get("status", ""), created_at=_opt_datetime(f.get("created_at", ""),
                                                                               f"{where} created_at"),
                        updated_at=_opt_datetime(f.get("updated_at", ""), f"{where} updated_at"), refunds=refunds)


def parse_incident(element: etree._Element) -> Incident | MalformedIncident:
    raw_xml = etree.tostring(element, encoding="unicode", with_tail=False)
    incident_id = (element.get("id") or "").strip()
    try:
        children = _children(element)
        header = children.get("header")
        if header is None:
            raise _FieldError("missing header")
        h = {name: _text(child) for name, child in _children(header).items()}
        missing = [name for name, value in (("id", incident_id), ("order_id", h.get("order_id", "")),
                                            ("status", h.get("status", ""))) if not value]
        if missing:
            raise _FieldError(f"missing {', '.join(missing)}")
        lines_parent = children.get("order_details_incident")
        lines = [] if lines_parent is None else [
            _incident_line(line, incident_id) for line in _iter_named(lines_parent, "order_detail_incident")]
        return Incident(
            incident_id=incident_id, order_id=h["order_id"], status=h["status"].upper(),
            waiting_for_seller_answer=h.get("waiting_for_seller_answer", "").upper() == "TRUE",
            message=h.get("message", ""), opened_by=h.get("opened_by", ""), closed_by=h.get("closed_by", ""),
            closed_status=_opt_int(h.get("closed_status", ""), "closed_status"),
            created_at=_opt_datetime(h.get("created_at", ""), "created_at"),
            updated_at=_opt_datetime(h.get("updated_at", ""), "updated_at"),
            closed_at=_opt_datetime(h.get("closed_at", ""), "closed_at"),
            lines=lines, raw_xml=raw_xml,
        )
    except _FieldError as exc:
        logger.warning("incidents_query: malformed incident %s: %s", incident_id or "?", exc)
        return MalformedIncident(reason=str(exc), raw_xml=raw_xml, incident_id=incident_id)


def iter_incidents_query(source: Source) -> tuple[dict[str, int], Iterator[Incident | MalformedIncident]]:
    stream = _PagedStream(source, "incidents_query", "incident")
    return stream.paging, (parse_incident(element) for element in stream.items())


def parse_incidents_query(source: Source) -> IncidentsPage:
    paging, items = iter_incidents_query(source)
    incidents = list(items)
    return IncidentsPage(**_page_numbers(paging), incidents=incidents)


def parse_incidents_update(data: bytes) -> list[IncidentUpdateResult]:
    """Per-order results; a root ERROR without any order result is a refusal (raised typed)."""
    if not data or not data.strip():
        raise BadResponse("incidents_update: empty response body")
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise BadResponse(f"incidents_update: response is not well-formed XML ({exc})") from None
    orders = [child for child in root if _local(child.tag) == "order"]
    _check_root(root, "incidents_update", _errors_of(root), refuse_on_error=not orders)
    results = []
    for order in orders:
        f = _children(order)
        lines = []
        for detail in _iter_named(order, "order_detail"):
            df = _children(detail)
            detail_id = _text(df.get("order_detail_id"))
            lines.append(IncidentLineResult(order_detail_id=int(detail_id) if detail_id.isdigit() else 0,
                                            status=_text(df.get("status")), state=_text(df.get("state")),
                                            errors=_errors_of(detail)))
        results.append(IncidentUpdateResult(
            order_id=_text(f.get("order_id")) or order.get("order_id", ""), status=_text(f.get("status")),
            incident_id=_text(f.get("incident_id")), incident_status=_text(f.get("incident_status")),
            state=_text(f.get("state")), errors=_errors_of(order), lines=lines))
    return results
