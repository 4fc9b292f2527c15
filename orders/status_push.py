"""Pushing order updates to FNAC (accept/refuse, refund, shipped), 25 per call, failures carried typed.

Every result carries a ``PushFailure`` (or None when FNAC took the update): ``transient`` (the call may
succeed later: FNAC unreachable, rate limited, an answer lost or not understood, an order missing from the
answer) or final (FNAC refused it, the request could not be built), FNAC's code and the evidence. Callers
decide on these fields, never on the text kept for people (``describe_result``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from fnac_connector.marketplace.errors import BadResponse, MarketplaceError, Rejected
from fnac_connector.marketplace.fnac import types as fnac
from fnac_connector.marketplace.fnac.limits import ORDER_ID_LENGTH, SPLITTABLE_CODES
from stores.clients import fnac_client_for
from stores.models import Store

NO_ANSWER = "NO_ANSWER"
INVALID_REQUEST = "INVALID_REQUEST"


@dataclasses.dataclass(frozen=True)
class PushFailure:
    """Why an order update did not go through."""

    transient: bool  # True: sending it again later may succeed; False: FNAC refused it (or it cannot be sent)
    code: str  # FNAC's error code, or the failure's kind (Unavailable, RateLimited, NO_ANSWER, INVALID_REQUEST...)
    message: str
    evidence: str = ""  # what FNAC answered / the error as raised

    @property
    def final(self) -> bool:
        return not self.transient

    def as_details(self) -> dict:
        return {"code": self.code, "transient": self.transient, "evidence": self.evidence[:2000]}


@dataclasses.dataclass
class PushResult(fnac.OrderUpdateResult):
    """FNAC's answer for one order (or the one made up for a call that failed), with its typed failure."""

    failure: PushFailure | None = None


def failure_of_error(exc: MarketplaceError) -> PushFailure:
    """A client error as a push failure: retryable ones (Unavailable, OutcomeUnknown, RateLimited) and answers
    not understood (BadResponse, ResponseTooLarge) are transient; refusals (Rejected, AuthError) are final."""
    code = getattr(exc, "code", "") or exc.__class__.__name__
    message = str(exc) or exc.__class__.__name__
    return PushFailure(transient=bool(exc.retryable or isinstance(exc, BadResponse)), code=code, message=message,
                       evidence=f"{exc.__class__.__name__}: {message}")


def orders_push_updates(*, store: Store, updates: Sequence[fnac.OrderUpdate], client=None) -> list[PushResult]:
    """Send order updates to FNAC, 25 per ``orders_update`` call; one result per update, in the same order.

    Never raises for FNAC's answer: a call that fails (network, refusal) gives an ERROR result for each of its
    orders, an order FNAC did not answer about gets an ERROR result, and an update the request builder rejects
    (e.g. tracking number too long) is isolated so the others still go. An order id that is not exactly 13
    characters (FNAC's order_id_restriction) is refused here, never sent. When FNAC refuses a whole call for
    what it carries (ERR_096), its orders are sent again in halves until the offending ones are alone: only
    those fail, with FNAC's message.
    """
    results: dict[int, PushResult] = {}
    sendable: list[tuple[int, fnac.OrderUpdate]] = []
    for index, update in enumerate(updates):
        if len(update.order_id or "") != ORDER_ID_LENGTH:
            message = (f"order id {update.order_id!r} is not {ORDER_ID_LENGTH} characters long: FNAC would refuse "
                       "the whole call (order_id_restriction); not sent")
            results[index] = _error_result(update, PushFailure(transient=False, code=INVALID_REQUEST,
                                                               message=message, evidence=message))
        else:
            sendable.append((index, update))
    if sendable:
        client = client or fnac_client_for(store)
    size = fnac.MAX_ORDERS_PER_UPDATE
    for start in range(0, len(sendable), size):
        part = sendable[start:start + size]
        for (index, _), result in zip(part, _push_batch(client, [u for _, u in part]), strict=True):
            results[index] = result
    return [results[index] for index in range(len(updates))]


def _error_result(update: fnac.OrderUpdate, failure: PushFailure) -> PushResult:
    return PushResult(order_id=update.order_id, status="ERROR",
                      errors=[fnac.FnacErrorItem(code=failure.code, message=failure.message)], failure=failure)


def _answered(result: fnac.OrderUpdateResult) -> PushResult:
    """FNAC's own answer: a refusal is final, with FNAC's first error code (order level, else line level)."""
    failure = None
    if not result.ok:
        codes = [e.code for e in result.errors] + [e.code for line in result.lines for e in line.errors]
        failure = PushFailure(transient=False, code=next((c for c in codes if c), result.status),
                              message=describe_result(result) or "FNAC refused the update",
                              evidence=describe_result(result))
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(fnac.OrderUpdateResult)}
    return PushResult(**fields, failure=failure)


def _push_batch(client, batch: list[fnac.OrderUpdate]) -> list[PushResult]:
    try:
        answer = client.orders_update(batch)
    except ValueError as exc:
        if len(batch) == 1:
            return [_error_result(batch[0], PushFailure(transient=False, code=INVALID_REQUEST, message=str(exc),
                                                        evidence=str(exc)))]
        return [result for update in batch for result in _push_batch(client, [update])]
    except MarketplaceError as exc:
        if isinstance(exc, Rejected) and exc.code in SPLITTABLE_CODES and len(batch) > 1:
            middle = len(batch) // 2
            return _push_batch(client, batch[:middle]) + _push_batch(client, batch[middle:])
        failure = failure_of_error(exc)
        return [_error_result(update, failure) for update in batch]
    by_id = {result.order_id: result for result in answer}
    missing = PushFailure(transient=True, code=NO_ANSWER, message="FNAC's answer does not mention this order")
    return [_answered(by_id[update.order_id]) if update.order_id in by_id else _error_result(update, missing)
            for update in batch]


def describe_result(result: fnac.OrderUpdateResult) -> str:
    """A readable line for an order's failures (order errors and each failing line), for people."""
    parts = [f"{e.code}: {e.message}" if e.code else e.message for e in result.errors]
    for line in result.lines:
        if line.status != "OK" or line.errors:
            errors = "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in line.errors)
            parts.append(f"line {line.order_detail_id} {line.status}" + (f" ({errors})" if errors else ""))
    if not parts and result.status != "OK":
        parts.append(f"status {result.status}")
    return "; ".join(parts)
