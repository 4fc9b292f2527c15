"""Order-update failures are typed where they happen (never re-parsed from message text)."""

from fnac_connector.marketplace.errors import (
    AuthError,
    BadResponse,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    ResponseTooLarge,
    Unavailable,
)
from fnac_connector.marketplace.fnac import types as fnac
from orders.status_push import NO_ANSWER, _push_batch, failure_of_error


def test_client_errors_become_transient_or_final_failures():
    for exc in (Unavailable("down"), OutcomeUnknown("answer lost"), RateLimited("slow down"), BadResponse("junk"),
                ResponseTooLarge("huge")):
        assert failure_of_error(exc).transient, exc
    refused = failure_of_error(Rejected("no", code="ERR_111"))
    assert refused.final and refused.code == "ERR_111" and "no" in refused.evidence
    assert failure_of_error(AuthError("bad key")).final
    assert failure_of_error(Unavailable("down")).code == "Unavailable"


class _Client:
    def __init__(self, answer):
        self.answer = answer

    def orders_update(self, batch):
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_results_carry_their_failure():
    updates = [fnac.OrderUpdate(order_id=i, action="accept_order", lines=[]) for i in ("A", "B", "C")]
    answer = [fnac.OrderUpdateResult(order_id="A", status="OK"),
              fnac.OrderUpdateResult(order_id="B", status="ERROR", errors=[fnac.FnacErrorItem("ERR_7", "refused")])]
    ok, refused, missing = _push_batch(_Client(answer), updates)
    assert ok.ok and ok.failure is None
    assert refused.failure.final and refused.failure.code == "ERR_7"
    assert missing.failure.transient and missing.failure.code == NO_ANSWER
    lost = _push_batch(_Client(OutcomeUnknown("timeout after sending")), updates)
    assert all(r.failure.transient and r.failure.code == "OutcomeUnknown" and not r.ok for r in lost)
