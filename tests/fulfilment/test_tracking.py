"""Parcel tracking (issue 13): events kept once however often the carriers are asked, batches of the carrier's size,
delivered parcels complete their order (FNAC's states win), stuck parcels flagged, carrier failures move nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from fnac_connector.carriers import CarrierError, TrackingResult, register
from fnac_connector.carriers.sandbox import SandboxCarrier
from fnac_connector.carriers.sandbox_tracking import scenario_of, stamp
from fulfilment import services
from fulfilment.models import Shipment, TrackingEvent, TrackingStatus
from fulfilment.tracking import stuck_q
from orders.models import Order, OrderStatus, OrderStatusChange
from orders.services import orders_sync
from stores.models import Store, SyncRun

S = OrderStatus
BOOKED = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
PREFIX = "SO"  # the test store ships with SOCOLISSIMO


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def namespace_for(*stories: str) -> str:
    """A sandbox namespace whose first parcels, booked at BOOKED, tell these stories in this order."""
    for i in range(5000):
        namespace = f"N{i}"
        numbers = [f"{PREFIX}{stamp(BOOKED)}{namespace}{n:07d}" for n in range(1, len(stories) + 1)]
        if [scenario_of(number) for number in numbers] == list(stories):
            return namespace
    raise AssertionError(f"no namespace tells {stories}")


@pytest.fixture
def clock():
    return Clock(BOOKED)


@pytest.fixture
def carrier(clock):
    """The sandbox carrier on the test clock; ``carrier.use(*stories)`` fixes what its next parcels will do."""
    class Control:
        adapter: SandboxCarrier | None = None

        def use(self, *stories: str) -> SandboxCarrier:
            self.adapter = SandboxCarrier(namespace=namespace_for(*stories), clock=clock)
            register("sandbox", lambda: self.adapter, replace=True)
            return self.adapter

    yield Control()
    register("sandbox", SandboxCarrier, replace=True)


def ship(order) -> Shipment:
    outcome = services.order_ready_to_ship(order=order, trigger="test")
    assert outcome.ok, outcome.error
    return outcome.shipment


def track(store, clock, *, after: dt.timedelta, **kwargs) -> SyncRun:
    clock.now = BOOKED + after
    return services.shipments_track(store=Store.objects.get(pk=store.pk), now=clock.now, trigger="test",
                                    sleep=lambda s: None, **kwargs)


# ---------------------------------------------------------------- events, idempotence
def test_polling_twice_stores_each_event_once(sandbox, ship_store, paid_order, carrier, clock):
    carrier.use("stuck")
    shipment = ship(paid_order(["A"]))
    run = track(ship_store, clock, after=dt.timedelta(hours=14))
    assert run.state == SyncRun.State.SUCCEEDED and run.kind == SyncRun.Kind.TRACKING
    assert run.counts["events_new"] == 3 and run.counts["carrier_calls"] == 1
    first = list(TrackingEvent.objects.filter(shipment=shipment).values_list("at", "code", "status", "location"))
    assert [code for _, code, _, _ in sorted(first)] == ["DR1", "PC1", "ET1"]

    # the periodic selection skips a parcel just checked; "check now" asks again: nothing new is stored
    assert track(ship_store, clock, after=dt.timedelta(hours=14, minutes=5)).total == 0
    again = services.shipments_track_now(shipments=[shipment], trigger="test", now=clock.now)[0]
    assert again.state == SyncRun.State.SUCCEEDED and "events_new" not in again.counts
    assert sorted(TrackingEvent.objects.filter(shipment=shipment).values_list("at", "code", "status",
                                                                              "location")) == sorted(first)
    shipment.refresh_from_db()
    assert shipment.tracking_status == TrackingStatus.IN_TRANSIT
    assert shipment.last_event_at == max(at for at, *_ in first) and shipment.last_tracked_at == clock.now
    assert shipment.stuck_since is None and shipment.delivered_at is None and not shipment.tracking_error


# ---------------------------------------------------------------- delivered
def test_delivered_parcel_completes_the_order_and_is_no_longer_asked(sandbox, ship_store, paid_order, carrier,
                                                                       clock):
    carrier.use("delivered")
    order = paid_order(["A"])
    shipment = ship(order)
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT

    run = track(ship_store, clock, after=dt.timedelta(days=2))
    assert run.counts["delivered"] == 1 and run.counts["orders_delivered"] == 1
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert order.status == S.COMPLETE and order.fnac_state == "Shipped"  # FNAC's state is never written here
    change = order.status_changes.order_by("-id").first()
    assert change.source == OrderStatusChange.Source.SYSTEM and shipment.tracking_number in change.note
    assert shipment.tracking_status == TrackingStatus.DELIVERED
    assert shipment.delivered_at == TrackingEvent.objects.get(shipment=shipment, status="delivered").at
    assert track(ship_store, clock, after=dt.timedelta(days=3)).total == 0  # delivered: not asked again

    # FNAC's Received comes later: applied as usual (already Complete), no error, no flag
    sandbox.set_order_state(order.marketplace_order_id, "Received")
    orders_sync(store=ship_store, mode="manual", trigger="test")
    order.refresh_from_db()
    assert (order.status, order.fnac_state, order.flagged) == (S.COMPLETE, "Received", False)


def test_fnac_received_first_is_not_overwritten(sandbox, ship_store, paid_order, carrier, clock):
    carrier.use("delivered")
    order = paid_order(["A"])
    ship(order)
    sandbox.set_order_state(order.marketplace_order_id, "Received")
    orders_sync(store=ship_store, mode="manual", trigger="test")
    order.refresh_from_db()
    assert order.status == S.COMPLETE
    changes = order.status_changes.count()

    run = track(ship_store, clock, after=dt.timedelta(days=2))
    assert run.counts["delivered"] == 1 and "orders_delivered" not in run.counts
    order.refresh_from_db()
    assert (order.status, order.fnac_state) == (S.COMPLETE, "Received")
    assert order.status_changes.count() == changes


def test_buyer_not_received_is_not_undone_by_the_carrier(sandbox, ship_store, paid_order, carrier, clock):
    carrier.use("delivered")
    order = paid_order(["A"])
    ship(order)
    sandbox.set_order_state(order.marketplace_order_id, "NotReceived")
    orders_sync(store=ship_store, mode="manual", trigger="test")
    order.refresh_from_db()
    assert order.status == S.NOT_RECEIVED

    track(ship_store, clock, after=dt.timedelta(days=2))
    order.refresh_from_db()
    assert order.status == S.NOT_RECEIVED  # the carrier's proof is in the events; a person answers FNAC
    assert TrackingEvent.objects.filter(order=order, status="delivered").exists()


def test_split_order_completes_only_when_every_parcel_is_delivered(sandbox, ship_store, paid_order, carrier, clock):
    carrier.use("delivered", "stuck")
    order = paid_order(["A", "B"])
    lines = list(order.lines.order_by("id").values_list("order_detail_id", flat=True))
    services.order_ready_to_ship(order=order, lines=[lines[0]], trigger="test")
    services.order_ready_to_ship(order=order, lines=[lines[1]], trigger="test")
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT and order.shipments.count() == 2

    run = track(ship_store, clock, after=dt.timedelta(days=2))
    assert run.counts["delivered"] == 1 and "orders_delivered" not in run.counts
    order.refresh_from_db()
    assert order.status == S.IN_TRANSIT


# ---------------------------------------------------------------- stuck and problems
def test_stuck_parcel_is_flagged_after_the_store_days_and_cleared_by_news(sandbox, ship_store, paid_order, carrier,
                                                                          clock):
    carrier.use("stuck")
    order = paid_order(["A"])
    shipment = ship(order)
    track(ship_store, clock, after=dt.timedelta(days=2))
    shipment.refresh_from_db()
    assert shipment.stuck_since is None

    run = track(ship_store, clock, after=dt.timedelta(days=4))  # last event at ~11 h, 3 days later
    assert run.counts["stuck"] == 1
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.stuck_since == shipment.last_event_at + dt.timedelta(days=3)
    assert order.flagged and f"Tracking: parcel {shipment.tracking_number} has had no carrier event for 3 days" in \
        order.flag_reason
    assert list(Shipment.objects.filter(stuck_q())) == [shipment]

    # the store asks for a week: the next run judges with it; the stuck parcel is found again by the next check
    Store.objects.filter(pk=ship_store.pk).update(tracking_stuck_days=7)
    track(ship_store, clock, after=dt.timedelta(days=5))
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.stuck_since is None
    assert "Tracking:" not in order.flag_reason and not order.flagged


def test_delivery_problem_flags_the_order(sandbox, ship_store, paid_order, carrier, clock):
    carrier.use("returned")
    order = paid_order(["A"])
    shipment = ship(order)
    run = track(ship_store, clock, after=dt.timedelta(hours=36))
    assert run.counts["problems"] == 1
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.tracking_status == TrackingStatus.EXCEPTION
    assert "not deliverable" in order.flag_reason and order.status == S.IN_TRANSIT


def test_unknown_number_is_recorded_on_the_parcel(sandbox, ship_store, paid_order, carrier, clock):
    carrier.use("delivered")
    order = paid_order(["A"])
    shipment = services.order_ready_to_ship(order=order, tracking_number="6A15602676300", trigger="test").shipment
    run = track(ship_store, clock, after=dt.timedelta(hours=1))
    assert run.state == SyncRun.State.SUCCEEDED and run.counts["errors"] == 1
    shipment.refresh_from_db()
    assert "unknown tracking number" in shipment.tracking_error
    assert shipment.last_tracked_at == clock.now and not shipment.tracking_events.exists()


# ---------------------------------------------------------------- batches, pacing, failures
class Recording(SandboxCarrier):
    """The sandbox carrier with a small batch, recording each call; ``fail_on`` makes that call fail whole."""

    max_tracking_batch = 3

    def __init__(self, *, fail_on: int | None = None, answer=None, **kwargs):
        super().__init__(**kwargs)
        self.calls: list[list[str]] = []
        self.fail_on, self.answer = fail_on, answer

    def track(self, tracking_numbers):
        self.calls.append(list(tracking_numbers))
        assert len(tracking_numbers) <= self.max_tracking_batch
        if len(self.calls) == self.fail_on:
            raise CarrierError("tracking service unavailable", retryable=True, code="HTTP_503")
        if self.answer is not None:
            return self.answer(tracking_numbers)
        return super().track(tracking_numbers)


@pytest.fixture
def seven_parcels(sandbox, ship_store, paid_order, carrier, clock):
    carrier.use(*["delivered"] * 7)
    orders = [paid_order([f"P{i}"]) for i in range(7)]
    outcomes = services.orders_ready_to_ship(orders=orders, trigger="test")
    assert all(o.ok for o in outcomes)
    return sorted((o.shipment for o in outcomes), key=lambda s: s.pk)


def _use(adapter) -> None:
    register("sandbox", lambda: adapter, replace=True)


def test_parcels_are_asked_in_batches_of_the_carrier_size_with_a_pause(ship_store, seven_parcels, carrier, clock):
    recording = Recording(clock=clock, namespace="X")
    _use(recording)
    pauses = []
    clock.now = BOOKED + dt.timedelta(days=2)
    run = services.shipments_track(store=ship_store, now=clock.now, trigger="test", sleep=pauses.append)
    assert [len(call) for call in recording.calls] == [3, 3, 1]
    assert sorted(n for call in recording.calls for n in call) == sorted(s.tracking_number for s in seven_parcels)
    assert len(pauses) == 2 and run.counts["carrier_calls"] == 3 and run.counts["delivered"] == 7
    assert Order.objects.filter(status=S.COMPLETE).count() == 7


def test_the_run_is_bounded_and_oldest_checked_first(ship_store, seven_parcels, carrier, clock, settings):
    settings.FULFILMENT_TRACKING_MAX_PER_RUN = 4
    recording = Recording(clock=clock, namespace="X")
    _use(recording)
    Shipment.objects.filter(pk=seven_parcels[0].pk).update(last_tracked_at=BOOKED)  # checked before: last
    track(ship_store, clock, after=dt.timedelta(hours=1))
    asked = [n for call in recording.calls for n in call]
    assert asked == [s.tracking_number for s in seven_parcels[1:5]]


def test_a_failed_call_applies_nothing_and_fails_the_run_with_the_reason(ship_store, seven_parcels, carrier, clock):
    recording = Recording(clock=clock, namespace="X", fail_on=2)
    _use(recording)
    run = track(ship_store, clock, after=dt.timedelta(days=2))
    assert run.state == SyncRun.State.FAILED
    assert "tracking service unavailable" in run.message and "4 parcel(s) not checked" in run.message
    issue = run.issues.get()
    assert issue.code == "tracking_failed" and issue.details["code"] == "HTTP_503"
    checked = set(Shipment.objects.filter(last_tracked_at__isnull=False).values_list("pk", flat=True))
    assert checked == {s.pk for s in seven_parcels[:3]}  # the first call's parcels; nothing of the others
    assert not TrackingEvent.objects.exclude(shipment_id__in=checked).exists()
    assert Order.objects.filter(status=S.COMPLETE).count() == 3
    assert len(recording.calls) == 2  # the carrier's other parcels wait for the next run

    recording.fail_on = None
    again = track(ship_store, clock, after=dt.timedelta(days=2, hours=1))
    assert again.state == SyncRun.State.SUCCEEDED and again.counts["delivered"] == 4


def test_an_answer_that_breaks_the_interface_applies_nothing(ship_store, seven_parcels, carrier, clock):
    recording = Recording(clock=clock, namespace="X",
                          answer=lambda numbers: [TrackingResult(tracking_number=n) for n in numbers[:-1]])
    _use(recording)
    run = track(ship_store, clock, after=dt.timedelta(days=2))
    assert run.state == SyncRun.State.FAILED and "does not match the numbers asked" in run.message
    assert not Shipment.objects.filter(last_tracked_at__isnull=False).exists()


def test_an_adapter_without_tracking_is_said_once_not_asked(ship_store, seven_parcels, carrier, clock):
    class NoTracking(SandboxCarrier):
        capabilities = frozenset({"labels", "cancel"})

    _use(NoTracking(clock=clock))
    run = track(ship_store, clock, after=dt.timedelta(days=1))
    assert run.state == SyncRun.State.SUCCEEDED and run.counts == {"not_trackable": 7}
    shipment = Shipment.objects.get(pk=seven_parcels[0].pk)
    assert "does not offer tracking" in shipment.tracking_error and shipment.last_tracked_at == clock.now
