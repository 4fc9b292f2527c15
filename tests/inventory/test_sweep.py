"""Issue 14: the per-minute safety drain is one global job that wakes only the stores with claimable changes, not a
schedule per store (200 stores queued 200 empty drains a minute and delayed the order syncs)."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps
from django.db.models import F
from django.utils import timezone
from django_q.models import Schedule

from inventory import push, services, sweep
from inventory.models import OfferChange
from inventory.tasks import stock_push_sweep_task
from stores import hooks
from stores.models import Store
from stores.services import store_schedules_ensure

from .conftest import offers_sent


@pytest.mark.django_db(transaction=True)
def test_the_sweep_wakes_only_stores_with_changes_a_drain_could_claim(connected_store, live_products, sandbox,
                                                                     make_store):
    (p,) = live_products(1, on_hand=10)
    services.stock_adjust(product=p, delta=-4, source="api")  # pushed at once (tasks run inline in tests)
    quiet = make_store(name="Quiet")  # connected, nothing pending
    Store.objects.filter(pk=quiet.pk).update(status=Store.Status.CONNECTED)
    off = make_store(name="Off")  # pending rows, but disconnected
    (q,) = live_products(1, store=off)
    services.stock_adjust(product=q, delta=-1, source="api")
    # two changes whose wake-up was lost (the task died with its worker): pending, nobody draining
    OfferChange.objects.filter(product__in=[p, q]).update(version=F("version") + 1)
    Store.objects.filter(pk=off.pk).update(status=Store.Status.DISCONNECTED)

    assert sweep.stores_to_drain() == [connected_store.pk]

    # rows held by a live drain, or waiting for their backoff, are not for the sweep
    OfferChange.objects.filter(product=p).update(claim_token="live", claimed_until=timezone.now() + dt.timedelta(
        seconds=60))
    assert sweep.stores_to_drain() == []
    OfferChange.objects.filter(product=p).update(claim_token="dead", claimed_until=timezone.now() - dt.timedelta(
        seconds=1))
    assert sweep.stores_to_drain() == [connected_store.pk]  # a dead drain's claim lapsed: swept
    OfferChange.objects.filter(product=p).update(next_attempt_at=timezone.now() + dt.timedelta(seconds=30))
    assert sweep.stores_to_drain() == []
    OfferChange.objects.filter(product=p).update(next_attempt_at=None)

    sandbox.clear_requests()
    assert stock_push_sweep_task() == [connected_store.pk]  # the woken drain runs inline in tests
    assert [o["sku"] for call in offers_sent(sandbox) for o in call] == [p.sku]
    assert sweep.stores_to_drain() == []


@pytest.mark.django_db
def test_no_per_store_drain_schedule_and_one_global_sweep(store):
    store_schedules_ensure(store=store)
    assert not Schedule.objects.filter(name=hooks.schedule_name(store.pk, "stock_push")).exists()
    schedule = Schedule.objects.get(name=hooks.global_schedule_name("stock_push_sweep"))  # created by migrate
    assert (schedule.func, schedule.minutes, schedule.repeats) == ("inventory.tasks.stock_push_sweep_task", 1, -1)


@pytest.mark.django_db
def test_the_migration_drops_the_old_per_store_drain_schedules_only():
    for name in ("store:1:stock_push", "store:12:stock_push", "store:1:stock_push_x", "store:1:orders_new"):
        Schedule.objects.create(name=name, func="x", schedule_type=Schedule.MINUTES, minutes=1)
    migration = importlib.import_module("inventory.migrations.0003_issue14_drop_per_store_drain_schedules")
    migration.drop_per_store_drains(django_apps, None)
    assert sorted(Schedule.objects.filter(name__startswith="store:").values_list("name", flat=True)) == [
        "store:1:orders_new", "store:1:stock_push_x"]
    assert push.LOCK_NAME == "stock_push"  # the drain's lease keeps its name: only the schedule went


def test_the_sweep_wakes_the_follow_up_ticker_only_while_batches_are_in_flight(store, monkeypatch,
                                                                               django_capture_on_commit_callbacks):
    """The per-store safety drain used to wake the follow-up ticker (a ticker task lost with a killed worker); the
    global sweep does it now: with a batch FNAC accepted and has not answered, the ticker is woken, not without."""
    from inventory import follow
    from inventory.models import PushBatch

    woken = []
    monkeypatch.setattr(follow, "_wake_ticker", lambda: woken.append(1))
    PushBatch.objects.create(store=store, batch_id="B-done", offers=1, status="OK", finished_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        sweep.stock_push_sweep()
    assert woken == []
    PushBatch.objects.create(store=store, batch_id="B-flying", offers=1, status="ACTIVE")
    with django_capture_on_commit_callbacks(execute=True):
        sweep.stock_push_sweep()
    assert woken == [1]
