"""Health of the stores' order syncs, for the load balancer's ``/health/`` (fnac_connector/health.py).

A connected store whose order import is switched on must have had a successful order import within
``HEALTH_ORDER_SYNC_STALE_MINUTES``; the import runs every few minutes, so a longer gap means its job is not
running (no cluster, a dead worker, a store lease that never lapses) or keeps failing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Max, Q
from django.utils import timezone

from stores.models import Store, SyncRun

# a run that fetched the orders but refused some of them still moved the cursor: it counts as a sync
ORDER_SYNC_OK_STATES = (SyncRun.State.SUCCEEDED, SyncRun.State.PARTIAL)


@dataclass(frozen=True)
class StaleStore:
    store_id: int
    name: str
    last_success: dt.datetime | None  # None: never since it was connected

    def describe(self, now: dt.datetime) -> str:
        if self.last_success is None:
            return f"store {self.store_id} '{self.name}': no successful order sync since it was connected"
        minutes = int((now - self.last_success).total_seconds() // 60)
        return f"store {self.store_id} '{self.name}': last successful order sync {minutes} min ago"


def stores_with_stale_order_sync(*, now: dt.datetime | None = None,
                                 threshold: dt.timedelta | None = None) -> list[StaleStore]:
    """Connected stores with order import on whose last successful order import (or, without one, whose
    connection) is older than ``threshold``. One query, whatever the number of stores."""
    now = now or timezone.now()
    threshold = threshold or dt.timedelta(minutes=settings.HEALTH_ORDER_SYNC_STALE_MINUTES)
    limit = now - threshold
    stores = (Store.objects.filter(status=Store.Status.CONNECTED, sync_orders_enabled=True)
              .annotate(last_success=Max("sync_runs__finished_at", filter=Q(
                  sync_runs__kind=SyncRun.Kind.ORDERS_IMPORT, sync_runs__state__in=ORDER_SYNC_OK_STATES)))
              .filter(Q(last_success__lt=limit)
                      | Q(last_success__isnull=True) & (Q(connected_at__lt=limit) | Q(connected_at__isnull=True)))
              .order_by("pk")
              .values_list("pk", "name", "last_success"))
    return [StaleStore(pk, name, last) for pk, name, last in stores]
