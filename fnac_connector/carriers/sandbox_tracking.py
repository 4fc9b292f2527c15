"""The sandbox carrier's tracking: a parcel's story told from its tracking number and the clock alone.

A sandbox tracking number carries the minute it was booked (``stamp``), and a hash of the number picks one of a
few stories (``SCENARIOS``): most parcels are delivered about a day and a half after booking, some are delayed, some
stop moving (stuck), some fail delivery and go back to the sender, some are never handed to the carrier. So every
process (the web server that booked the parcel, the django-q worker that tracks it, a test) gives the same answer
for the same number at the same time, with no shared state. Events later than "now" are not told yet.

The event codes look like La Poste's tracking codes (DR1 announced, PC1 taken in charge, ET1 in transit, MD2 out
for delivery, DI1 delivered, ND1 not deliverable, RE1 returned...). They are the sandbox's own: the connector reads
only the ``TrackingStatus`` of an event, never a carrier's code, so nothing depends on them being La Poste's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from .base import TrackingEvent, TrackingResult, TrackingStatus

EPOCH = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
STAMP_LENGTH = 6  # base36 minutes since EPOCH: 36**6 minutes is about 4,000 years
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# <prefix: 2><booking minute: 6><namespace: 1..16><counter: 7 or more digits>
NUMBER_RE = re.compile(r"[A-Z0-9]{2}(?P<stamp>[0-9A-Z]{6})[A-Z0-9]{1,16}[0-9]{7,}")

T = TrackingStatus
HOUR = dt.timedelta(hours=1)


def stamp(at: dt.datetime) -> str:
    """The booking minute written in a sandbox tracking number."""
    minutes = max(0, int((at - EPOCH).total_seconds() // 60))
    digits = []
    for _ in range(STAMP_LENGTH):
        minutes, digit = divmod(minutes, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits))


def booked_at(tracking_number: str) -> dt.datetime | None:
    """When a sandbox number was booked, or None when the number is not one the sandbox issues."""
    match = NUMBER_RE.fullmatch(tracking_number or "")
    if not match:
        return None
    minutes = 0
    for char in match["stamp"]:
        minutes = minutes * 36 + _BASE36.index(char)
    return EPOCH + dt.timedelta(minutes=minutes)


@dataclass(frozen=True)
class Step:
    after: dt.timedelta  # after booking
    status: str
    code: str
    description: str
    location: str = ""  # "{hub}" and "{depot}" are filled in per parcel


_ANNOUNCED = Step(dt.timedelta(minutes=5), T.INFO, "DR1", "Parcel announced by the sender (label created)")
_TAKEN = Step(3 * HOUR, T.IN_TRANSIT, "PC1", "Parcel taken in charge by the carrier", "{depot_from}")
_SORTED = Step(11 * HOUR, T.IN_TRANSIT, "ET1", "Parcel in transit (sorted at the hub)", "{hub}")
_ARRIVED = Step(20 * HOUR, T.IN_TRANSIT, "ET4", "Parcel arrived at the delivery site", "{depot}")
_OUT = Step(29 * HOUR, T.OUT_FOR_DELIVERY, "MD2", "Parcel out for delivery", "{depot}")
_DELIVERED = Step(33 * HOUR, T.DELIVERED, "DI1", "Parcel delivered to the recipient", "{depot}")

SCENARIOS: dict[str, tuple[Step, ...]] = {
    "delivered": (_ANNOUNCED, _TAKEN, _SORTED, _ARRIVED, _OUT, _DELIVERED),
    "delayed": (
        _ANNOUNCED, _TAKEN, _SORTED,
        Step(30 * HOUR, T.EXCEPTION, "PB1", "Delivery delayed: incident at the hub", "{hub}"),
        Step(52 * HOUR, T.IN_TRANSIT, "PB2", "Incident resolved, parcel back in transit", "{hub}"),
        Step(60 * HOUR, T.IN_TRANSIT, "ET4", "Parcel arrived at the delivery site", "{depot}"),
        Step(77 * HOUR, T.OUT_FOR_DELIVERY, "MD2", "Parcel out for delivery", "{depot}"),
        Step(81 * HOUR, T.DELIVERED, "DI1", "Parcel delivered to the recipient", "{depot}"),
    ),
    # the parcel stops moving after the hub: no event ever again
    "stuck": (_ANNOUNCED, _TAKEN, _SORTED),
    "returned": (
        _ANNOUNCED, _TAKEN, _SORTED, _ARRIVED, _OUT,
        Step(33 * HOUR, T.EXCEPTION, "ND1", "Parcel not deliverable: incomplete address", "{depot}"),
        Step(40 * HOUR, T.RETURNED, "RE1", "Parcel on its way back to the sender", "{depot}"),
        Step(96 * HOUR, T.RETURNED, "DI2", "Parcel delivered back to the sender", "{depot_from}"),
    ),
    # labelled, never handed to the carrier
    "not_handed_over": (_ANNOUNCED,),
}
# out of 100, by the number's hash: the share of each story
SHARES = (("delivered", 70), ("delayed", 10), ("stuck", 8), ("returned", 7), ("not_handed_over", 5))
HUBS = ("Chilly-Mazarin hub", "Lyon Saint-Priest hub", "Bordeaux Cestas hub", "Lille Lesquin hub",
        "Marseille Vitrolles hub", "Rennes Le Rheu hub")
DEPOTS = ("Paris 11", "Lyon 7", "Toulouse Nord", "Nantes Est", "Strasbourg", "Nice Ouest", "Montpellier",
          "Dijon", "Rouen", "Grenoble")


def _hash(tracking_number: str) -> int:
    return int.from_bytes(hashlib.sha256(tracking_number.encode()).digest()[:8], "big")


def scenario_of(tracking_number: str) -> str:
    """The story of a number (fixed for the number)."""
    bucket = _hash(tracking_number) % 100
    for name, share in SHARES:
        if bucket < share:
            return name
        bucket -= share
    return SHARES[0][0]


def events_at(tracking_number: str, *, now: dt.datetime, speed: float = 1.0) -> tuple[TrackingEvent, ...]:
    """The events of a sandbox number known at ``now`` (oldest first); ``speed`` > 1 makes the story go faster
    (the demo's parcels are delivered in minutes instead of a day and a half)."""
    start = booked_at(tracking_number)
    if start is None:
        return ()
    h = _hash(tracking_number)
    places = {"hub": HUBS[h % len(HUBS)], "depot": DEPOTS[(h // 7) % len(DEPOTS)],
              "depot_from": DEPOTS[(h // 101) % len(DEPOTS)]}
    jitter = dt.timedelta(minutes=(h // 1009) % 50)  # parcels booked together do not move in lockstep
    events = []
    for i, step in enumerate(SCENARIOS[scenario_of(tracking_number)]):
        after = step.after + (jitter if i else dt.timedelta(0))
        at = start + after / speed
        if at > now:
            break
        events.append(TrackingEvent(at=at.replace(microsecond=0), status=step.status, code=step.code,
                                    description=step.description, location=step.location.format(**places)))
    return tuple(events)


def track_numbers(tracking_numbers, *, now: dt.datetime, speed: float = 1.0,
                  cancelled: frozenset[str] = frozenset()) -> list[TrackingResult]:
    """One result per number asked, in order. A number the sandbox never issued (or booked later than ``now``)
    is unknown, as a real carrier says of a number it has no record of; a cancelled (voided) label too."""
    results = []
    for number in tracking_numbers:
        start = booked_at(number)
        if start is None or start > now:
            results.append(TrackingResult(tracking_number=number, error=f"unknown tracking number {number!r}"))
        elif number in cancelled:
            results.append(TrackingResult(tracking_number=number, error=f"shipment {number!r} was cancelled"))
        else:
            results.append(TrackingResult(tracking_number=number, events=events_at(number, now=now, speed=speed)))
    return results
