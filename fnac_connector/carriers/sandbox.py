"""A carrier that books nothing: it issues unique numbers and prints a real, scannable A6 label.

Used by the demo and the tests, and by a seller trying the connector without a carrier contract.
Its registry of shipments lives in memory, so it is per process: cancel a shipment through the
same adapter instance (``registry.get_adapter`` returns one per process) that created it.
Tracking needs no memory: the number carries its booking minute and the story is told from it
(``sandbox_tracking``), so the django-q worker tracks what the web server booked.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .base import (
    TRACKING_NUMBER_MAX_LENGTH,
    AddressError,
    CarrierAdapter,
    CarrierError,
    Party,
    Shipment,
    ShipmentRequest,
    TrackingResult,
)
from .labels import render_label
from .sandbox_tracking import stamp, track_numbers

# Two-letter prefixes for the FNAC tracking_company codes sellers use most; any other code gets its
# first two letters. The prefix only makes sandbox numbers recognisable by eye.
TRACKING_PREFIXES = {
    "LAPOSTE": "LP",
    "COLISSIMO": "CO",
    "SOCOLISSIMO": "SO",
    "CHRONOPOST": "CP",
    "UPS": "1Z",
    "GLS": "GL",
    "DHL": "DH",
    "TNT": "TN",
    "DPD": "DP",
    "FEDEX": "FX",
    "MONDIALRELAY": "MR",
    "COLISPRIVE": "CL",
}
# Countries whose addresses use French five-digit postcodes (metropolitan France, overseas
# departments and collectivities, Monaco).
FRENCH_POSTCODE_COUNTRIES = frozenset({"FRA", "GLP", "MTQ", "GUF", "REU", "MYT", "SPM", "BLM", "MAF", "MCO"})
REQUIRED_ADDRESS_FIELDS = ("name", "address1", "zipcode", "city", "country")
SANDBOX_TRACKING_URL = "https://sandbox.invalid/track/{tracking_number}"
LABEL_BANNER = "SANDBOX - NOT A REAL CARRIER LABEL"
_BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class _Booking:
    request: ShipmentRequest
    shipment: Shipment
    cancelled: bool = False


class SandboxCarrier(CarrierAdapter):
    """Numbers are ``<prefix><booking minute><namespace><counter>``, e.g. ``CP02A1B47K2Q9XWA0000001``: unique
    within an instance by the counter and across instances/processes by the random namespace; pass
    ``namespace`` (and ``clock``) to make them deterministic (tests). ``tracking_speed`` > 1 makes the
    simulated parcels move faster than real time (the demo)."""

    name = "sandbox"
    # as strict as a real tracking API: a few numbers per call (La Poste's Suivi takes up to 10)
    max_tracking_batch = 10

    def __init__(self, *, namespace: str | None = None, today: Callable[[], dt.date] = dt.date.today,
                 clock: Callable[[], dt.datetime] | None = None, tracking_speed: float = 1.0):
        namespace = (namespace if namespace is not None else _random_namespace()).upper()
        if not re.fullmatch(r"[A-Z0-9]{1,16}", namespace):
            raise ValueError(f"namespace must be 1..16 letters or digits: {namespace!r}")
        if tracking_speed <= 0:
            raise ValueError(f"tracking_speed must be positive: {tracking_speed!r}")
        self.namespace = namespace
        self._today = today
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.tracking_speed = tracking_speed
        self._counter = 0
        self._lock = threading.Lock()
        self._bookings: dict[str, _Booking] = {}

    def create_shipment(self, request: ShipmentRequest) -> Shipment:
        validate_address(request.recipient, party="recipient")
        validate_address(request.sender, party="sender")
        carrier_code = request.carrier_code.strip().upper()
        if not carrier_code:
            raise CarrierError("carrier_code is required", code="CARRIER_REQUIRED")
        if request.weight_kg <= 0:
            raise CarrierError(f"weight must be positive, got {request.weight_kg} kg", code="BAD_WEIGHT")

        with self._lock:
            self._counter += 1
            serial = self._counter
        body = f"{self.namespace}{serial:07d}"
        tracking_number = f"{_prefix(carrier_code)}{stamp(self._clock())}{body}"
        if len(tracking_number) > TRACKING_NUMBER_MAX_LENGTH:  # only with a huge counter + namespace
            raise CarrierError("sandbox tracking number space exhausted", code="NUMBERS_EXHAUSTED")
        draft = Shipment(
            awb=f"SBX{body}",
            tracking_number=tracking_number,
            carrier_code=carrier_code,
            label_pdf=b"",
            tracking_url=SANDBOX_TRACKING_URL.format(tracking_number=tracking_number),
        )
        label = render_label(request, draft, printed_on=self._today(), banner=LABEL_BANNER)
        shipment = Shipment(
            awb=draft.awb,
            tracking_number=draft.tracking_number,
            carrier_code=draft.carrier_code,
            label_pdf=label,
            tracking_url=draft.tracking_url,
        )
        with self._lock:
            self._bookings[shipment.awb] = _Booking(request=request, shipment=shipment)
        return shipment

    def cancel_shipment(self, awb: str) -> None:
        with self._lock:
            booking = self._bookings.get(awb)
            if booking is None:
                raise CarrierError(f"unknown shipment {awb!r}", code="UNKNOWN_AWB")
            if booking.cancelled:
                raise CarrierError(f"shipment {awb!r} is already cancelled", code="ALREADY_CANCELLED")
            booking.cancelled = True

    capabilities = frozenset({"labels", "cancel", "tracking", "lookup"})

    def find_shipment(self, reference: str) -> Shipment | None:
        with self._lock:
            for booking in self._bookings.values():
                if reference and booking.request.reference == reference and not booking.cancelled:
                    return booking.shipment
        return None
    def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        numbers = list(tracking_numbers)
        if len(numbers) > self.max_tracking_batch:
            raise CarrierError(f"at most {self.max_tracking_batch} tracking numbers per call, got {len(numbers)}",
                               code="TOO_MANY_NUMBERS")
        with self._lock:
            cancelled = frozenset(b.shipment.tracking_number for b in self._bookings.values() if b.cancelled)
        return track_numbers(numbers, now=self._clock(), speed=self.tracking_speed, cancelled=cancelled)

    # Introspection for tests and the demo.
    def is_cancelled(self, awb: str) -> bool:
        booking = self._bookings.get(awb)
        if booking is None:
            raise CarrierError(f"unknown shipment {awb!r}", code="UNKNOWN_AWB")
        return booking.cancelled

    def shipments(self) -> list[Shipment]:
        """Every shipment created, in order, cancelled ones included."""
        with self._lock:
            return [booking.shipment for booking in self._bookings.values()]


def validate_address(address: Party, *, party: str = "recipient") -> None:
    """Refuse an address a carrier could not deliver to, naming the first bad field."""
    for field in REQUIRED_ADDRESS_FIELDS:
        if not getattr(address, field).strip():
            raise AddressError(f"{party} {field} is required", field=field, party=party)
    country = address.country.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", country):
        raise AddressError(
            f"{party} country must be an ISO 3166 alpha-3 code such as FRA, got {address.country!r}",
            field="country",
            party=party,
        )
    zipcode = address.zipcode.strip()
    if country in FRENCH_POSTCODE_COUNTRIES and not re.fullmatch(r"\d{5}", zipcode):
        raise AddressError(
            f"{party} zipcode must be 5 digits in {country}, got {address.zipcode!r}",
            field="zipcode",
            party=party,
        )


def _prefix(carrier_code: str) -> str:
    if carrier_code in TRACKING_PREFIXES:
        return TRACKING_PREFIXES[carrier_code]
    letters = re.sub(r"[^A-Z0-9]", "", carrier_code)
    return (letters + "XX")[:2]


def _random_namespace() -> str:
    value = uuid.uuid4().int
    digits = []
    for _ in range(8):  # 36**8 ~ 2.8e12 namespaces
        value, digit = divmod(value, 36)
        digits.append(_BASE36[digit])
    return "".join(digits)
