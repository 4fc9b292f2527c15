"""django-q tasks (thin doors): each calls the inventory service for one store."""

from __future__ import annotations

import logging

from inventory import services, sweep
from stores.models import Store, SyncRun
from stores.syncs import run_queued

log = logging.getLogger(__name__)


def stock_push_task(store_id: int) -> dict | None:
    """Drain the store's outbox (queued after each change, retried with backoff, and every minute)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        return None
    report = services.stock_push_job(store=store, trigger="task")
    return report.merge_counts()


def stock_push_schedule_task(store_id: int) -> dict | None:
    """The former per-store safety drain, kept for tasks already queued when migration 0003 removed its schedules."""
    return stock_push_task(store_id)


def stock_push_sweep_task() -> list[int]:
    """Every minute (global schedule ``global:stock_push_sweep``): wake the drain of every store with pending
    changes that no drain holds (a lost task, a dead worker, a missed wake-up); returns their ids."""
    return sweep.stock_push_sweep()


def stock_sync_task(store_id: int, run_id: int | None = None, skus: list[str] | None = None,
                    product_ids: list[int] | None = None, trigger: str = "task") -> int | None:
    store = Store.objects.filter(pk=store_id).first()
    run = SyncRun.objects.filter(pk=run_id).first() if run_id else None
    if store is None:
        return None
    run = services.stock_sync(store=store, skus=skus, product_ids=product_ids, trigger=trigger, run=run)
    return run.pk


def stock_full_push_task(store_id: int) -> int | None:
    """The daily safety net: every active product's sellable quantity and price, sent again."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not (store.sync_stock_enabled or store.sync_prices_enabled):
        return None
    return stock_sync_task(store_id, trigger="schedule")


def offers_reconcile_task(store_id: int, full: bool = False, run_id: int | None = None,
                          trigger: str = "task") -> int | None:
    """Compare FNAC's offers with what was pushed and queue the repair of drifted SKUs (inventory.reconcile)."""
    return run_queued(store_id=store_id, run_id=run_id, what="offers reconciliation", work=lambda store, run:
                      services.offers_reconcile(store=store, full=full, trigger=trigger, run=run))


def offers_reconcile_schedule_task(store_id: int) -> int | None:
    """The periodic reconciliation (offers modified since the last pass; every offer once a day)."""
    return offers_reconcile_task(store_id, trigger="schedule")
