"""Which carrier adapter serves a store or a shipment: the one seam every caller goes through.

Issue 13 (real carriers) resolves a store's carrier *account* here (credentials, services); tracking and
labels call these functions rather than the registry directly.
"""

from __future__ import annotations

from fnac_connector.carriers import CarrierAdapter, get_adapter


def adapter_for_store(store) -> CarrierAdapter:
    return get_adapter(store.carrier_adapter)


def adapter_for_shipment(shipment) -> CarrierAdapter:
    """The adapter that booked the shipment (its name is kept on the shipment), else the store's."""
    return get_adapter(shipment.adapter or shipment.store.carrier_adapter)
