"""Two workers syncing the same store at once (PostgreSQL: real concurrent transactions)."""

from __future__ import annotations

import pytest
from django.db import connection

from orders.models import Order, OrderLine, OrderStatusChange
from stores.models import Store
from tests.threads import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (real concurrent transactions)")


def _run_threads(target, n=2):
    return run_in_threads(target, n, together=True, timeout=60)


def _manual(store):
    Store.objects.filter(pk=store.pk).update(acceptance_mode=Store.AcceptanceMode.MANUAL)
    store.refresh_from_db()
    return store


def test_two_threads_syncing_the_same_store_never_duplicate(sandbox, make_store, settings):
    from orders.services import orders_sync
    from stores.services import store_connect
    from stores.syncs import LockBusy

    settings.ORDERS_PAGE_SIZE = 40
    store = make_store()
    store_connect(store=store, trigger="test")
    _manual(store)
    sandbox.seed_orders(300, days=60)
    busy = []

    def sync(i):
        try:
            orders_sync(store=Store.objects.get(pk=store.pk), mode="full", trigger=f"thread{i}")
        except LockBusy:
            busy.append(i)

    for _ in range(3):
        assert _run_threads(sync) == []
    assert Order.objects.count() == 300
    assert Order.objects.values("marketplace_order_id").distinct().count() == 300
    assert OrderLine.objects.count() == sum(len(o.lines) for o in sandbox.state.orders.values())
    assert OrderStatusChange.objects.count() == 300


def test_same_page_upserted_by_two_workers_without_the_lock(sandbox, make_store):
    """Even if the lock were lost (expired lease), the unique keys and ON CONFLICT keep one row per order."""
    from orders.services import _Importer
    from stores.clients import fnac_client_for
    from stores.models import SyncRun
    from stores.services import store_connect
    from stores.syncs import RunRecorder

    store = make_store()
    store_connect(store=store, trigger="test")
    _manual(store)
    sandbox.seed_orders(200, days=60)
    page = list(fnac_client_for(store).iter_orders(page_size=200, since=None))

    def upsert(i):
        run = SyncRun.objects.create(store=store, kind=SyncRun.Kind.ORDERS_IMPORT)
        _Importer(store=Store.objects.get(pk=store.pk), rec=RunRecorder(run)).import_page(page)

    for _ in range(3):
        assert _run_threads(upsert, n=4) == []
    assert Order.objects.count() == 200
    assert OrderLine.objects.count() == sum(len(o.lines) for o in page)
