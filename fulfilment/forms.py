"""Form fields of fulfilment: the carrier drop-down (FNAC's carriers loaded for the store), usable wherever a seller
picks a carrier: the ship form here, the store's default carrier on the store page (through
``stores.hooks.on_carrier_choices``)."""

from __future__ import annotations

from django import forms
from unfold.widgets import UnfoldAdminSelectWidget

from fulfilment.selectors import carriers_to_pick
from stores.models import Store


def carrier_label(code: str, name: str) -> str:
    return f"{name} ({code})" if name and name.upper() != code.upper() else code


def carrier_choices(store: Store | None, *, blank: str = "—", current: str = "") -> list[tuple[str, str]]:
    """``[("", blank), (code, "Name (CODE)")...]`` of the store's loaded FNAC carriers; a ``current`` code FNAC no
    longer lists is kept (marked) so an existing setting is never silently dropped."""
    rows = list(carriers_to_pick(store).values_list("code", "name")) if store is not None and store.pk else []
    choices = [("", blank)] + [(code, carrier_label(code, name)) for code, name in rows]
    if current and current not in {code for code, _ in rows}:
        choices.append((current, f"{current} (not in FNAC's carrier list)"))
    return choices


class CarrierChoiceField(forms.ChoiceField):
    """A drop-down of the store's FNAC carriers (the value is the FNAC carrier code)."""

    def __init__(self, *, store: Store | None, blank: str = "—", current: str = "", **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", UnfoldAdminSelectWidget)
        super().__init__(choices=carrier_choices(store, blank=blank, current=current), **kwargs)
