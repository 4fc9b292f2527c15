"""The carrier is picked from FNAC's carrier list loaded for the store, never typed (issue 11)."""

from __future__ import annotations

import pytest
from django import forms

from fulfilment.forms import CarrierChoiceField, carrier_choices
from fulfilment.models import Carrier
from orders.labels import fnac_state_label, refund_reason_label, shipping_method_label, status_label
from stores import hooks


def test_the_carrier_field_is_a_drop_down_of_the_stores_loaded_carriers(ship_store):
    Carrier.objects.filter(store=ship_store, code="UPS").update(name="UPS Standard")
    field = CarrierChoiceField(store=ship_store)
    values = dict(field.choices)
    assert values["UPS"] == "UPS Standard (UPS)" and values["DHL"] == "DHL"
    assert set(values) - {""} == set(Carrier.objects.filter(store=ship_store, active=True).values_list("code",
                                                                                                      flat=True))
    assert field.clean("UPS") == "UPS"
    with pytest.raises(forms.ValidationError, match="not one of the available choices"):
        field.clean("WHATEVER")
    # the store page's default carrier gets the same list (stores.hooks, registered by fulfilment)
    assert hooks.carrier_choices(ship_store) == [c for c in field.choices if c[0]]


def test_a_code_fnac_no_longer_lists_is_kept_and_marked(ship_store):
    assert ("OLDCO", "OLDCO (not in FNAC's carrier list)") in carrier_choices(ship_store, current="OLDCO")
    assert carrier_choices(None) == [("", "—")]


def test_readable_labels():
    assert shipping_method_label("53") == "Bulky item, delivery mode 3" and shipping_method_label("20") == "Standard"
    assert shipping_method_label("99") == "99" and shipping_method_label("") == "—"
    assert refund_reason_label("no_stock") == "Out of stock"
    assert status_label("awaiting_acceptance") == "Awaiting acceptance" and status_label("canceled") == "Cancelled"
    assert fnac_state_label("ToShip") == "Paid (to ship)"
