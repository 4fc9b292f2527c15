"""Tracking's doors (issue 13): the order page's timeline, the shipments list (column, filter, "Check tracking now"),
the API (fields, ?tracking=, GET tracking/, POST track/), the track_parcels command, the periodic job and the
store's stuck-days setting; lists and the order page cost the same queries however many parcels and events."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import Schedule

from fulfilment import services
from fulfilment.models import Shipment, TrackingEvent
from fulfilment.tasks import tracking_task
from stores.models import Store, SyncRun
from tests.conftest import api_token_for
from tests.fulfilment.test_tracking import BOOKED, carrier, clock, ship, track  # noqa: F401 (fixtures)


@pytest.fixture
def shipped(sandbox, ship_store, paid_order, carrier, clock):  # noqa: F811
    """Three orders shipped (one parcel each): delivered, stuck, returned; nothing tracked yet."""
    carrier.use("delivered", "stuck", "returned")
    return [ship(paid_order([f"S{i}"])) for i in range(3)]


def _queries(client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


# ---------------------------------------------------------------- admin
def test_order_page_shows_the_timeline_at_a_fixed_query_cost(shipped, ship_store, clock, superuser,  # noqa: F811
                                                             client):
    client.force_login(superuser)
    delivered = shipped[0]
    url = reverse("admin:orders_order_change", args=[delivered.order_id])
    client.get(url)  # caches warmed (content types, permissions)
    before, _ = _queries(client, url)
    track(ship_store, clock, after=dt.timedelta(days=2))
    after, page = _queries(client, url)
    assert after == before  # six events, one panel: no query per event
    assert "carrier tracking" in page.lower() and "Parcel delivered to the recipient" in page
    assert "Out for delivery" in page and delivered.tracking_number in page and "Delivered" in page

    returned = Shipment.objects.get(pk=shipped[2].pk)
    page = client.get(reverse("admin:orders_order_change", args=[returned.order_id])).content.decode()
    assert "not deliverable" in page and "Delivery problem" in page


def test_shipments_list_tracking_column_filter_and_query_cost(shipped, ship_store, clock, superuser,  # noqa: F811
                                                              client):
    client.force_login(superuser)
    url = reverse("admin:fulfilment_shipment_changelist")
    track(ship_store, clock, after=dt.timedelta(hours=1))
    client.get(url)  # caches warmed
    one, _ = _queries(client, url + f"?id__exact={shipped[0].pk}")
    track(ship_store, clock, after=dt.timedelta(days=5))
    three, page = _queries(client, url)
    assert three <= one + 1  # the same page for 1 or 3 parcels (the filter's query aside)
    assert "Stuck: no news" in page and "Delivered" in page and "Returned to sender" in page

    def listed(query: str) -> set[int]:
        response = client.get(url + query)
        assert response.status_code == 200
        return {s.pk for s in response.context["cl"].result_list}

    assert listed("?tracking=stuck") == {shipped[1].pk}
    assert listed("?tracking=delivered") == {shipped[0].pk}
    assert listed("?tracking=problem") == {shipped[2].pk}
    assert listed("?tracking=in_transit") == set()


def test_check_tracking_now_from_the_lists(shipped, ship_store, clock, superuser, client):  # noqa: F811
    client.force_login(superuser)
    clock.now = BOOKED + dt.timedelta(days=2)
    response = client.post(reverse("admin:fulfilment_shipment_changelist"), {
        "action": "check_tracking", "_selected_action": [s.pk for s in shipped]}, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Tracking checked for 3 parcel(s)" in text and "1 delivered" in text
    assert TrackingEvent.objects.filter(shipment=shipped[0], status="delivered").exists()

    response = client.post(reverse("admin:orders_order_changelist"), {
        "action": "check_tracking_now", "_selected_action": [shipped[0].order_id]}, follow=True)
    text = " ".join(str(m) for m in response.context["messages"])
    assert "Nothing to check" in text  # delivered: no longer followed


def test_check_tracking_now_needs_the_ship_permission(shipped, django_user_model, ship_store, client):
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw-viewer-123", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_shipment", "view_order"]))
    ship_store.users.add(viewer)
    client.force_login(viewer)
    page = client.get(reverse("admin:fulfilment_shipment_changelist")).content.decode()
    assert "check_tracking" not in page
    client.post(reverse("admin:fulfilment_shipment_changelist"), {
        "action": "check_tracking", "_selected_action": [s.pk for s in shipped]})
    assert not Shipment.objects.filter(last_tracked_at__isnull=False).exists()


# ---------------------------------------------------------------- API
@pytest.fixture
def api(api_client, superuser):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(superuser)}")
    return api_client


def test_api_tracking_fields_events_filter_and_poll_now(shipped, ship_store, clock, api):  # noqa: F811
    stuck = shipped[1]
    clock.now = BOOKED + dt.timedelta(days=5)
    response = api.post(f"/api/shipments/{stuck.pk}/track/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["run_state"] == "succeeded" and body["shipment"]["stuck_since"] is not None
    assert [e["code"] for e in body["events"]] == ["ET1", "PC1", "DR1"]  # newest first

    assert [e["status"] for e in api.get(f"/api/shipments/{stuck.pk}/tracking/").json()] == \
        ["in_transit", "in_transit", "info"]
    detail = api.get(f"/api/shipments/{stuck.pk}/").json()
    assert detail["tracking_status"] == "in_transit" and detail["last_tracked_at"]
    listed = api.get("/api/shipments/?tracking=stuck").json()
    assert [s["id"] for s in listed["results"]] == [stuck.pk]
    assert api.get("/api/shipments/?tracking=sideways").status_code == 400


def test_api_poll_refuses_a_parcel_not_followed(shipped, ship_store, clock, api):  # noqa: F811
    track(ship_store, clock, after=dt.timedelta(days=2))
    response = api.post(f"/api/shipments/{shipped[0].pk}/track/")  # delivered
    assert response.status_code == 409 and "not followed" in response.json()["detail"]


def test_api_poll_needs_the_ship_permission(shipped, django_user_model, ship_store, api_client):
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw-viewer-123", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__in=["view_shipment", "view_order"]))
    ship_store.users.add(viewer)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(viewer)}")
    assert api_client.get(f"/api/shipments/{shipped[0].pk}/tracking/").status_code == 200
    assert api_client.post(f"/api/shipments/{shipped[0].pk}/track/").status_code == 403
    assert not Shipment.objects.filter(last_tracked_at__isnull=False).exists()


def test_store_stuck_days_is_a_store_setting_with_bounds(ship_store, api):
    response = api.patch(f"/api/stores/{ship_store.pk}/", {"tracking_stuck_days": 0}, format="json")
    assert response.status_code == 400 and "tracking_stuck_days" in str(response.json())
    response = api.patch(f"/api/stores/{ship_store.pk}/", {"tracking_stuck_days": 5}, format="json")
    assert response.status_code == 200 and response.json()["tracking_stuck_days"] == 5
    assert Store.objects.get(pk=ship_store.pk).tracking_stuck_days == 5


# ---------------------------------------------------------------- command and periodic job
def test_track_parcels_command(shipped, ship_store, clock):  # noqa: F811
    clock.now = BOOKED + dt.timedelta(days=2)
    out = StringIO()
    call_command("track_parcels", "--store", str(ship_store.pk), "--shipment", str(shipped[0].pk), stdout=out)
    assert "Succeeded: 1 parcel(s)" in out.getvalue() and "delivered 1" in out.getvalue()
    assert Shipment.objects.filter(last_tracked_at__isnull=False).count() == 1
    with pytest.raises(CommandError, match="no shipment 999999"):
        call_command("track_parcels", "--store", str(ship_store.pk), "--shipment", "999999")


def test_periodic_job_is_scheduled_per_store_and_tracks(shipped, ship_store, clock):  # noqa: F811
    from stores.services import store_schedules_ensure

    store_schedules_ensure(store=ship_store)
    schedule = Schedule.objects.get(name=f"store:{ship_store.pk}:tracking")
    assert schedule.func == "fulfilment.tasks.tracking_task" and schedule.minutes == 60
    run = SyncRun.objects.get(pk=tracking_task(ship_store.pk))
    assert run.kind == SyncRun.Kind.TRACKING and run.trigger == "schedule" and run.total == 3


def test_a_second_check_while_one_runs_is_a_conflict(shipped, ship_store):
    from fnac_connector.errors import Conflict
    from stores.syncs import store_lock

    with store_lock(store=ship_store, name="tracking"), pytest.raises(Conflict, match="already being checked"):
        services.shipments_track_now(shipments=shipped, trigger="test")
    assert SyncRun.objects.filter(kind=SyncRun.Kind.TRACKING, state=SyncRun.State.SKIPPED).count() == 1
