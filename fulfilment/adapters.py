"""Which carrier adapter serves a store or a shipment: the one seam every caller goes through.

A store books with the carrier its ``carrier_adapter`` names: a karrio carrier ("colissimo", "chronopost", "ups")
uses the store's active ``CarrierAccount`` of that carrier (credentials decrypted here, just before the adapter is
built, and never logged); any other name ("sandbox") is a registry adapter. Booking, cancelling, tracking and
labels call these functions rather than the registry directly.
"""

from __future__ import annotations

from decimal import Decimal

from fnac_connector.carriers import CarrierAdapter, get_adapter
from fnac_connector.carriers.karrio_adapter import CARRIERS, KarrioCarrier, ParcelDefaults
from fnac_connector.carriers.registry import UnknownCarrier
from fulfilment.models import CarrierAccount


class CarrierAccountMissing(UnknownCarrier):
    """The store books with a real carrier but has no active account for it."""


def carrier_account_for_store(store) -> CarrierAccount | None:
    """The store's active account of the carrier its ``carrier_adapter`` names (None for registry adapters)."""
    name = (store.carrier_adapter or "").strip().lower()
    if not name:
        return None
    account = CarrierAccount.objects.filter(store=store, carrier=name, active=True).first()
    if account is None and name in CARRIERS:
        label = CARRIERS[name].label
        raise CarrierAccountMissing(
            f"store {store.name!r} books with {label} but has no active {label} account: add one in "
            "Carrier accounts (admin), POST /api/carrier-accounts/ or `manage.py carrier_account`")
    return account


def adapter_for_account(account: CarrierAccount) -> CarrierAdapter:
    if account.carrier not in CARRIERS:  # the sandbox: a registry adapter, shared per process
        return get_adapter(account.carrier)
    return KarrioCarrier(
        account.carrier, settings={**(account.settings or {}), **account.secret_values()},
        test_mode=account.test_mode, service=account.service, label_format=account.label_format,
        parcel=ParcelDefaults(length_cm=account.default_length_cm, width_cm=account.default_width_cm,
                              height_cm=account.default_height_cm))


def adapter_for_store(store) -> CarrierAdapter:
    account = carrier_account_for_store(store)
    if account is not None:
        return adapter_for_account(account)
    return get_adapter(store.carrier_adapter)


def adapter_for_shipment(shipment) -> CarrierAdapter:
    """The adapter that booked the shipment: its carrier account, else its adapter name, else the store's."""
    if shipment.carrier_account_id:
        return adapter_for_account(shipment.carrier_account)
    if shipment.adapter and shipment.adapter not in CARRIERS:
        return get_adapter(shipment.adapter)
    return adapter_for_store(shipment.store)


def default_weight_kg(store, account: CarrierAccount | None, fallback: Decimal) -> Decimal:
    if account is not None and account.default_weight_kg:
        return account.default_weight_kg
    return fallback
