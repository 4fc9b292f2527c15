"""Carrier adapters: book a shipment and get its tracking number and label at "Ready to Ship"."""

from .base import (
    TRACKING_NUMBER_MAX_LENGTH,
    AddressError,
    CarrierAdapter,
    CarrierError,
    Party,
    Shipment,
    ShipmentLine,
    ShipmentRequest,
    TrackingEvent,
    TrackingResult,
    TrackingStatus,
)
from .registry import UnknownCarrier, get_adapter, register

__all__ = [
    "TRACKING_NUMBER_MAX_LENGTH",
    "AddressError",
    "CarrierAdapter",
    "CarrierError",
    "Party",
    "Shipment",
    "ShipmentLine",
    "ShipmentRequest",
    "TrackingEvent",
    "TrackingResult",
    "TrackingStatus",
    "UnknownCarrier",
    "get_adapter",
    "register",
]
