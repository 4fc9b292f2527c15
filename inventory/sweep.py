"""The per-minute safety net of the stock push, for the whole installation (issue 14).

It used to be one django-q schedule per store every minute: 200 stores put 200 tasks a minute on the queue even
when nothing had changed, and behind them the stores' 5-minute order syncs waited (``bench/scale.py`` measured a
backlog of 900 such drains). Now one global job finds the stores whose outbox holds rows a drain could claim now
(not sent yet, not claimed by a live drain, not waiting for a backoff; rows in flight are the follow-up's) and
wakes a drain for each of them only, and wakes the follow-up ticker while batches are in flight. A drain already
queued is not queued again (``push.drain_soon``); one lost with a killed worker is queued again once its flag is
older than ``push.QUEUED_FOR``.
"""

from __future__ import annotations

from django.db.models import F, Q
from django.utils import timezone

from inventory import follow, push
from inventory.models import OfferChange, PushBatch
from stores.models import Store


def stores_to_drain() -> list[int]:
    """Connected stores pushing stock or prices whose outbox has rows a drain could claim now (one query)."""
    now = timezone.now()
    return sorted(set(
        OfferChange.objects.filter(version__gt=F("sent_version"), store__status=Store.Status.CONNECTED)
        .filter(Q(store__sync_stock_enabled=True) | Q(store__sync_prices_enabled=True))
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .values_list("store_id", flat=True).distinct()))


def batches_in_flight() -> bool:
    """Any offers_update batch FNAC accepted and has not answered yet, in any store (one query)."""
    return PushBatch.objects.filter(finished_at__isnull=True).exclude(batch_id="").exists()


def stock_push_sweep() -> list[int]:
    """Wake a drain for every store with claimable rows, and the follow-up ticker when batches are in flight (a
    ticker task lost with a killed worker); returns the stores' ids."""
    store_ids = stores_to_drain()
    for store_id in store_ids:
        push.drain_soon(store_id)
    if batches_in_flight():
        follow.follow_soon()
    return store_ids
