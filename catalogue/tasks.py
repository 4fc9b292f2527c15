"""django-q tasks (thin doors): each calls a catalogue service."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_q.models import Schedule

from catalogue import services
from stores.models import Store, SyncRun
from stores.syncs import run_queued

log = logging.getLogger(__name__)


def catalogue_sync_task(store_id: int, full: bool = True, run_id: int | None = None,
                        trigger: str = "task") -> int | None:
    return run_queued(store_id=store_id, run_id=run_id, what="catalogue sync", work=lambda store, run:
                      services.catalogue_sync(store=store, full=full, trigger=trigger, run=run))


def catalogue_refresh_task(store_id: int) -> int | None:
    """The periodic job: offers modified on FNAC since the last sync (a full pass once a day)."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.sync_catalogue_enabled:
        return None
    return catalogue_sync_task(store_id, full=False, trigger="schedule")


def products_send_task(run_id: int) -> int | None:
    run = SyncRun.objects.select_related("store").filter(pk=run_id).first()
    if run is None:
        return None
    jobs = services.products_send(run=run)
    return len(jobs)


def listing_job_follow_task(job_id: int, attempt: int = 0) -> bool:
    """Follow a batch / Mirakl import until final: poll a little inline, then come back later (a ONCE schedule),
    giving up after CATALOGUE_FOLLOW_MAX_ATTEMPTS."""
    if services.listing_job_follow(job_id=job_id):
        return True
    if attempt >= int(getattr(settings, "CATALOGUE_FOLLOW_MAX_ATTEMPTS", 120)):
        services.listing_job_give_up(job_id=job_id)
        return True
    delay = int(getattr(settings, "CATALOGUE_FOLLOW_RETRY_SECONDS", 30))
    next_run = timezone.now() + dt.timedelta(seconds=delay)
    not_before = services.listing_job_next_poll_at(job_id=job_id)  # Mirakl: P42 once a minute, its 429
    if not_before is not None and not_before > next_run:
        next_run = not_before
    Schedule.objects.update_or_create(
        name=f"catalogue:follow:{job_id}",
        defaults=dict(func="catalogue.tasks.listing_job_follow_task", args=f"{job_id}, {attempt + 1}",
                      schedule_type=Schedule.ONCE, repeats=-1, next_run=next_run))
    return False


def mirakl_create_waiting_task(store_id: int) -> int | None:
    """The next Mirakl product-import slot of a store has come: send the products that waited for it."""

    store = Store.objects.filter(pk=store_id).first()
    if store is None or not store.is_connected:
        return None
    job = services.products_create_waiting(store=store)
    return job.pk if job else None
