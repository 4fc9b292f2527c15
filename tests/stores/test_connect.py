"""Connect Store through the service, against the sandbox marketplace over HTTP."""

from __future__ import annotations

import logging

import pytest
from django.db import connection
from django_q.models import Schedule

from stores import hooks, services
from stores.models import Store, SyncRun

pytestmark = pytest.mark.django_db


def test_connect_succeeds_and_records_run(store, sandbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        services.store_connect(store=store, trigger="test")
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED
    assert store.connected_at is not None
    assert store.last_error == ""
    assert store.mirakl_shop_name
    # the token FNAC issued is cached on the store for every worker
    assert store.fnac_token and store.fnac_token_validity is not None
    run = SyncRun.objects.get(store=store, kind=SyncRun.Kind.CONNECT)
    assert run.state == SyncRun.State.SUCCEEDED
    assert run.counts == {"fnac_ok": 1, "mirakl_ok": 1}
    services_called = [r.service for r in sandbox.requests]
    assert "auth" in services_called
    assert any(r.service == "A01" for r in sandbox.requests)


@pytest.mark.parametrize("field, value, expected", [
    ("fnac_key", "00000000-0000-0000-0000-000000000000", "FNAC refused the credentials (ERR_097)"),
    ("partner_id", "11111111-1111-1111-1111-111111111111", "FNAC refused the credentials (ERR_097)"),
    ("shop_id", "22222222-2222-2222-2222-222222222222", "FNAC refused the credentials (ERR_097)"),
    ("mirakl_api_key", "not-the-key", "Mirakl refused the API key (HTTP 401)"),
])
def test_wrong_credentials_each_kind_leave_store_not_connected(make_store, field, value, expected):
    store = make_store(**{field: value})
    with pytest.raises(services.ConnectFailed) as err:
        services.store_connect(store=store, trigger="test")
    store.refresh_from_db()
    assert store.status == Store.Status.FAILED
    assert expected in store.last_error
    assert expected in str(err.value)
    # exactly one side failed; the other is reported as fine (not in the errors)
    assert len(err.value.details) == 1
    run = SyncRun.objects.get(store=store, kind=SyncRun.Kind.CONNECT)
    assert run.state == SyncRun.State.FAILED  # a refused connect failed (issue 11, defect 1)
    assert expected in run.message
    assert run.progress_percent is None
    assert run.issues.count() == 1


def test_both_wrong_reports_both(make_store):
    store = make_store(fnac_key="00000000-0000-0000-0000-000000000000", mirakl_api_key="nope")
    with pytest.raises(services.ConnectFailed) as err:
        services.store_connect(store=store)
    assert set(err.value.details) == {"fnac", "mirakl"}


def test_unreachable_marketplace_is_named(make_store):
    store = make_store(fnac_base_url="http://127.0.0.1:9/api.php/", mirakl_base_url="http://127.0.0.1:9")
    with pytest.raises(services.ConnectFailed) as err:
        services.store_connect(store=store)
    assert "FNAC is unreachable at http://127.0.0.1:9/api.php/" in err.value.details["fnac"]
    assert "Mirakl is unreachable at http://127.0.0.1:9" in err.value.details["mirakl"]
    store.refresh_from_db()
    assert store.status == Store.Status.FAILED


def test_failed_keys_do_not_replace_stored_ones(store):
    good = store.fnac_key
    with pytest.raises(services.ConnectFailed):
        services.store_connect(store=store, fnac_key="33333333-3333-3333-3333-333333333333")
    store.refresh_from_db()
    assert store.fnac_key == good
    services.store_connect(store=store)  # stored keys still work
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED


def test_keys_encrypted_at_rest_and_never_logged(store, caplog):
    caplog.set_level(logging.DEBUG)
    services.store_connect(store=store)
    with connection.cursor() as cur:
        cur.execute("SELECT fnac_key, mirakl_api_key, fnac_token FROM stores_store WHERE id = %s", [store.pk])
        raw_fnac, raw_mirakl, raw_token = cur.fetchone()
    store.refresh_from_db()
    assert store.fnac_key not in raw_fnac and raw_fnac.startswith("gAAAA")
    assert store.mirakl_api_key not in raw_mirakl and raw_mirakl.startswith("gAAAA")
    assert store.fnac_token not in raw_token
    logged = caplog.text
    for secret in (store.fnac_key, store.mirakl_api_key, store.fnac_token):
        assert secret not in logged
    assert store.fnac_key_masked.endswith(store.fnac_key[-4:])
    assert store.fnac_key[:-4] not in store.fnac_key_masked


def test_schedules_created_on_connect_and_removed_on_disconnect(store, django_capture_on_commit_callbacks):
    spec = hooks.ScheduleSpec(job="unit_test_job", func="math.floor", minutes=lambda s: 7)
    hooks.schedule(spec)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.store_connect(store=store)
        names = set(Schedule.objects.filter(name__startswith=f"store:{store.pk}:").values_list("name", flat=True))
        assert hooks.schedule_name(store.pk, "unit_test_job") in names
        schedule = Schedule.objects.get(name=hooks.schedule_name(store.pk, "unit_test_job"))
        assert schedule.minutes == 7
        # the first periodic run comes between a quarter and one interval after the initial imports the connect
        # started, at the place first_run_after gives this store and job
        from django.utils import timezone

        after = (schedule.next_run - timezone.now()).total_seconds()
        expected = services.first_run_after(store.pk, "unit_test_job", 7).total_seconds()
        assert 7 * 60 / 4 - 5 <= after <= 7 * 60
        assert expected - 5 < after <= expected
        # idempotent
        services.store_schedules_ensure(store=store)
        assert Schedule.objects.filter(name=hooks.schedule_name(store.pk, "unit_test_job")).count() == 1
        with django_capture_on_commit_callbacks(execute=True):
            services.store_disconnect(store=store)
        assert not Schedule.objects.filter(name__startswith=f"store:{store.pk}:").exists()
        store.refresh_from_db()
        assert store.status == Store.Status.DISCONNECTED
        # reconnect works with the stored keys
        with django_capture_on_commit_callbacks(execute=True):
            services.store_connect(store=store)
        assert Schedule.objects.filter(name=hooks.schedule_name(store.pk, "unit_test_job")).exists()
    finally:
        hooks._schedules.pop("unit_test_job", None)


def test_connect_hooks_run_after_commit(store, django_capture_on_commit_callbacks):
    seen = []

    def hook(s, trigger):
        seen.append((s.pk, trigger))

    hooks.on_connect(hook)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.store_connect(store=store, trigger="api")
        assert seen == [(store.pk, "api")]
    finally:
        hooks._connect_hooks.remove(hook)


def test_disconnect_requires_connected(store):
    from fnac_connector.errors import Conflict

    with pytest.raises(Conflict):
        services.store_disconnect(store=store)


def test_token_reused_across_clients(connected_store, sandbox):
    from stores.clients import fnac_client_for

    before = len([r for r in sandbox.requests if r.service == "auth"])
    fnac_client_for(connected_store).carriers_query()
    fnac_client_for(connected_store).carriers_query()
    after = len([r for r in sandbox.requests if r.service == "auth"])
    assert after == before  # the token cached on the store at connect time is reused


def test_changing_credentials_requires_reconnect(connected_store, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.store_update(store=connected_store, data={"shop_id": "44444444-4444-4444-4444-444444444444"})
    connected_store.refresh_from_db()
    assert connected_store.status == Store.Status.NOT_CONNECTED
    assert "connect again" in connected_store.last_error


def test_first_runs_of_stores_connected_together_are_spread_over_the_interval():
    """200 stores connected at once: their 5-minute order syncs do not all fire in the same minute."""
    offsets = [services.first_run_after(store_id, "orders_new", 5).total_seconds() for store_id in range(1, 201)]
    assert all(75 <= o < 300 for o in offsets)
    per_minute = [sum(1 for o in offsets if m * 60 <= o < (m + 1) * 60) for m in range(1, 5)]
    assert max(per_minute) <= 200 * 0.4, per_minute  # no minute gets more than 40% (all at once was 100%)
    assert min(per_minute) >= 200 * 0.1, per_minute
    # fixed for a store and a job (a re-run of store_schedules_ensure must not move it), different between jobs
    assert services.first_run_after(7, "orders_new", 5) == services.first_run_after(7, "orders_new", 5)
    assert len({services.first_run_after(7, job, 60) for job in ("orders_new", "messages_new", "tracking")}) == 3
