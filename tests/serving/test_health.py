"""/health/ for a load balancer (issue 14): database, broker, cache and each store's order sync; JSON, no login,
no secrets; 503 naming what is wrong."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import OperationalError, connections
from django.utils import timezone

from stores.models import Store, SyncRun

pytestmark = pytest.mark.django_db


def make_store(name: str, *, connected_minutes_ago: float = 600, **fields) -> Store:
    return Store.objects.create(name=name, status=Store.Status.CONNECTED,
                                connected_at=timezone.now() - dt.timedelta(minutes=connected_minutes_ago), **fields)


def order_sync(store: Store, *, minutes_ago: float, state=SyncRun.State.SUCCEEDED,
               kind=SyncRun.Kind.ORDERS_IMPORT) -> SyncRun:
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(store=store, kind=kind, state=state, started_at=at, finished_at=at)


def health(client):
    response = client.get("/health/")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_healthy_without_login_lists_every_check(client):
    store = make_store("Shop A", fnac_key="secret-fnac-key-1234", mirakl_api_key="secret-mirakl-5678")
    order_sync(store, minutes_ago=3)
    code, body = health(client)
    assert code == 200
    assert body == {"status": "ok", "checks": {"database": "OK", "broker": "OK", "cache": "OK", "order_sync": "OK"}}


def test_stale_order_sync_names_the_store(client, settings):
    settings.HEALTH_ORDER_SYNC_STALE_MINUTES = 30
    fresh = make_store("Fresh shop")
    order_sync(fresh, minutes_ago=5)
    stale = make_store("Stale shop", fnac_key="secret-fnac-key-1234")
    order_sync(stale, minutes_ago=45)
    # a newer failed run, a newer run of another kind and a running one do not count as a successful order sync
    order_sync(stale, minutes_ago=1, state=SyncRun.State.FAILED)
    order_sync(stale, minutes_ago=1, kind=SyncRun.Kind.ORDERS_STATUS)
    order_sync(stale, minutes_ago=1, state=SyncRun.State.RUNNING)
    never = make_store("Never synced", connected_minutes_ago=120)
    # not watched: just connected, disconnected, order import switched off
    make_store("Just connected", connected_minutes_ago=2)
    gone = make_store("Disconnected")
    Store.objects.filter(pk=gone.pk).update(status=Store.Status.DISCONNECTED)
    make_store("Orders off", sync_orders_enabled=False)

    code, body = health(client)

    assert code == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"] == "OK"
    message = body["checks"]["order_sync"]
    assert f"store {stale.pk} 'Stale shop': last successful order sync 45 min ago" in message
    assert f"store {never.pk} 'Never synced': no successful order sync since it was connected" in message
    for other in ("Fresh shop", "Just connected", "Disconnected", "Orders off"):
        assert other not in message
    assert "secret" not in str(body)


def test_partial_run_counts_as_a_sync_and_threshold_is_a_setting(client, settings):
    store = make_store("Shop")
    order_sync(store, minutes_ago=20, state=SyncRun.State.PARTIAL)
    settings.HEALTH_ORDER_SYNC_STALE_MINUTES = 30
    assert health(client)[0] == 200
    settings.HEALTH_ORDER_SYNC_STALE_MINUTES = 10
    code, body = health(client)
    assert code == 503 and "'Shop'" in body["checks"]["order_sync"]


def test_database_down_is_unhealthy(client):
    """The database check opens a fresh connection: make every new connection fail, as when the server is gone."""
    wrapper = type(connections["default"])
    with mock.patch.object(wrapper, "get_new_connection",
                           side_effect=OperationalError("could not connect to server: Connection refused")):
        code, body = health(client)
    assert code == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["database"].startswith("Unavailable: could not connect to server")
    assert body["checks"]["cache"] == "OK"


def test_broker_down_is_unhealthy(client):
    with mock.patch("django_q.brokers.orm.ORM.queue_size", side_effect=OperationalError("no such table")), \
            mock.patch("django_q.brokers.redis_broker.Redis.queue_size", side_effect=ConnectionError("refused")):
        code, body = health(client)
    assert code == 503
    assert body["checks"]["broker"].startswith("Unavailable: ") and "broker unreachable" in body["checks"]["broker"]
    assert body["checks"]["database"] == "OK"
