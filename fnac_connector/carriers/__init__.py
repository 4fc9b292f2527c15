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
from .registry import UnknownCarrier, get_adapter, register, registered

REGISTRY_LABELS = {"sandbox": "Sandbox (demo: books nothing, invents tracking numbers)"}


def adapter_choices() -> list[tuple[str, str]]:
    """Every name a store's ``carrier_adapter`` may hold, as (name, label): the real carriers booked through
    karrio with the store's carrier account, then the adapters registered in this process (the sandbox)."""
    from .karrio_adapter import CARRIERS

    real = [(name, f"{spec.label}: booked with the store's carrier account") for name, spec in CARRIERS.items()]
    others = [(name, REGISTRY_LABELS.get(name, name)) for name in registered() if name not in CARRIERS]
    return real + others

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
    "adapter_choices",
    "get_adapter",
    "register",
]
