"""FNAC incidents (buyer claims) on the sandbox: ``incidents_query`` and ``incidents_update``.

Shape (IncidentsQueryService.xsd, FNAC's PHP client, NOTES.md "What FNAC's own sandbox answered"): ``<incident
id=UUID>`` with a ``header`` (status OPENED|CLOSED, waiting_for_seller_answer TRUE|FALSE, message, opened_by,
closed_by, closed_status, created_at, updated_at, closed_at, order_id) and ``order_details_incident`` holding one
``order_detail_incident`` per line (order_detail_id, type, status, created_at, updated_at, refunds/refund). The 2018
XSD allows one line per incident; FNAC's PHP client reads a list, so an incident on two lines sends two.

State rules of incidents_update (action ``refund``, the only one the XSD has), the sandbox's stricter reading where
FNAC's is unknown:
- the order must exist (ERR_111) and be in a state where FNAC refunds (ToShip, Shipped, NotReceived, Received;
  ERR_109 otherwise, FNAC's recorded code for a refund in the wrong state);
- ``incident_id``, when given, must be an incident of that order (ERR_119) and still OPENED (ERR_120); without it the
  order's open incident covering the line is used, and a line under no open incident is refused (ERR_109: refund it
  with orders_update);
- each line must belong to the incident (ERR_113), carry a refund_reason (ERR_117) and be refundable (not Refunded,
  Cancelled, Refused: ERR_109). A refused line changes nothing; the others of the order are applied (WARNING).
A refunded line gets a ``refund`` (product, shipping and fee amounts) and its incident line is CLOSED; an incident
whose lines are all closed is CLOSED by the seller with closed_status 10 (Refund) and no longer waits for the seller.
orders_update refunds a line under an OPENED incident line only through incidents_update (fnac_orders, ERR_109).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from fnac_connector.marketplace.fnac.limits import (
    INCIDENT_CLOSED,
    REFUND_NOT_ALLOWED,
    REFUND_REASON_MISSING,
    TOO_MANY_ELEMENTS,
    UNKNOWN_INCIDENT,
    UNKNOWN_ORDER,
    UNKNOWN_ORDER_LINE,
)

from . import fnac_xml as x
from .clock import fmt
from .context import SandboxContext
from .fnac_orders import _recompute
from .state import Order, money

MAX_ORDERS_PER_INCIDENTS_UPDATE = 25  # unknown on FNAC; the orders_update figure, stricter than none
REFUNDABLE_ORDERS = ("ToShip", "Shipped", "NotReceived", "Received")
REFUNDABLE_LINES = ("ToShip", "Shipped", "NotReceived", "Received")
CLAIM_MESSAGES = {
    1: "Bonjour, je n'ai toujours pas reçu ma commande.",
    2: "L'article reçu ne correspond pas à ma commande.",
    3: "L'article ne fonctionne pas.",
    14: "L'article ne correspond pas à la description.",
}


@dataclass(eq=False)
class IncidentLine:
    order_detail_id: int
    type: int
    status: str = "OPENED"
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    refunds: list[dict] = field(default_factory=list)


@dataclass(eq=False)
class Incident:
    incident_id: str
    order_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    lines: list[IncidentLine]
    status: str = "OPENED"
    waiting_for_seller_answer: bool = True
    message: str = ""
    opened_by: str = "client"
    closed_by: str = ""
    closed_status: int | None = None
    closed_at: dt.datetime | None = None

    def line(self, order_detail_id: int) -> IncidentLine | None:
        return next((li for li in self.lines if li.order_detail_id == order_detail_id), None)

    def date_of(self, kind: str) -> dt.datetime | None:
        return {"CreatedAt": self.created_at, "UpdatedAt": self.updated_at, "ClosedAt": self.closed_at}.get(kind)


def open_line_incident(incidents: dict[str, Incident], order_id: str, order_detail_id: int) -> Incident | None:
    """The OPENED incident whose line ``order_detail_id`` of ``order_id`` is still OPENED (fnac_orders asks)."""
    for incident in incidents.values():
        if incident.order_id == order_id and incident.status == "OPENED":
            line = incident.line(order_detail_id)
            if line is not None and line.status == "OPENED":
                return incident
    return None


def open_incident(incidents: dict[str, Incident], order: Order, *, now: dt.datetime, order_detail_ids=None,
                  type: int = 1, waiting: bool = True, opened_by: str = "client",  # noqa: A002 - FNAC's word
                  message: str | None = None, rng: random.Random | None = None) -> Incident:
    """A buyer (or FNAC's call centre) opens a claim on some lines of ``order`` (caller holds the store lock)."""
    return IncidentsApi._open(incidents, order, now=now, order_detail_ids=order_detail_ids, type=type,
                              waiting=waiting, opened_by=opened_by, message=message, rng=rng)


def seed_claims(incidents: dict[str, Incident], orders, *, rng: random.Random, now: dt.datetime,
                share: float = 0.1) -> list[Incident]:
    """Claims on seeded history: every NotReceived order, and ``share`` of the Shipped/Received ones (most closed by
    then for the Received ones); deterministic for a seed (its own random generator)."""
    opened = []
    for order in orders:
        if order.state == "NotReceived" or (order.state in ("Shipped", "Received") and rng.random() < share):
            kind = 1 if order.state == "NotReceived" else rng.choice((2, 3, 14))
            when = max(order.shipped_at or order.updated_at, order.updated_at)
            incident = open_incident(incidents, order, now=min(when, now), type=kind, rng=rng,
                                     waiting=rng.random() < 0.8, order_detail_ids=[order.lines[0].order_detail_id])
            if order.state == "Received" and rng.random() < 0.5:
                IncidentsApi.close(incident, now=min(when, now))
            opened.append(incident)
    return opened


class IncidentsApi:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.state

    # ---------------------------------------------------------------- seeding (tests, simulation, demo)
    def open_incident(self, order: Order, **kwargs) -> Incident:
        return self._open(self.store.incidents, order, **kwargs)

    @staticmethod
    def _open(incidents: dict, order: Order, *, now: dt.datetime, order_detail_ids=None, type: int = 1,  # noqa: A002
              waiting: bool = True, opened_by: str = "client", message: str | None = None,
              rng: random.Random | None = None) -> Incident:
        ids = list(order_detail_ids) if order_detail_ids else [order.lines[0].order_detail_id]
        for detail_id in ids:
            if order.line(detail_id) is None:
                raise ValueError(f"order {order.order_id} has no line {detail_id}")
        incident_id = str(uuid.UUID(int=rng.getrandbits(128), version=4)) if rng else str(uuid.uuid4())
        incident = Incident(
            incident_id=incident_id, order_id=order.order_id, created_at=now, updated_at=now,
            lines=[IncidentLine(order_detail_id=i, type=type, created_at=now, updated_at=now) for i in ids],
            waiting_for_seller_answer=waiting, opened_by=opened_by,
            message=message if message is not None else CLAIM_MESSAGES.get(type, "Réclamation du client."))
        incidents[incident_id] = incident
        return incident

    def close_incident(self, incident: Incident, *, now: dt.datetime, closed_by: str = "call-center",
                       closed_status: int = 12) -> None:
        self.close(incident, now=now, closed_by=closed_by, closed_status=closed_status)

    @staticmethod
    def close(incident: Incident, *, now: dt.datetime, closed_by: str = "call-center", closed_status: int = 12) -> None:
        incident.status, incident.closed_by, incident.closed_status = "CLOSED", closed_by, closed_status
        incident.closed_at = incident.updated_at = now
        incident.waiting_for_seller_answer = False
        for line in incident.lines:
            if line.status == "OPENED":
                line.status, line.updated_at = "CLOSED", now

    # ---------------------------------------------------------------- incidents_query
    def incidents_query(self, root) -> bytes:
        size, page = x.paging(root)
        preds = []
        descending = True
        for el in root:
            name = x.local(el)
            value = (el.text or "").strip()
            if name == "date":
                kind = el.get("type", "CreatedAt")
                lo, hi = x.date_range(el, "incidents_query")
                preds.append(lambda i, k=kind, lo=lo, hi=hi: _between(i.date_of(k), lo, hi))
            elif name == "status":
                preds.append(lambda i, v=value: i.status == v)
            elif name in ("type", "types"):
                wanted = {int(value)} if name == "type" else {int((t.text or "0").strip()) for t in el}
                preds.append(lambda i, w=frozenset(wanted): any(li.type in w for li in i.lines))
            elif name in ("incident_id", "incidents_id"):
                wanted = {value} if name == "incident_id" else {(t.text or "").strip() for t in el}
                preds.append(lambda i, w=frozenset(v.lower() for v in wanted): i.incident_id.lower() in w)
            elif name in ("closed_status", "closed_statuses"):
                wanted = {int(value)} if name == "closed_status" else {int((t.text or "0").strip()) for t in el}
                preds.append(lambda i, w=frozenset(wanted): i.closed_status in w)
            elif name == "waiting_for_seller_answer":
                preds.append(lambda i, v=value == "TRUE": i.waiting_for_seller_answer == v)
            elif name in ("opened_by", "closed_by"):
                preds.append(lambda i, a=name, v=value: getattr(i, a) == v)
            elif name == "sort_by":
                descending = value != "ASC"
            elif name in ("order", "orders"):
                wanted = {value} if name == "order" else {(t.text or "").strip() for t in el}
                preds.append(lambda i, w=frozenset(wanted): i.order_id in w)
        with self.store.lock:
            found = sorted((i for i in self.store.incidents.values() if all(p(i) for p in preds)),
                           key=lambda i: (i.created_at, i.incident_id), reverse=descending)
            total = len(found)
            items = [incident_xml(i) for i in found[(page - 1) * size: page * size]]
        return x.response("incidents_query", "OK", x.page_header(page, size, total) + items)

    # ---------------------------------------------------------------- incidents_update
    def incidents_update(self, root) -> bytes:
        children = [el for el in root if x.local(el) == "order"]
        if len(children) > MAX_ORDERS_PER_INCIDENTS_UPDATE:
            return x.response("incidents_update", "ERROR", [x.error(
                TOO_MANY_ELEMENTS,
                f"Too many orders in one call: {len(children)} > {MAX_ORDERS_PER_INCIDENTS_UPDATE}")])
        with self.store.lock:
            refused = next((o for o in (el.get("order_id", "") for el in children)
                            if o in self.store.refused_order_ids), None)
            if refused is not None:
                raise x.invalid("incidents_update", f"order {refused} refused (sandbox control /sandbox/refuse)")
            now = self.ctx.clock.now()
            results = [self._refund(el, now) for el in children]
        statuses = {r["status"] for r in results}
        root_status = "OK" if statuses <= {"OK"} else "ERROR" if statuses == {"ERROR"} else "WARNING"
        return x.response("incidents_update", root_status, [_result_xml(r) for r in results])

    def _refund(self, el, now: dt.datetime) -> dict:
        order_id, incident_id = el.get("order_id", ""), el.get("incident_id", "")
        result = {"order_id": order_id, "incident_id": incident_id, "incident_status": "", "status": "ERROR",
                  "state": "", "errors": [], "lines": []}
        order = self.store.orders.get(order_id)
        if order is None:
            result["errors"].append((UNKNOWN_ORDER, f"Order {order_id} not found"))
            return result
        result["state"] = order.state
        incident = None
        if incident_id:
            incident = self.store.incidents.get(incident_id.lower()) or self.store.incidents.get(incident_id)
            if incident is None or incident.order_id != order_id:
                result["errors"].append((UNKNOWN_INCIDENT, f"Incident {incident_id} not found for order {order_id}"))
                return result
            result["incident_status"] = incident.status
            if incident.status != "OPENED":
                result["errors"].append((INCIDENT_CLOSED, f"Incident {incident_id} is closed"))
                return result
        if order.state not in REFUNDABLE_ORDERS:
            result["errors"].append((REFUND_NOT_ALLOWED, f"Refund not allowed on an order in state {order.state} "
                                                         f"(allowed in: {', '.join(REFUNDABLE_ORDERS)})"))
            return result
        applied = 0
        touched: set[str] = set()
        for d in el:
            if x.local(d) != "order_detail":
                continue
            raw_id = x.text(d, "order_detail_id")
            detail_id = int(raw_id) if raw_id else 0
            error, target = self._refund_line(order, incident, detail_id, x.text(d, "refund_reason") or "", now)
            line = order.line(detail_id)
            if error:
                result["lines"].append((detail_id, "ERROR", line.state if line else "", [error]))
            else:
                applied += 1
                touched.add(target.incident_id)
                result["lines"].append((detail_id, "OK", line.state, []))
        if applied:
            _recompute(order, now)
            order.changed(now)
            self.store.orders_changed()
            for tid in touched:
                self._close_if_done(self.store.incidents[tid], now)
        if incident is None and touched:
            incident = self.store.incidents[sorted(touched)[0]]
        if incident is not None:
            result["incident_id"], result["incident_status"] = incident.incident_id, incident.status
        errors = len(result["lines"]) - applied
        result["status"] = "OK" if applied and not errors else "ERROR" if not applied else "WARNING"
        result["state"] = order.state
        return result

    def _refund_line(self, order: Order, incident: Incident | None, detail_id: int, reason: str, now: dt.datetime):
        line = order.line(detail_id)
        if line is None:
            return (UNKNOWN_ORDER_LINE, f"order_detail_id {detail_id} not found in order {order.order_id}"), None
        target = incident if incident is not None else open_line_incident(self.store.incidents, order.order_id,
                                                                           detail_id)
        if target is None:
            return (REFUND_NOT_ALLOWED, f"Line {detail_id} is under no open incident: refund it with "
                                        "orders_update"), None
        iline = target.line(detail_id)
        if iline is None:
            return (UNKNOWN_ORDER_LINE, f"Line {detail_id} is not part of incident {target.incident_id}"), None
        if not reason:
            return (REFUND_REASON_MISSING, "refund_reason is required to refund a line"), None
        if line.state not in REFUNDABLE_LINES:
            return (REFUND_NOT_ALLOWED, f"Line {detail_id} is {line.state} and cannot be refunded"), None
        line.state, line.refund_reason = "Refunded", reason
        iline.refunds.append({"product_amount": money(line.price * line.quantity),
                              "shipping_amount": money(line.shipping_price or Decimal("0")),
                              "fee_ht_amount": money(line.fees), "created_at": now})
        iline.status, iline.updated_at = "CLOSED", now
        target.updated_at = now
        return None, target

    @staticmethod
    def _close_if_done(incident: Incident, now: dt.datetime) -> None:
        if all(line.status == "CLOSED" for line in incident.lines):
            incident.status, incident.closed_by, incident.closed_status = "CLOSED", "seller", 10
            incident.closed_at = incident.updated_at = now
            incident.waiting_for_seller_answer = False


def _between(value, lo, hi) -> bool:
    return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)


def incident_xml(incident: Incident):
    el = x.element("incident", id=incident.incident_id)
    header = x.sub(el, "header")
    x.subs(header, [("status", incident.status),
                    ("waiting_for_seller_answer", "TRUE" if incident.waiting_for_seller_answer else "FALSE"),
                    ("message", incident.message), ("opened_by", incident.opened_by)])
    if incident.closed_by:
        x.sub(header, "closed_by", incident.closed_by)
    if incident.closed_status is not None:
        x.sub(header, "closed_status", incident.closed_status)
    x.subs(header, [("created_at", fmt(incident.created_at)), ("updated_at", fmt(incident.updated_at))])
    if incident.closed_at:
        x.sub(header, "closed_at", fmt(incident.closed_at))
    x.sub(header, "order_id", incident.order_id)
    details = x.sub(el, "order_details_incident")
    for line in incident.lines:
        d = x.sub(details, "order_detail_incident")
        x.subs(d, [("order_detail_id", line.order_detail_id), ("type", line.type), ("status", line.status),
                   ("created_at", fmt(line.created_at)), ("updated_at", fmt(line.updated_at))])
        if line.refunds:
            refunds = x.sub(d, "refunds")
            for refund in line.refunds:
                r = x.sub(refunds, "refund")
                x.subs(r, [("product_amount", refund["product_amount"]),
                           ("shipping_amount", refund["shipping_amount"]),
                           ("fee_ht_amount", refund["fee_ht_amount"]), ("created_at", fmt(refund["created_at"]))])
    return el


def _result_xml(r: dict):
    el = x.element("order")
    x.sub(el, "status", r["status"])
    # the XSD makes incident_id and incident_status required; an order refused before any incident is known
    # answers them empty-free: the nil UUID and CLOSED are never sent, so they are left out (lenient readers)
    if r["incident_id"]:
        x.sub(el, "incident_id", r["incident_id"])
    if r["incident_status"]:
        x.sub(el, "incident_status", r["incident_status"])
    x.sub(el, "order_id", r["order_id"])
    if r["state"]:
        x.sub(el, "state", r["state"])
    el.extend(x.error(c, m) for c, m in r["errors"])
    for line_id, status, state, errors in r["lines"]:
        line = x.sub(el, "order_detail")
        x.subs(line, [("order_detail_id", line_id), ("status", status)])
        if state:
            x.sub(line, "state", state)
        line.extend(x.error(c, m) for c, m in errors)
    return el
