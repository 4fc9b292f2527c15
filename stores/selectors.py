from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_q.models import Schedule

from stores.models import Store, SyncRun


def stores_for_user(user) -> QuerySet[Store]:
    """Superusers see every store; staff see the stores they are assigned to; others none."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Store.objects.none()
    if user.is_superuser:
        return Store.objects.all()
    return Store.objects.filter(users=user)


def sync_runs_for_user(user) -> QuerySet[SyncRun]:
    return SyncRun.objects.filter(store__in=stores_for_user(user)).select_related("store")


def store_schedules(store: Store) -> QuerySet[Schedule]:
    return Schedule.objects.filter(name__startswith=f"store:{store.pk}:").order_by("name")


# the dashboard's "failed sync runs" and the sync run list's "Last 24 hours" filter
RECENT_RUNS_WINDOW = dt.timedelta(hours=24)


def recent_runs_q(*, now: dt.datetime | None = None) -> Q:
    """Sync runs created in the last ``RECENT_RUNS_WINDOW``."""
    return Q(created_at__gte=(now or timezone.now()) - RECENT_RUNS_WINDOW)
