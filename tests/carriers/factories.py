"""Plain builders for carrier requests (no database involved)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from fnac_connector.carriers import Party, ShipmentRequest


def party(**overrides) -> Party:
    base = Party(
        name="Élodie Dupré",
        address1="3 avenue des Champs-Élysées",
        address2="Bât. B",
        zipcode="69001",
        city="Lyon",
        country="FRA",
        phone="+33612345678",
        email="elodie@example.test",
    )
    return replace(base, **overrides)


def sender(**overrides) -> Party:
    base = Party(
        name="Entrepôt Martin",
        company="Martin SARL",
        address1="12 rue de la Paix",
        zipcode="75002",
        city="Paris",
        country="FRA",
    )
    return replace(base, **overrides)


def shipment_request(**overrides) -> ShipmentRequest:
    fields = dict(
        order_id="1A2B3C4D5E6F7",
        sender=sender(),
        recipient=party(),
        weight_kg=Decimal("1.250"),
        carrier_code="COLISSIMO",
        lines=[("SKU-1", "Le Petit Prince (poche)", 2), ("SKU-2", "Casque audio", 1)],
        reference="CMD-42",
    )
    fields.update(overrides)
    return ShipmentRequest(**fields)
