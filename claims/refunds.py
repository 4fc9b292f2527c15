"""Line refunds: one or several lines of one order refunded on FNAC with a reason, exactly once.

Which FNAC service (both per-service XSDs carry a line-level ``refund_reason``):
- a line under an OPEN claim (an FNAC incident line still open) is refunded through ``incidents_update``
  (``action="refund"`` with the incident id): FNAC closes the claim line with the refund;
- any other line through ``orders_update`` (``action="refund_order"``, line action ``Refunded``).
Only once the order has left the warehouse (FNAC Shipped, NotReceived or Received): before that the seller cancels
the order instead (fulfilment's "Cancel order…"), which refunds it whole. FNAC refunds whole lines (no quantity on
the wire): a quantity is accepted only when it is the line's whole quantity.

Nothing is sent when a check fails (wrong state, line already refunded, quantity not the line's, unknown line,
mixed claim/non-claim lines). The intent (``LineRefund``, state sending) is committed BEFORE the call; when FNAC's
answer is lost, the order is read back on FNAC (``orders_query``) before anything else is sent for it, so a refund
is never sent twice. Stock goes back on the shelf only for lines the seller says came back (``returned_to_stock``),
through inventory's ``stock_adjust``, and only once FNAC took the refund.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from catalogue.models import Product
from claims.importing import orders_flags_refresh
from claims.models import Claim, ClaimLine, LineRefund
from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.errors import BadResponse, MarketplaceError
from fnac_connector.marketplace.fnac import incidents as fnac_incidents
from fnac_connector.marketplace.fnac import types as fnac
from inventory.services import stock_adjust
from orders.labels import REFUND_REASONS, fnac_state_label
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.status import IllegalTransition, order_transition
from stores.clients import fnac_client_for
from stores.models import Store

log = logging.getLogger(__name__)

REFUNDABLE_ORDER_STATES = ("Shipped", "NotReceived", "Received")
REFUNDABLE_LINE_STATES = ("Shipped", "NotReceived", "Received")
# a refund row still "sending" this long after it was recorded belongs to a worker that died mid-call
IN_FLIGHT = dt.timedelta(minutes=3)
STOCK_SOURCE = "refund_return"


@dataclass(frozen=True)
class RefundLineRequest:
    """One line to refund: by ``order_detail_id`` or by ``sku``; ``quantity`` (default: the whole line) must be
    the line's quantity; ``returned_to_stock``: the item came back and goes back on the shelf."""

    order_detail_id: int | None = None
    sku: str = ""
    quantity: int | None = None
    returned_to_stock: bool = False


def reason_choices() -> list[tuple[str, str]]:
    return list(REFUND_REASONS.items())


def _label(line: OrderLine, *, upper: bool = False) -> str:
    return f"{'Line' if upper else 'line'} {line.order_detail_id} ({line.sku})"


def lines_refund(*, order: Order, lines: Sequence[RefundLineRequest], reason: str, user=None, note: str = "",
                 client=None) -> LineRefund:
    """Refund ``lines`` of ``order`` on FNAC with ``reason`` (one of FNAC's refund reasons). Returns the refund
    (state done). Raises InvalidInput / Conflict (nothing sent) or MarketplaceFailure (FNAC refused or did not
    answer; the message says whether anything was refunded)."""
    order = Order.objects.select_related("store").get(pk=order.pk)
    ref = order.marketplace_order_id
    reason = (reason or "").strip()
    if reason not in fnac.REFUND_REASONS:
        raise InvalidInput(f"Unknown refund reason {reason!r}; use one of: "
                           + ", ".join(f"{code} ({words})" for code, words in REFUND_REASONS.items()) + ".",
                           details={"reason": [f"unknown reason {reason!r}"]})
    if not lines:
        raise InvalidInput("Choose at least one line to refund.", details={"lines": ["no line given"]})
    client = client or fnac_client_for(order.store)
    refunds_resolve_pending(store=order.store, order=order, client=client)
    order.refresh_from_db()
    targets = _check(order, lines)
    route, claim = _route(order, [line for line, _ in targets])
    payload = [{"order_detail_id": line.order_detail_id, "sku": line.sku, "quantity": quantity,
                "returned_to_stock": returned} for line, (quantity, returned) in targets]
    with transaction.atomic():
        # the intent is committed before the call: a worker that dies mid-call leaves it for the look-up
        locked = Order.objects.select_for_update().get(pk=order.pk)
        busy = LineRefund.objects.filter(order=locked, state__in=[LineRefund.State.SENDING, LineRefund.State.UNKNOWN])
        if busy.exists():
            raise Conflict(f"Order {ref}: another refund is being sent; try again in a minute. Nothing was sent.")
        refund = LineRefund.objects.create(store=order.store, order=order, claim=claim, route=route, reason=reason,
                                           note=note[:2000], lines=payload,
                                           user=user if getattr(user, "pk", None) else None)
    return _send(refund, client=client)


def _check(order: Order, requested: Sequence[RefundLineRequest]) -> list[tuple[OrderLine, tuple[int, bool]]]:
    """The lines to refund with (quantity, returned to stock), or the precise reason why not (nothing sent)."""
    ref = order.marketplace_order_id
    if order.fnac_state not in REFUNDABLE_ORDER_STATES:
        raise Conflict(
            f"Order {ref} is {fnac_state_label(order.fnac_state)} on FNAC: lines can be refunded only once the order "
            f"is shipped ({', '.join(fnac_state_label(s) for s in REFUNDABLE_ORDER_STATES)}). Before shipping, "
            "cancel the order instead. Nothing was sent to FNAC.",
            details={"order": [f"FNAC state {order.fnac_state}"]})
    by_id = {line.order_detail_id: line for line in order.lines.select_related("product")}
    by_sku: dict[str, list[OrderLine]] = {}
    for line in by_id.values():
        by_sku.setdefault(line.sku, []).append(line)
    refunded = {d["order_detail_id"] for r in LineRefund.objects.filter(order=order, state=LineRefund.State.DONE)
                for d in r.lines}
    chosen: list[tuple[OrderLine, tuple[int, bool]]] = []
    seen: set[int] = set()
    for index, item in enumerate(requested, start=1):
        where = f"line #{index}"
        if item.order_detail_id is not None:
            line = by_id.get(int(item.order_detail_id))
            if line is None:
                raise InvalidInput(f"{where}: order {ref} has no line {item.order_detail_id}. Nothing was sent.",
                                   details={"lines": [f"{where}: unknown order_detail_id {item.order_detail_id}"]})
        else:
            matches = by_sku.get((item.sku or "").strip(), [])
            if not matches:
                raise InvalidInput(f"{where}: order {ref} has no line with SKU {item.sku!r}. Nothing was sent.",
                                   details={"lines": [f"{where}: unknown SKU {item.sku!r}"]})
            if len(matches) > 1:
                raise InvalidInput(f"{where}: SKU {item.sku!r} is on {len(matches)} lines of order {ref}; name the "
                                   "line by its order_detail_id. Nothing was sent.",
                                   details={"lines": [f"{where}: ambiguous SKU {item.sku!r}"]})
            line = matches[0]
        if line.order_detail_id in seen:
            raise InvalidInput(f"{where}: {_label(line)} is listed twice. Nothing was sent.",
                               details={"lines": [f"{where}: duplicate line"]})
        seen.add(line.order_detail_id)
        if line.state == "Refunded" or line.order_detail_id in refunded:
            raise Conflict(f"{_label(line, upper=True)} of order {ref} is already refunded. Nothing was sent.",
                           details={"lines": [f"{where}: already refunded"]})
        if line.state not in REFUNDABLE_LINE_STATES:
            raise Conflict(f"{_label(line, upper=True)} of order {ref} is {fnac_state_label(line.state)} on FNAC and "
                           "cannot be refunded. Nothing was sent.", details={"lines": [f"{where}: {line.state}"]})
        quantity = line.quantity if item.quantity is None else item.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise InvalidInput(f"{where}: quantity must be a whole number of at least 1, got {item.quantity!r}. "
                               "Nothing was sent.", details={"lines": [f"{where}: bad quantity"]})
        if quantity > line.quantity:
            raise InvalidInput(f"{where}: quantity {quantity} is more than the {line.quantity} ordered on "
                               f"{_label(line)}. Nothing was sent.",
                               details={"lines": [f"{where}: quantity too high"]})
        if quantity < line.quantity:
            raise InvalidInput(f"{where}: FNAC refunds whole lines: {_label(line)} has {line.quantity} units, a "
                               f"refund of {quantity} is not possible. Nothing was sent.",
                               details={"lines": [f"{where}: partial quantity"]})
        if item.returned_to_stock and line.product_id is None:
            raise InvalidInput(f"{where}: SKU {line.sku!r} is not a product here, so it cannot go back to stock. "
                               "Untick \"returned to stock\". Nothing was sent.",
                               details={"lines": [f"{where}: unknown product"]})
        chosen.append((line, (quantity, bool(item.returned_to_stock))))
    return chosen


def _route(order: Order, lines: list[OrderLine]) -> tuple[str, Claim | None]:
    """orders_update, or incidents_update with the open claim every line belongs to."""
    ids = [line.order_detail_id for line in lines]
    open_lines = dict(ClaimLine.objects.filter(
        claim__order=order, claim__status=Claim.Status.OPENED, status=Claim.Status.OPENED,
        order_detail_id__in=ids).values_list("order_detail_id", "claim_id"))
    if not open_lines:
        return LineRefund.Route.ORDERS_UPDATE, None
    outside = [i for i in ids if i not in open_lines]
    if outside or len(set(open_lines.values())) > 1:
        raise Conflict(f"Order {order.marketplace_order_id}: lines {', '.join(map(str, sorted(open_lines)))} are under "
                       "open claims and FNAC refunds them through each claim; refund each claim's lines on their own "
                       f"(lines outside a claim: {', '.join(map(str, outside)) or 'none'}). Nothing was sent.")
    return LineRefund.Route.INCIDENTS_UPDATE, Claim.objects.get(pk=next(iter(open_lines.values())))


# ---------------------------------------------------------------- sending
def _send(refund: LineRefund, *, client) -> LineRefund:
    order = refund.order
    ref = order.marketplace_order_id
    ids = [d["order_detail_id"] for d in refund.lines]
    try:
        if refund.route == LineRefund.Route.INCIDENTS_UPDATE:
            result = client.incidents_update([fnac_incidents.IncidentUpdate(
                order_id=ref, incident_id=refund.claim.incident_id,
                lines=[fnac_incidents.IncidentRefundLine(order_detail_id=i, refund_reason=refund.reason)
                       for i in ids])])
        else:
            result = client.orders_update([fnac.OrderUpdate(order_id=ref, action="refund_order", lines=[
                fnac.LineUpdate(action="Refunded", order_detail_id=i, refund_reason=refund.reason) for i in ids])])
    except ValueError as exc:  # the request could not be built: nothing left
        _end(refund, LineRefund.State.FAILED, f"Not sent: {exc}", "INVALID_REQUEST")
        raise InvalidInput(f"Order {ref}: the refund could not be sent: {exc}. Nothing was sent.") from exc
    except MarketplaceError as exc:
        if exc.retryable or isinstance(exc, BadResponse):
            # the call may or may not have reached FNAC: read the order back before anything else is sent
            _end(refund, LineRefund.State.UNKNOWN, f"{exc.__class__.__name__}: {exc}", exc.__class__.__name__)
            settled = _settle(refund, client=client)
            if settled.state == LineRefund.State.DONE:
                return settled
            if settled.state == LineRefund.State.FAILED:
                raise MarketplaceFailure(f"FNAC did not answer the refund of order {ref} ({exc}); checked on FNAC: "
                                         "nothing was refunded. You can try again.") from exc
            raise MarketplaceFailure(f"FNAC did not answer the refund of order {ref} ({exc}) and could not be asked "
                                     "whether it was applied. It is checked on FNAC before any new refund of this "
                                     "order (and at the next claims sync); nothing was changed here.") from exc
        code = getattr(exc, "code", "") or exc.__class__.__name__
        _end(refund, LineRefund.State.REFUSED, str(exc), code)
        raise MarketplaceFailure(f"FNAC refused the refund of order {ref}: {code} {exc}. Nothing was changed "
                                 "here.") from exc
    answer = next((r for r in result if r.order_id == ref), None)
    if answer is None:
        _end(refund, LineRefund.State.UNKNOWN, "FNAC's answer does not mention the order", "NO_ANSWER")
        settled = _settle(refund, client=client)
        if settled.state == LineRefund.State.DONE:
            return settled
        found = "nothing was refunded" if settled.state == LineRefund.State.FAILED else "unknown"
        raise MarketplaceFailure(f"FNAC's answer did not mention order {ref}; checked on FNAC: {found}.")
    ok_ids = {line.order_detail_id for line in answer.lines if line.status == "OK" and not line.errors}
    if answer.ok and not answer.lines:
        ok_ids = set(ids)
    problems = [f"{e.code}: {e.message}" for e in answer.errors] + [
        f"line {line.order_detail_id}: " + "; ".join(f"{e.code}: {e.message}" for e in line.errors)
        for line in answer.lines if line.order_detail_id not in ok_ids]
    if not ok_ids:
        code = next((e.code for e in answer.errors), "") or next(
            (e.code for line in answer.lines for e in line.errors), answer.status)
        _end(refund, LineRefund.State.REFUSED, "; ".join(problems) or f"status {answer.status}", code)
        raise MarketplaceFailure(f"FNAC refused the refund of order {ref}: {'; '.join(problems)}. Nothing was "
                                 "changed here.")
    _apply(refund, ok_ids, fnac_order_state=answer.state,
           incident_status=getattr(answer, "incident_status", ""), problems=problems)
    refund.refresh_from_db()
    return refund


def _end(refund: LineRefund, state: str, error: str, code: str = "") -> None:
    refund.state, refund.error, refund.error_code = state, error[:4000], code[:40]
    refund.finished_at = timezone.now() if state != LineRefund.State.UNKNOWN else None
    LineRefund.objects.filter(pk=refund.pk).update(state=state, error=refund.error, error_code=refund.error_code,
                                                   finished_at=refund.finished_at)


def _apply(refund: LineRefund, ok_ids: set[int], *, fnac_order_state: str = "", incident_status: str = "",
           problems: list[str] | None = None) -> None:
    """FNAC took the refund of ``ok_ids``: line states, claim lines, stock of returned items, the order's state."""
    order = refund.order
    now = timezone.now()
    with transaction.atomic():
        if LineRefund.objects.select_for_update().filter(pk=refund.pk, state=LineRefund.State.DONE).exists():
            return  # applied already (a look-up and a late answer): never twice
        OrderLine.objects.filter(order=order, order_detail_id__in=ok_ids).update(state="Refunded")
        if refund.claim_id:
            ClaimLine.objects.filter(claim_id=refund.claim_id, order_detail_id__in=ok_ids).update(
                status=Claim.Status.CLOSED, refunded_at=now)
            if incident_status == Claim.Status.CLOSED or not ClaimLine.objects.filter(
                    claim_id=refund.claim_id, status=Claim.Status.OPENED).exists():
                Claim.objects.filter(pk=refund.claim_id).update(status=Claim.Status.CLOSED, waiting_for_seller=False,
                                                                closed_at=now)
        returned = [d for d in refund.lines if d["order_detail_id"] in ok_ids and d.get("returned_to_stock")]
        if returned:
            products = dict(OrderLine.objects.filter(order=order, order_detail_id__in=[
                d["order_detail_id"] for d in returned]).values_list("order_detail_id", "product_id"))
            for d in returned:
                product_id = products.get(d["order_detail_id"])
                if product_id:
                    stock_adjust(product=_product(product_id), delta=int(d["quantity"]), source=STOCK_SOURCE,
                                 user=refund.user)
        state = fnac_order_state or order.fnac_state
        if not OrderLine.objects.filter(order=order).exclude(state__in=("Refunded", "Cancelled", "Refused")).exists():
            state = "Refunded"
        Order.objects.filter(pk=order.pk).update(fnac_state=state, updated_at=now)
        order.fnac_state = state
        error = "" if not problems else "Some lines were refused: " + "; ".join(problems)
        LineRefund.objects.filter(pk=refund.pk).update(state=LineRefund.State.DONE, finished_at=now,
                                                       stock_returned=bool(returned), error=error[:4000])
        words = REFUND_REASONS.get(refund.reason, refund.reason)
        note = f"Lines {', '.join(map(str, sorted(ok_ids)))} refunded on FNAC ({words})" + (
            f"; back to stock: {', '.join(d['sku'] for d in returned)}" if returned else "")
        if state == "Refunded" and order.status != OrderStatus.REFUNDED:
            try:
                order_transition(order=order, to_status=OrderStatus.REFUNDED, source=_source(refund), user=refund.user,
                                 note=note)
            except IllegalTransition:
                _history(order, refund, note)
        else:
            _history(order, refund, note)
        orders_flags_refresh(order_ids={order.pk})


def _product(product_id: int) -> Product:
    return Product.objects.get(pk=product_id)


def _source(refund: LineRefund) -> str:
    return OrderStatusChange.Source.USER if refund.user_id else OrderStatusChange.Source.SYSTEM


def _history(order: Order, refund: LineRefund, note: str) -> None:
    """A refund that does not change the OMS status is still written in the order's history."""
    OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=order.status,
                                     source=_source(refund), user=refund.user, note=note[:2000])


# ---------------------------------------------------------------- outcome unknown: look before sending again
def _settle(refund: LineRefund, *, client) -> LineRefund:
    """Read the order back on FNAC: lines Refunded there are applied here (done), none refunded means the call
    never landed (failed, safe to send again); FNAC unreachable leaves it unknown."""
    ref = refund.order.marketplace_order_id
    ids = {d["order_detail_id"] for d in refund.lines}
    try:
        page = client.orders_query_page(order_ids=[ref], page_size=1)
    except MarketplaceError as exc:
        log.warning("refund #%s of %s: FNAC could not be asked (%s)", refund.pk, ref, exc)
        return refund
    found = next((o for o in page.orders if isinstance(o, fnac.Order) and o.order_id == ref), None)
    if found is None:
        return refund
    done = {line.order_detail_id for line in found.lines if line.order_detail_id in ids and line.state == "Refunded"}
    if done:
        _apply(refund, done, fnac_order_state=found.state)
    else:
        _end(refund, LineRefund.State.FAILED, (refund.error + "\n" if refund.error else "")
             + "Checked on FNAC: no line refunded; nothing changed.", refund.error_code or "NOT_APPLIED")
    refund.refresh_from_db()
    return refund


def refunds_resolve_pending(*, store: Store, order: Order | None = None, client=None) -> int:
    """Settle the refunds of ``store`` (or of one order) whose outcome is unknown, or whose worker died while
    sending, by reading their order back on FNAC. A refund still being sent (recorded less than ``IN_FLIGHT``
    ago) makes a refund of the same order wait: Conflict, nothing sent. Returns how many were settled."""
    pending = LineRefund.objects.filter(store=store, state__in=[LineRefund.State.SENDING, LineRefund.State.UNKNOWN])
    if order is not None:
        pending = pending.filter(order=order)
    pending = list(pending.select_related("order", "claim"))
    if not pending:
        return 0
    cutoff = timezone.now() - IN_FLIGHT
    settled = 0
    for refund in pending:
        if refund.state == LineRefund.State.SENDING and refund.created_at > cutoff:
            if order is not None:
                raise Conflict(f"Order {order.marketplace_order_id}: a refund is being sent right now (recorded at "
                               f"{refund.created_at:%H:%M:%S}); try again in a few minutes. Nothing was sent.")
            continue
        client = client or fnac_client_for(store)
        refund = _settle(refund, client=client)
        if refund.state in (LineRefund.State.DONE, LineRefund.State.FAILED):
            settled += 1
        if order is not None and refund.state in (LineRefund.State.SENDING, LineRefund.State.UNKNOWN):
            raise MarketplaceFailure(f"Order {order.marketplace_order_id}: the outcome of refund #{refund.pk} is "
                                     "still unknown and FNAC cannot be asked now; nothing was sent. Try again later.")
    return settled
