"""Acceptance: accepting or refusing orders on FNAC, by hand or by the store's automatic rule."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.errors import MarketplaceError
from fnac_connector.marketplace.fnac import types as fnac
from orders.importing import orders_refetch
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.reservations import order_release, order_reserve
from orders.status import (
    FNAC_TO_OMS,
    order_transition,
)
from orders.status_push import PushFailure, PushResult, describe_result, orders_push_updates
from stores.models import Store
from stores.syncs import RunRecorder

log = logging.getLogger(__name__)

S = OrderStatus
Source = OrderStatusChange.Source


@dataclasses.dataclass
class Decision:
    order: Order
    accept: list[int]  # order_detail_ids
    refuse: list[int]
    reason: str = ""  # why the seller refused (kept in the status history; FNAC's accept_order carries none)


class ReasonRequired(InvalidInput):
    code = "reason_required"


def order_awaits_decision(order: Order) -> bool:
    """The order can be accepted or refused now (OMS Awaiting acceptance, FNAC Created)."""
    return order.status == S.AWAITING_ACCEPTANCE and order.fnac_state == "Created"


def _apply_decision_result(decision: Decision, result: PushResult, *, source: str, user=None) -> PushFailure | None:
    """FNAC's answer applied to the order; its failure (kept for people in ``last_push_error``), or None."""
    order = decision.order
    if result.failure is not None:
        message = describe_result(result) or "FNAC refused the update"
        Order.objects.filter(pk=order.pk).update(last_push_error=message, updated_at=timezone.now())
        order.last_push_error = message
        return result.failure
    with transaction.atomic():
        line_states = {line.order_detail_id: line.state for line in result.lines if line.state}
        for detail_id in decision.accept:
            OrderLine.objects.filter(order=order, order_detail_id=detail_id).update(
                state=line_states.get(detail_id, "Accepted"))
        for detail_id in decision.refuse:
            OrderLine.objects.filter(order=order, order_detail_id=detail_id).update(
                state=line_states.get(detail_id, "Refused"))
        new_state = result.state or ("Accepted" if decision.accept else "Refused")
        Order.objects.filter(pk=order.pk).update(fnac_state=new_state, last_push_error="", decision_needed=False,
                                                 decision_note="", updated_at=timezone.now())
        order.fnac_state, order.last_push_error, order.decision_needed = new_state, "", False
        target = FNAC_TO_OMS.get(new_state)
        if new_state == "ToShip":
            target = S.NEW if order_reserve(order=order) else S.PARTIAL
        if target:
            verb = "accepted" if decision.accept else "refused"
            note = f"Order {verb} on FNAC"
            if decision.accept and decision.refuse:
                note += f"; refused lines {decision.refuse}"
            if decision.reason:
                note += f". Reason: {decision.reason}"
            order_transition(order=order, to_status=target, source=source, user=user, note=note)
    return None


def _decide(decisions: list[Decision], *, store: Store, source: str, user=None,
            client=None) -> list[PushFailure | None]:
    """Send the decisions; one failure (None: applied) per decision."""
    updates = []
    for d in decisions:
        lines = [fnac.LineUpdate(action="Accepted", order_detail_id=i) for i in d.accept]
        lines += [fnac.LineUpdate(action="Refused", order_detail_id=i) for i in d.refuse]
        updates.append(fnac.OrderUpdate(order_id=d.order.marketplace_order_id, action="accept_order", lines=lines))
    results = orders_push_updates(store=store, updates=updates, client=client)
    return [_apply_decision_result(d, r, source=source, user=user) for d, r in zip(decisions, results, strict=True)]


def _check_awaiting(order: Order) -> None:
    if not order_awaits_decision(order):
        raise Conflict(f"Order {order.marketplace_order_id} is not waiting for acceptance "
                       f"(OMS status {order.get_status_display()}, FNAC state {order.fnac_state}).")


def order_accept(*, order: Order, user=None, refuse_lines: Sequence[int] = (), client=None) -> Order:
    """Accept the order on FNAC (optionally refusing some lines by order_detail_id). Raises MarketplaceFailure
    with FNAC's per-order and per-line errors when it refuses; the error is also kept on the order."""
    order = Order.objects.select_related("store").get(pk=order.pk)
    _check_awaiting(order)
    details = list(order.lines.values_list("order_detail_id", flat=True))
    unknown = [i for i in refuse_lines if i not in details]
    if unknown:
        raise InvalidInput(f"Order {order.marketplace_order_id} has no line(s) {unknown}; its lines are {details}.")
    accept = [i for i in details if i not in set(refuse_lines)]
    if not accept:
        return order_refuse(order=order, user=user, client=client, reason="every line refused while accepting")
    decision = Decision(order=order, accept=accept, refuse=list(refuse_lines))
    source = Source.USER if user is not None else Source.SYSTEM
    if _decide([decision], store=order.store, source=source, user=user, client=client)[0] is not None:
        raise MarketplaceFailure(f"FNAC did not accept order {order.marketplace_order_id}: {order.last_push_error}")
    order.refresh_from_db()
    return order


def order_refuse(*, order: Order, reason: str, user=None, client=None) -> Order:
    """Refuse the whole order on FNAC (``accept_order``, every line Refused). ``reason`` is required (a refusal
    is final); it is kept in the order's status history."""
    reason = " ".join((reason or "").split())[:500]
    if not reason:
        raise ReasonRequired(f"Say why order {order.marketplace_order_id} is refused: a reason is required.",
                             details={"reason": ["required"]})
    order = Order.objects.select_related("store").get(pk=order.pk)
    _check_awaiting(order)
    details = list(order.lines.values_list("order_detail_id", flat=True))
    decision = Decision(order=order, accept=[], refuse=details, reason=reason)
    source = Source.USER if user is not None else Source.SYSTEM
    if _decide([decision], store=order.store, source=source, user=user, client=client)[0] is not None:
        raise MarketplaceFailure(f"FNAC did not refuse order {order.marketplace_order_id}: {order.last_push_error}")
    order.refresh_from_db()
    return order


def orders_auto_accept(*, store: Store, rec: RunRecorder | None = None, client=None) -> dict[str, int]:
    """Apply the store's acceptance rule to orders waiting for acceptance (not left for a person).

    Acceptance reserves the stock. Every line known and covered: accepted. Otherwise, by the store's
    ``uncovered_policy``: left for a decision (nothing held) or covered lines accepted and the others refused.
    An order whose previous push failed is re-read from FNAC first, so an accept that did land is not repeated.
    """
    counts = {"accepted": 0, "refused_lines": 0, "left_for_decision": 0, "accept_failed": 0}
    if store.acceptance_mode != Store.AcceptanceMode.AUTO:
        return counts
    waiting = Order.objects.filter(store=store, status=S.AWAITING_ACCEPTANCE, fnac_state="Created",
                                   decision_needed=False)
    retry_ids = list(waiting.exclude(last_push_error="").values_list("marketplace_order_id", flat=True)[:1000])
    if retry_ids and rec is not None:
        try:
            orders_refetch(store=store, order_ids=retry_ids, rec=rec, client=client)
        except MarketplaceError as exc:
            log.warning("store %s: re-reading orders before retrying acceptance failed: %s", store.pk, exc)
            return counts
    decisions = _auto_decisions(store, list(waiting.order_by("created_at", "id")[:5000]), counts)
    if decisions:
        failures = _decide(decisions, store=store, source=Source.SYSTEM, client=client)
        for decision, failure in zip(decisions, failures, strict=True):
            _count_auto_decision(decision, failure, counts, rec)
    if rec is not None:
        rec.advance(0, counts={k: v for k, v in counts.items() if v})
    return counts


def _auto_decisions(store: Store, candidates: list[Order], counts: dict[str, int]) -> list[Decision]:
    """Reserve stock for each candidate and decide by the store's rule; an order left for a person holds
    nothing and is counted in ``left_for_decision``."""
    decisions: list[Decision] = []
    for order in candidates:
        lines = list(order.lines.all())
        with transaction.atomic():
            covered = order_reserve(order=order)
            if covered:
                decisions.append(Decision(order=order, accept=[line.order_detail_id for line in lines], refuse=[]))
                continue
            reserved = {line.order_detail_id for line in order.lines.filter(reserved_quantity__gte=F("quantity"))}
            if store.uncovered_policy == Store.UncoveredPolicy.REFUSE_LINES:
                accept = [line.order_detail_id for line in lines if line.order_detail_id in reserved]
                refuse = [line.order_detail_id for line in lines if line.order_detail_id not in reserved]
                decisions.append(Decision(order=order, accept=accept, refuse=refuse))
                continue
            order_release(order=order)
            uncovered = [f"{line.sku} x{line.quantity}" + (" (unknown SKU)" if line.unmatched else "")
                         for line in lines if line.order_detail_id not in reserved]
            note = "Not enough stock to accept automatically: " + ", ".join(uncovered)
            Order.objects.filter(pk=order.pk).update(decision_needed=True, decision_note=note,
                                                     updated_at=timezone.now())
            counts["left_for_decision"] += 1
    return decisions


def _count_auto_decision(decision: Decision, failure: PushFailure | None, counts: dict[str, int],
                         rec: RunRecorder | None) -> None:
    """Count an automatic decision; a failed one is a sync issue (code, transient, evidence), a final refusal is
    left for a person, and nothing stays reserved for an order FNAC did not take."""
    if failure is None:
        key = "accepted" if decision.accept else "refused"
        counts[key] = counts.get(key, 0) + 1
        counts["refused_lines"] += len(decision.refuse) if decision.accept else 0
        return
    order = decision.order
    counts["accept_failed"] += 1
    if rec is not None:
        rec.issue("accept_failed", f"Order {order.marketplace_order_id}: {order.last_push_error}",
                  reference=order.marketplace_order_id, details=failure.as_details())
    if failure.final:
        Order.objects.filter(pk=order.pk).update(
            decision_needed=True, decision_note="FNAC refused the automatic decision: " + order.last_push_error)
    with transaction.atomic():
        order_release(order=order)
