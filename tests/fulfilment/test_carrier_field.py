"""The carrier is picked from FNAC's carrier list loaded for the store, never typed (issue 11)."""

from __future__ import annotations

from django import forms

from fulfilment.forms import CarrierChoiceField, carrier_choices, store_default_carrier_field
from fulfilment.models import Carrier
from orders.labels import fnac_state_label, refund_reason_label, shipping_method_label, status_label
from stores import hooks
from stores.models import Store


def test_the_store_default_carrier_is_a_drop_down_of_its_loaded_carriers(ship_store, make_store):
    Carrier.objects.filter(store=ship_store, code="UPS").update(name="UPS Standard")
    field = store_default_carrier_field(ship_store)
    assert isinstance(field, CarrierChoiceField)
    values = dict(field.choices)
    assert values["UPS"] == "UPS Standard (UPS)" and values["COLISSIMO"] == "COLISSIMO"
    assert set(values) - {""} == set(Carrier.objects.filter(store=ship_store, active=True).values_list("code",
                                                                                                      flat=True))
    assert field.clean("UPS") == "UPS"
    try:
        field.clean("WHATEVER")
    except forms.ValidationError as exc:
        assert "not one of the available choices" in str(exc)
    else:
        raise AssertionError("a code FNAC does not list must be refused")
    # registered for the store page (stores.hooks), for the store admin to plug in
    assert hooks.store_form_fields()["default_carrier_code"] is store_default_carrier_field


def test_a_code_fnac_no_longer_lists_is_kept_and_marked(ship_store):
    Store.objects.filter(pk=ship_store.pk).update(default_carrier_code="OLDCO")
    ship_store.refresh_from_db()
    assert ("OLDCO", "OLDCO (not in FNAC's carrier list)") in store_default_carrier_field(ship_store).choices


def test_a_store_without_a_carrier_list_keeps_the_text_field(make_store):
    store = make_store()
    text = forms.CharField(required=False)
    assert store_default_carrier_field(store, text) is text and store_default_carrier_field(None, text) is text
    assert carrier_choices(None) == [("", "—")]


def test_readable_labels():
    assert shipping_method_label("53") == "Bulky item, delivery mode 3" and shipping_method_label("20") == "Standard"
    assert shipping_method_label("99") == "99" and shipping_method_label("") == "—"
    assert refund_reason_label("no_stock") == "Out of stock"
    assert status_label("awaiting_acceptance") == "Awaiting acceptance" and status_label("canceled") == "Cancelled"
    assert fnac_state_label("ToShip") == "Paid (to ship)"
