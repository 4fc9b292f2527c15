"""django-q tasks (thin doors): the watch, then the store's enabled repricing rules."""

from __future__ import annotations

import logging

from pricing import services
from stores.models import Store
from stores.syncs import LockBusy

log = logging.getLogger(__name__)


def price_watch_task(store_id: int, full: bool = False, skus: list[str] | None = None,
                     trigger: str = "task") -> int | None:
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.is_connected:
        return None
    try:
        run = services.prices_watch(store=store, full=full, skus=skus, trigger=trigger)
        services.reprice(store=store, trigger=trigger)
    except LockBusy as exc:
        log.info("price watch of store %s skipped: %s", store_id, exc)
        return None
    return run.pk


def price_watch_schedule_task(store_id: int) -> int | None:
    """Every PRICING_WATCH_TICK_MINUTES: this tick's share of the store's products, then repricing."""
    return price_watch_task(store_id, trigger="schedule")
