"""The carrier adapter interface used when an order goes "Ready to Ship".

An adapter books a shipment with a carrier and returns its label; it knows the carrier's wire and
nothing else (no models, no settings). Callers pass plain dataclasses in and get plain dataclasses
or typed errors back: ``CarrierError`` (``retryable`` says whether trying again later may help) and
its subclass ``AddressError`` (a party's address cannot be shipped to; ``field`` names the culprit).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

# FNAC's limit on orders_update/order_detail/tracking_number.
TRACKING_NUMBER_MAX_LENGTH = 32


class CarrierError(Exception):
    """A carrier refused or failed a request. ``retryable`` tells whether a later try may succeed."""

    def __init__(self, message: str = "", *, retryable: bool = False, code: str = ""):
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        # the carrier's own error code, when it gave one
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class AddressError(CarrierError):
    """An address is missing a field or has a bad one; never retryable until the address is fixed.

    ``party`` is "recipient" or "sender", ``field`` the Party attribute at fault (e.g. "zipcode").
    """

    def __init__(self, message: str = "", *, field: str, party: str = "recipient", code: str = ""):
        super().__init__(message or f"{party} {field} is invalid", retryable=False, code=code)
        self.field = field
        self.party = party


@dataclass(frozen=True, kw_only=True)
class Party:
    """A sender or a recipient. Everything defaults to "" so an incomplete address can be built
    from order data and refused by the adapter with an ``AddressError`` naming the missing field."""

    name: str = ""
    company: str = ""
    address1: str = ""
    address2: str = ""
    zipcode: str = ""
    city: str = ""
    country: str = ""  # ISO 3166 alpha-3, as FNAC sends it: "FRA", "BEL" ...
    phone: str = ""
    email: str = ""


class ShipmentLine(NamedTuple):
    sku: str
    name: str
    quantity: int


@dataclass(frozen=True, kw_only=True)
class ShipmentRequest:
    order_id: str
    sender: Party
    recipient: Party
    weight_kg: Decimal
    carrier_code: str  # FNAC tracking_company code: LAPOSTE, COLISSIMO, CHRONOPOST, UPS ...
    lines: Sequence[ShipmentLine] = ()
    reference: str = ""  # the seller's own reference, printed on the label
    service: str = ""  # carrier service level, e.g. "EXPRESS"; "" for the carrier's default
    # parcel dimensions in cm, when known (carriers price and sort by them); None: the account's defaults
    length_cm: Decimal | None = None
    width_cm: Decimal | None = None
    height_cm: Decimal | None = None

    def __post_init__(self) -> None:
        # Accept plain (sku, name, quantity) tuples and int/str weights; store canonical forms.
        object.__setattr__(self, "lines", tuple(ShipmentLine(*line) for line in self.lines))
        try:
            weight = Decimal(str(self.weight_kg))
        except InvalidOperation:
            raise ValueError(f"weight_kg is not a number: {self.weight_kg!r}") from None
        object.__setattr__(self, "weight_kg", weight)


@dataclass(frozen=True, kw_only=True)
class Shipment:
    awb: str  # the carrier's shipment id, used to cancel
    tracking_number: str  # what FNAC and the buyer see; at most 32 characters
    carrier_code: str
    label_pdf: bytes = field(repr=False)  # the label's bytes, in ``label_format``
    tracking_url: str = ""
    label_format: str = "PDF"  # "PDF", or "ZPL" (thermal printers): then label_pdf holds the ZPL text

    def __post_init__(self) -> None:
        if not self.tracking_number or len(self.tracking_number) > TRACKING_NUMBER_MAX_LENGTH:
            limit = TRACKING_NUMBER_MAX_LENGTH
            raise ValueError(f"tracking_number must be 1..{limit} characters: {self.tracking_number!r}")


class CarrierAdapter(abc.ABC):
    """One carrier (or carrier aggregator). Implementations raise only CarrierError/AddressError."""

    name: str = ""

    @abc.abstractmethod
    def create_shipment(self, request: ShipmentRequest) -> Shipment:
        """Book a shipment and return its tracking number and label."""

    @abc.abstractmethod
    def cancel_shipment(self, awb: str) -> None:
        """Void a shipment that has not been handed to the carrier yet."""

    # What this adapter can do: a subset of {"labels", "cancel", "tracking", "lookup"}; the admin and README say it
    # per carrier.
    capabilities: frozenset[str] = frozenset({"labels", "cancel"})
    # At most this many tracking numbers per ``track`` call (the carrier's own limit).
    max_tracking_batch: int = 1

    def find_shipment(self, reference: str) -> Shipment | None:
        """The shipment booked with ``reference`` (ShipmentRequest.reference), or None when the carrier has none.
        Only adapters with the "lookup" capability can; it lets a booking that timed out be checked before booking
        again."""
        raise CarrierError(f"carrier adapter {self.name!r} cannot look shipments up by reference", retryable=False)

    def track(self, tracking_numbers: Sequence[str]) -> list[TrackingResult]:
        """The carrier's events for each parcel, one result per number asked (same order). A number the carrier
        does not know gives a result with ``error`` set, not an exception; CarrierError is for the whole call."""
        raise CarrierError(f"carrier adapter {self.name!r} does not offer tracking", retryable=False)


class TrackingStatus:
    """The connector's own reading of a carrier event (carriers each have their own codes)."""

    INFO = "info"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"  # delivery failed, damaged, address problem...
    RETURNED = "returned"  # going back to the sender

    ALL = (INFO, IN_TRANSIT, OUT_FOR_DELIVERY, DELIVERED, EXCEPTION, RETURNED)


@dataclass(frozen=True, kw_only=True)
class TrackingEvent:
    at: datetime  # timezone-aware
    status: str  # one of TrackingStatus.ALL
    code: str = ""  # the carrier's own event code
    description: str = ""
    location: str = ""


@dataclass(frozen=True, kw_only=True)
class TrackingResult:
    tracking_number: str
    events: tuple[TrackingEvent, ...] = ()  # oldest first
    error: str = ""  # the carrier does not know this number (or refused it); events is then empty

    @property
    def delivered(self) -> bool:
        return any(e.status == TrackingStatus.DELIVERED for e in self.events)
