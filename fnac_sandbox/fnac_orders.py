"""FNAC orders on the sandbox: ``orders_query`` and ``orders_update`` with FNAC's state rules as tables.

orders_update: a body that does not validate against the XSD (an order_id not 13 characters, an unknown action...)
is refused whole with ERR_096 and nothing applied, like offers_update (fnac_xml.parse_request); so is any call
carrying an order id listed with ``/sandbox/refuse``. Otherwise per-order status OK (every line applied),
WARNING (some lines applied) or ERROR (nothing); the root status is OK when every order is OK, ERROR when
every order is ERROR, else WARNING.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fnac_connector.marketplace.fnac.limits import (
    BUYER_ONLY_ACTION,
    LINE_ACTION_NOT_ALLOWED,
    MAX_ORDERS_PER_UPDATE,
    NOTHING_TO_UPDATE,
    ORDER_ACTION_NOT_ALLOWED,
    REFUND_NOT_ALLOWED,
    REFUND_REASON_MISSING,
    TOO_MANY_ELEMENTS,
    UNKNOWN_ORDER,
    UNKNOWN_ORDER_LINE,
)

from . import fnac_xml as x
from .clock import fmt
from .context import SandboxContext
from .state import Order, OrderLine

# ---------------------------------------------------------------- FNAC's order state rules
REFUNDABLE_LINES = ("ToShip", "Shipped", "NotReceived", "Received")
# order action -> the order states it is allowed in
ORDER_ACTION_STATES = {
    "accept_order": ("Created",),
    "accept_all_orders": ("Created",),
    "confirm_to_send": ("ToShip",),
    "confirm_all_to_send": ("ToShip",),
    "update": ("ToShip", "Shipped"),
    "update_all": ("ToShip", "Shipped"),
    "refund_order": ("ToShip", "Shipped", "NotReceived", "Received"),
}
# order actions applied to every eligible line, whatever order_detail_id says
ALL_LINES_ACTIONS = ("accept_all_orders", "confirm_all_to_send", "update_all")
ACTION_FAMILY = {
    "accept_order": "accept", "accept_all_orders": "accept",
    "confirm_to_send": "confirm", "confirm_all_to_send": "confirm",
    "update": "update", "update_all": "update",
    "refund_order": "refund",
}
BUYER_ONLY = {
    "order": {"receive_all_order": "receive_all_order is done by the buyer or FNAC, not by the seller"},
    "line": {"Received": "Line action Received is done by the buyer or FNAC, not by the seller"},
}


@dataclass(frozen=True)
class LineRule:
    from_states: tuple[str, ...]
    to_state: str | None  # None: the line action itself (Accepted, Refused)
    wrong_state: str  # completes "Line <id> is <state>..."
    needs_refund_reason: bool = False
    takes_tracking: bool = False


_TO_ACCEPT = LineRule(("ToAccept",), None, ", not ToAccept")
_SHIP = LineRule(("ToShip",), "Shipped", ", not ToShip", takes_tracking=True)
# order action family -> line action -> rule; the line actions listed are the only ones allowed with the family
LINE_RULES: dict[str, dict[str, LineRule]] = {
    "accept": {"Accepted": _TO_ACCEPT, "Refused": _TO_ACCEPT},
    "refund": {"Refunded": LineRule(REFUNDABLE_LINES, "Refunded", " and cannot be refunded",
                                    needs_refund_reason=True)},
    "confirm": {"Shipped": _SHIP},
    "update": {"Shipped": _SHIP, "Updated": LineRule(("Shipped",), "Shipped", ", only a Shipped line can be Updated",
                                                     takes_tracking=True)},
}
# order action family -> line action -> the line states an "all lines" action picks (None: any other line action)
ELIGIBLE_LINES: dict[str, dict[str | None, tuple[str, ...]]] = {
    "accept": {None: ("ToAccept",)},
    "refund": {None: REFUNDABLE_LINES},
    "confirm": {"Updated": ("Shipped",), None: ("ToShip",)},
    "update": {"Updated": ("Shipped",), None: ("ToShip",)},
}
INACTIVE_LINES = ("Refused", "Cancelled", "Refunded")

LINE_FIELDS = (("order_detail_id", "order_detail_id"), ("state", "state"), ("product_fnac_id", "product_fnac_id"),
               ("product_name", "product_name"), ("offer_fnac_id", "offer_fnac_id"), ("offer_seller_id", "sku"),
               ("price", "price"), ("fees", "fees"), ("product_state", "product_state"), ("quantity", "quantity"))
ORDER_FIELDS = (("shop_id", "shop_id"), ("client_id", "client_id"), ("client_firstname", "client_firstname"),
                ("client_lastname", "client_lastname"), ("client_email", "client_email"), ("order_id", "order_id"))
QUERY_LINE_ATTRIBUTE = {"product_fnac_id": "product_fnac_id", "offer_fnac_id": "offer_fnac_id",
                        "offer_seller_id": "sku"}


def eligible(action: str, line_action: str, line: OrderLine) -> bool:
    states = ELIGIBLE_LINES[ACTION_FAMILY[action]]
    return line.state in states.get(line_action, states[None])


def rolled_up(statuses: set[str]) -> str:
    return "OK" if statuses <= {"OK"} else "ERROR" if statuses == {"ERROR"} else "WARNING"


class OrdersApi:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.state

    # ---------------------------------------------------------------- orders_query
    def orders_query(self, root) -> bytes:
        size, page = x.paging(root)
        key, preds, ids, descending = self._filters(root)
        predicate = (lambda o: all(p(o) for p in preds)) if preds else None
        with self.store.lock:
            if ids and len(key) == 1:  # only ids: direct look-up, no sort of the whole book
                orders = sorted((self.store.orders[i] for i in ids if i in self.store.orders),
                                key=lambda o: (o.created_at, o.order_id), reverse=descending)
            else:
                orders = self.store.sorted_orders(tuple(key), predicate, descending)
            total = len(orders)
            fragments = [self.order_xml(o) for o in orders[(page - 1) * size : page * size]]
        return x.response("orders_query", "OK", x.page_header(page, size, total), fragments)

    @staticmethod
    def _filters(root) -> tuple[list, list, set[str], bool]:
        """(cache key, predicates, order ids asked, newest first) of an orders_query's filters."""
        key: list = []
        preds = []
        states: set[str] = set()
        ids: set[str] = set()
        multi: dict[str, set] = {}
        descending = True
        for el in root:
            name = x.local(el)
            if name == "date":
                kind = el.get("type", "CreatedAt")
                lo, hi = x.date_range(el, "orders_query")
                key.append(("date", kind, lo, hi))
                preds.append(lambda o, k=kind, lo=lo, hi=hi: _date_between(o.date_of(k), lo, hi))
            elif name == "state":
                states.add((el.text or "").strip())
            elif name == "states":
                states.update((s.text or "").strip() for s in el)
            elif name == "sort_by":
                descending = (el.text or "").strip() != "ASC"
            elif name == "order_fnac_id":
                ids.add((el.text or "").strip())
            elif name == "orders_fnac_id":
                ids.update((s.text or "").strip() for s in el)
            elif name in QUERY_LINE_ATTRIBUTE:
                multi.setdefault(name, set()).add((el.text or "").strip())
        if states:
            key.append(("states", tuple(sorted(states))))
            preds.append(lambda o, s=frozenset(states): o.state in s)
        if ids:
            key.append(("ids", tuple(sorted(ids))))
            preds.append(lambda o, s=frozenset(ids): o.order_id in s)
        for name, values in sorted(multi.items()):
            key.append((name, tuple(sorted(values))))
            preds.append(lambda o, a=QUERY_LINE_ATTRIBUTE[name], vs=frozenset(values):
                         any(getattr(li, a) in vs for li in o.lines))
        return key, preds, ids, descending

    @staticmethod
    def order_xml(order: Order) -> str:
        if order.xml_cache is None:
            el = x.element("order")
            x.subs(el, [(tag, getattr(order, attr)) for tag, attr in ORDER_FIELDS])
            x.subs(el, [("client_culture", "fr_FR"), ("state", order.state), ("created_at", fmt(order.created_at)),
                        ("updated_at", fmt(order.updated_at)), ("fees", order.fees), ("vat_rate", order.vat_rate),
                        ("nb_messages", 0), ("delivery_note", order.delivery_note)])
            el.append(_address("shipping_address", order.shipping_address))
            el.append(_address("billing_address", order.billing_address))
            el.extend(_line(line, order) for line in order.lines)
            order.xml_cache = x.fragment(el)
        return order.xml_cache

    # ---------------------------------------------------------------- orders_update
    def orders_update(self, root) -> bytes:
        children = [el for el in root if x.local(el) == "order"]
        if len(children) > MAX_ORDERS_PER_UPDATE:
            return x.response("orders_update", "ERROR", [x.error(
                TOO_MANY_ELEMENTS, f"Too many orders in one call: {len(children)} > {MAX_ORDERS_PER_UPDATE}")])
        with self.store.lock:
            refused = next((o for o in (el.get("order_id", "") for el in children)
                            if o in self.store.refused_order_ids), None)
            if refused is not None:
                raise x.invalid("orders_update", f"order {refused} refused (sandbox control /sandbox/refuse)")
            now = self.ctx.clock.now()
            results = [self.update_order(el.get("order_id", ""), el.get("action", ""), _details(el), now)
                       for el in children]
        return x.response("orders_update", rolled_up({r["status"] for r in results}),
                          [_result_xml(r) for r in results])

    def update_order(self, order_id: str, action: str, details: list[dict], now: dt.datetime) -> dict:
        """Apply one ``order`` of an orders_update (caller holds the store lock)."""
        order = self.store.orders.get(order_id)
        result = {"order_id": order_id, "status": "ERROR", "state": "", "errors": [], "lines": []}
        if order is None:
            result["errors"].append((UNKNOWN_ORDER, f"Order {order_id} not found"))
            return result
        result["state"] = order.state
        if action in BUYER_ONLY["order"]:
            result["errors"].append((BUYER_ONLY_ACTION, BUYER_ONLY["order"][action]))
            return result
        allowed = ORDER_ACTION_STATES.get(action, ())
        if order.state not in allowed:
            code = REFUND_NOT_ALLOWED if ACTION_FAMILY.get(action) == "refund" else ORDER_ACTION_NOT_ALLOWED
            result["errors"].append((code, f"Action {action} is not allowed on an order in state {order.state}"
                                                f" (allowed in: {', '.join(allowed)})"))
            return result
        targets = self._targets(order, action, details, result)
        if not targets and not result["lines"]:
            result["errors"].append((NOTHING_TO_UPDATE, f"No line of order {order_id} is eligible for {action}"))
            return result
        applied = 0
        for line, d in targets:
            error = self._apply_line(action, line, {**d, "order_id": order_id})
            if error:
                result["lines"].append((line.order_detail_id, "ERROR", line.state, [error]))
            else:
                applied += 1
                result["lines"].append((line.order_detail_id, "OK", line.state, []))
        if applied:
            _recompute(order, now)
            order.changed(now)
            for line in order.lines:
                line.refused_at = line.refused_at or (now if line.state == "Refused" else None)
            self.store.orders_changed()
        errors = len(result["lines"]) - applied
        result["status"] = "OK" if not errors else "ERROR" if not applied else "WARNING"
        result["state"] = order.state
        return result

    @staticmethod
    def _targets(order: Order, action: str, details: list[dict], result: dict) -> list[tuple[OrderLine, dict]]:
        """The (line, asked change) pairs an order action applies to; unknown order_detail_ids go to result."""
        targets = []
        for d in details:
            if d["order_detail_id"] is None or action in ALL_LINES_ACTIONS:
                targets += [(line, d) for line in order.lines if eligible(action, d["action"], line)]
                continue
            line = order.line(d["order_detail_id"])
            if line is None:
                result["lines"].append((d["order_detail_id"], "ERROR", "", [
                    (UNKNOWN_ORDER_LINE,
                     f"order_detail_id {d['order_detail_id']} not found in order {order.order_id}")]))
            else:
                targets.append((line, d))
        return targets

    def _apply_line(self, action: str, line: OrderLine, d: dict):
        line_action = d["action"]
        if line_action in BUYER_ONLY["line"]:
            return (BUYER_ONLY_ACTION, BUYER_ONLY["line"][line_action])
        rules = LINE_RULES[ACTION_FAMILY[action]]
        rule = rules.get(line_action)
        if rule is None:
            return (LINE_ACTION_NOT_ALLOWED,
                    f"Line action {line_action} not allowed with {action} (use {' or '.join(rules)})")
        if line.state not in rule.from_states:
            code = REFUND_NOT_ALLOWED if rule.needs_refund_reason else LINE_ACTION_NOT_ALLOWED
            return (code, f"Line {line.order_detail_id} is {line.state}{rule.wrong_state}")
        if rule.needs_refund_reason and _under_open_incident(self.store, d.get("order_id", ""),
                                                             line.order_detail_id):
            return (REFUND_NOT_ALLOWED, f"Line {line.order_detail_id} is under an open incident: refund it with "
                                        "incidents_update")
        if rule.needs_refund_reason:
            if not d.get("refund_reason"):
                return (REFUND_REASON_MISSING, "refund_reason is required to refund a line")
            line.refund_reason = d["refund_reason"]
        if rule.takes_tracking:
            # free text, kept as sent: FNAC's sandbox accepted "Track Inc." (recorded by fnapy), not only the
            # codes of carriers_query; the XSD bounds it to 100 characters (string100), checked before this
            company = d.get("tracking_company")
            if company:
                line.tracking_company = company
            if d.get("tracking_number"):
                line.tracking_number = d["tracking_number"]
        line.state = rule.to_state or line_action
        return None


def _date_between(value, lo, hi) -> bool:
    return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)


def _recompute(order: Order, now: dt.datetime) -> None:
    """The order's state from its lines' states, after an update applied."""
    states = [line.state for line in order.lines]
    if order.state == "Created":
        if "ToAccept" not in states:
            if all(s == "Refused" for s in states):
                order.state, order.refused_at = "Refused", now
            else:
                order.state, order.accepted_at = "Accepted", now
        return
    active = [s for s in states if s not in INACTIVE_LINES]
    if not active:
        if "Refunded" in states:
            order.state, order.refunded_at = "Refunded", now
    elif order.state == "ToShip" and all(s == "Shipped" for s in active):
        order.state, order.shipped_at = "Shipped", now


def _details(order_el) -> list[dict]:
    details = []
    for d in order_el:
        if x.local(d) != "order_detail":
            continue
        raw_id = x.text(d, "order_detail_id")
        details.append({"order_detail_id": int(raw_id) if raw_id else None, "action": x.text(d, "action") or "",
                        "tracking_number": x.text(d, "tracking_number"),
                        "tracking_company": x.text(d, "tracking_company"),
                        "refund_reason": x.text(d, "refund_reason")})
    return details


def _result_xml(r: dict):
    el = x.element("order")
    x.subs(el, [("status", r["status"]), ("order_id", r["order_id"])])
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


def _address(tag: str, a):
    el = x.element(tag)
    x.subs(el, [("firstname", a.firstname), ("lastname", a.lastname)])
    if a.company:
        x.sub(el, "company", a.company)
    x.subs(el, [("address1", a.address1), ("address2", a.address2), ("address3", a.address3),
                ("zipcode", a.zipcode), ("city", a.city), ("country", a.country), ("phone", a.phone),
                ("mobile", a.mobile)])
    return el


def _line(line: OrderLine, order: Order):
    el = x.element("order_detail")
    x.subs(el, [(tag, getattr(line, attr)) for tag, attr in LINE_FIELDS])
    x.sub(el, "created_at", fmt(line.created_at or order.created_at))
    if line.debited_at:
        x.sub(el, "debited_at", fmt(line.debited_at))
    x.sub(el, "received_at", fmt(line.received_at))
    if line.refused_at:
        x.sub(el, "refused_at", fmt(line.refused_at))
    x.subs(el, [("product_url", line.product_url), ("image", line.image)])
    if line.tracking_number:
        x.sub(el, "tracking_number", line.tracking_number)
    if line.tracking_company:
        x.sub(el, "tracking_company", line.tracking_company)
    x.subs(el, [("shipping_price", line.shipping_price), ("shipping_method", line.shipping_method),
                ("nb_products_to_take_back", line.nb_products_to_take_back)])
    return el


# ---------------------------------------------------------------- incidents (issue 15)
def _under_open_incident(store, order_id: str, order_detail_id: int) -> bool:
    """A line of an OPENED incident whose own status is OPENED: FNAC refunds it through incidents_update (the
    sandbox's stricter reading; fnac_incidents)."""
    for incident in store.incidents.values():
        if incident.order_id == order_id and incident.status == "OPENED":
            line = incident.line(order_detail_id)
            if line is not None and line.status == "OPENED":
                return True
    return False
