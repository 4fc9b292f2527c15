"""The sandbox carrier's tracking: a story told from the number and the clock, the same in every process."""

from __future__ import annotations

import datetime as dt

import pytest

from fnac_connector.carriers import CarrierError, TrackingStatus
from fnac_connector.carriers.sandbox import SandboxCarrier
from fnac_connector.carriers.sandbox_tracking import SCENARIOS, booked_at, scenario_of

from .factories import shipment_request

T = TrackingStatus
BOOKED = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(BOOKED)


def book(carrier, n: int) -> list[str]:
    return [carrier.create_shipment(shipment_request()).tracking_number for _ in range(n)]


def numbers_by_story(count: int = 200) -> dict[str, str]:
    """One sandbox number per story (the story is fixed by the number's hash)."""
    carrier = SandboxCarrier(namespace="STORY", clock=lambda: BOOKED)
    found: dict[str, str] = {}
    for number in book(carrier, count):
        found.setdefault(scenario_of(number), number)
    assert set(found) == set(SCENARIOS), found.keys()
    return found


def test_the_number_carries_its_booking_minute(clock):
    number = SandboxCarrier(namespace="T1", clock=clock).create_shipment(shipment_request()).tracking_number
    assert booked_at(number) == BOOKED
    assert booked_at("6A15602676300") is None  # a Colissimo number: not one the sandbox issues


def test_story_moves_with_the_clock_and_any_process_tells_the_same(clock):
    number = numbers_by_story()["delivered"]
    web, worker = SandboxCarrier(clock=clock), SandboxCarrier(clock=clock)  # two processes: nothing shared

    [fresh] = worker.track([number])
    assert [e.code for e in fresh.events] == []  # booked this very minute: nothing scanned yet
    clock.now = BOOKED + dt.timedelta(hours=12)
    [half] = worker.track([number])
    assert [e.status for e in half.events] == [T.INFO, T.IN_TRANSIT, T.IN_TRANSIT]
    assert not half.delivered
    clock.now = BOOKED + dt.timedelta(days=3)
    [done] = worker.track([number])
    assert done == web.track([number])[0]
    assert [e.status for e in done.events][-2:] == [T.OUT_FOR_DELIVERY, T.DELIVERED]
    assert done.delivered and not done.error
    assert all(e.at.tzinfo is not None for e in done.events)
    assert [e.at for e in done.events] == sorted(e.at for e in done.events)
    assert done.events[:3] == half.events  # what was told is never retold differently


def test_stories_include_stuck_exception_returned_and_never_handed_over(clock):
    clock.now = BOOKED + dt.timedelta(days=10)
    carrier = SandboxCarrier(clock=clock)
    stories = numbers_by_story()
    results = dict(zip(stories, carrier.track(list(stories.values())), strict=True))
    assert results["stuck"].events[-1].status == T.IN_TRANSIT and not results["stuck"].delivered
    assert [e.code for e in results["not_handed_over"].events] == ["DR1"]
    assert T.EXCEPTION in [e.status for e in results["returned"].events]
    assert results["returned"].events[-1].status == T.RETURNED and not results["returned"].delivered
    assert T.EXCEPTION in [e.status for e in results["delayed"].events] and results["delayed"].delivered


def test_unknown_and_cancelled_numbers_are_errors_per_number(clock):
    carrier = SandboxCarrier(clock=clock)
    shipment = carrier.create_shipment(shipment_request())
    carrier.cancel_shipment(shipment.awb)
    future = SandboxCarrier(clock=lambda: BOOKED + dt.timedelta(days=1)).create_shipment(shipment_request())
    typed, cancelled, later = carrier.track(["6A15602676300", shipment.tracking_number, future.tracking_number])
    assert "unknown tracking number" in typed.error and typed.events == ()
    assert "cancelled" in cancelled.error
    assert "unknown" in later.error  # booked after "now": the carrier cannot know it yet


def test_batch_limit_is_enforced(clock):
    carrier = SandboxCarrier(clock=clock)
    numbers = book(carrier, carrier.max_tracking_batch + 1)
    assert len(carrier.track(numbers[:-1])) == carrier.max_tracking_batch
    with pytest.raises(CarrierError) as caught:
        carrier.track(numbers)
    assert caught.value.code == "TOO_MANY_NUMBERS"
    assert "tracking" in carrier.capabilities


def test_speed_makes_the_demo_parcels_move_in_minutes(clock):
    number = numbers_by_story()["delivered"]
    fast = SandboxCarrier(clock=clock, tracking_speed=60)
    clock.now = BOOKED + dt.timedelta(minutes=40)
    assert fast.track([number])[0].delivered
    with pytest.raises(ValueError):
        SandboxCarrier(tracking_speed=0)
