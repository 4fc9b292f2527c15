"""The claims use cases, the one entry every door (admin, API, commands, tasks) calls: ``importing`` (the import
of FNAC incidents, order flags) and ``refunds`` (line refunds sent exactly once)."""

from __future__ import annotations

from claims.importing import (
    CLAIM_FLAG_PREFIX,
    claims_import_page,
    claims_link_orders,
    claims_sync,
    claims_sync_request,
    orders_flags_refresh,
)
from claims.refunds import RefundLineRequest, lines_refund, reason_choices, refunds_resolve_pending
from stores.syncs import run_queued

__all__ = ["CLAIM_FLAG_PREFIX", "RefundLineRequest", "claims_import_page", "claims_link_orders", "claims_sync",
           "claims_sync_request", "claims_sync_task_run", "lines_refund", "orders_flags_refresh", "reason_choices",
           "refunds_resolve_pending"]


def claims_sync_task_run(*, store_id: int, run_id: int | None = None, trigger: str = "task",
                         initial: bool = False) -> int | None:
    """A queued claims import (``stores.syncs.run_queued``), then the refunds whose outcome is unknown are
    checked on FNAC (exactly once: they are settled before anything is sent again)."""

    def work(store, run):
        run = claims_sync(store=store, trigger=trigger, run=run, initial=initial)
        refunds_resolve_pending(store=store)
        return run

    return run_queued(store_id=store_id, run_id=run_id, what="claims sync", work=work)
