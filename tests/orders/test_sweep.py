"""The daily safety sweep re-reads the last days' orders whatever the cursors say."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_q.models import Schedule

from orders.models import Order
from stores import hooks
from stores.models import SyncRun
from stores.syncs import cursor_set

pytestmark = pytest.mark.django_db


def test_sweep_schedule_created_daily_on_connect(store, django_capture_on_commit_callbacks):
    from stores.services import store_connect

    with django_capture_on_commit_callbacks(execute=True):
        store_connect(store=store)
    schedule = Schedule.objects.get(name=hooks.schedule_name(store.pk, "orders_sweep"))
    assert schedule.minutes == 24 * 60 and schedule.func == "orders.tasks.orders_sweep_task"


def test_sweep_finds_an_order_the_cursors_skipped(manual_store, sandbox):
    from orders.tasks import orders_sweep_task

    order_id = sandbox.add_order(state="ToShip", lines=["SKU-000001"],
                                 created_at=timezone.now() - dt.timedelta(days=1))
    # cursors say everything up to now was read: a missed order would stay missed without the sweep
    for name in ("orders_new", "orders_status"):
        cursor_set(store=manual_store, name=name, position=timezone.now())
    run_id = orders_sweep_task(manual_store.pk)
    run = SyncRun.objects.get(pk=run_id)
    assert run.trigger == "sweep" and run.state in (SyncRun.State.SUCCEEDED, SyncRun.State.PARTIAL)
    assert Order.objects.filter(store=manual_store, marketplace_order_id=order_id).count() == 1
    assert "since" in run.params
