"""django-q tasks (thin doors): each calls the claims service for one store."""

from __future__ import annotations

from claims import services
from stores.models import Store


def claims_sync_task_queued(store_id: int, run_id: int | None = None, trigger: str = "task",
                            initial: bool = False) -> int | None:
    return services.claims_sync_task_run(store_id=store_id, run_id=run_id, trigger=trigger, initial=initial)


def claims_sync_task(store_id: int) -> int | None:
    """The periodic job of a store (with its order status sync interval)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.sync_order_status_enabled:
        return None
    return services.claims_sync_task_run(store_id=store_id, trigger="schedule")
