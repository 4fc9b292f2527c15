"""django-q tasks (thin doors): each calls the orders service for one store."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from orders import services
from stores.models import Store

log = logging.getLogger(__name__)


def orders_sync_task(store_id: int, mode: str = "manual", since: str | None = None, run_id: int | None = None,
                     trigger: str = "task") -> int | None:
    return services.orders_sync_task_run(store_id=store_id, mode=mode, run_id=run_id, trigger=trigger,
                                         since=dt.datetime.fromisoformat(since) if since else None)


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
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not (store.sync_orders_enabled or store.sync_order_status_enabled):
        return None
    since = timezone.now() - dt.timedelta(days=SWEEP_DAYS)
    return orders_sync_task(store_id, mode="manual", since=since.isoformat(), trigger="sweep")
