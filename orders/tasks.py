"""django-q tasks (thin doors): each calls the orders service for one store."""

from __future__ import annotations

import datetime as dt
import logging

from orders.services import orders_sync
from stores.models import Store, SyncRun
from stores.syncs import LockBusy

log = logging.getLogger(__name__)


def orders_sync_task(store_id: int, mode: str = "manual", since: str | None = None, run_id: int | None = None,
                     trigger: str = "task") -> int | None:
    store = Store.objects.filter(pk=store_id).first()
    run = SyncRun.objects.filter(pk=run_id).first() if run_id else None
    if store is None or not store.is_connected:
        if run is not None:
            SyncRun.objects.filter(pk=run.pk).update(state=SyncRun.State.FAILED,
                                                     message="The store is not connected (any more).")
        return None
    try:
        run = orders_sync(store=store, mode=mode, since=dt.datetime.fromisoformat(since) if since else None,
                          trigger=trigger, run=run)
    except LockBusy as exc:  # another worker is syncing this store: this run is recorded as skipped
        log.info("orders sync skipped for store %s: %s", store_id, exc)
        return run.pk if run else None
    return run.pk


def orders_new_task(store_id: int) -> int | None:
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.sync_orders_enabled:
        return None
    return orders_sync_task(store_id, mode="new", trigger="schedule")


def orders_status_task(store_id: int) -> int | None:
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.sync_order_status_enabled:
        return None
    return orders_sync_task(store_id, mode="status", trigger="schedule")


SWEEP_DAYS = 3


def orders_sweep_task(store_id: int) -> int | None:
    """Daily safety net: re-read every order changed in the last few days, whatever the cursors say."""
    from django.utils import timezone

    store = Store.objects.filter(pk=store_id).first()
    if store is None or not (store.sync_orders_enabled or store.sync_order_status_enabled):
        return None
    since = timezone.now() - dt.timedelta(days=SWEEP_DAYS)
    return orders_sync_task(store_id, mode="manual", since=since.isoformat(), trigger="sweep")
