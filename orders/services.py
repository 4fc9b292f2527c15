"""The orders use cases, the one entry every door (admin, API, commands, tasks) calls.

Each use case lives in its own module: ``importing`` (the FNAC import), ``sync`` (a sync: import, promotion,
automatic acceptance; queued syncs), ``promotion`` (waiting orders), ``acceptance`` and ``status_push``
(order updates sent to FNAC, failures typed).
"""

from orders.acceptance import ReasonRequired, order_accept, order_awaits_decision, order_refuse, orders_auto_accept
from orders.importing import (
    CURSOR_NEW,
    CURSOR_STATUS,
    INITIAL_DAYS,
    LOCK_NAME,
    SyncMode,
    _Importer,
    orders_refetch,
)
from orders.promotion import orders_promote_waiting, orders_rematch_lines, orders_stock_arrived
from orders.status import order_unflag
from orders.status_push import PushFailure, PushResult, describe_result, orders_push_updates
from orders.sync import orders_sync, orders_sync_request, orders_sync_task_run

__all__ = [
    "CURSOR_NEW", "CURSOR_STATUS", "INITIAL_DAYS", "LOCK_NAME", "PushFailure", "PushResult", "ReasonRequired",
    "SyncMode", "_Importer", "order_awaits_decision",
    "describe_result", "order_accept", "order_refuse", "orders_auto_accept", "orders_promote_waiting",
    "orders_push_updates", "orders_refetch", "orders_rematch_lines", "orders_stock_arrived", "orders_sync",
    "orders_sync_request", "orders_sync_task_run", "order_unflag",
]
