"""Form pieces of the product pages: one field per category attribute (a drop-down of the allowed values when the
attribute has a FNAC value list), shared by the add page, the product page and the attribute-fields fetch view;
and the console look (django-unfold classes) for the connector's own forms."""

from __future__ import annotations

from django import forms
from unfold import widgets as uw

from catalogue.validation import FIELD_ATTRIBUTES, CatalogueContext

ATTR_PREFIX = "attr_"


class AttributeChoiceField(forms.ChoiceField):
    """A value of a FNAC value list: its code or its label (any case) is accepted, the code is kept."""

    def __init__(self, *, lookup: dict[str, str], list_code: str, **kwargs):
        self.lookup = lookup
        super().__init__(**kwargs)
        self.error_messages["invalid_choice"] = f"%(value)s is not an allowed value of the FNAC list {list_code}."

    def to_python(self, value):
        text = super().to_python(value).strip()
        return self.lookup.get(text.lower(), text)


def attribute_fields(ctx: CatalogueContext, category_code: str) -> dict[str, forms.Field]:
    """``{"attr_<code>": field}`` for the category's attributes (its own, its parents' and the common ones), the
    required ones first. Attributes that are product fields (title, brand, EAN...) are left to those fields."""
    fields: dict[str, forms.Field] = {}
    if category_code not in ctx.leaf_codes:
        return fields
    for attr in ctx.attributes_for(category_code):
        if attr.code in FIELD_ATTRIBUTES:
            continue
        label = attr.label or attr.code
        help_text = " — ".join(t for t in (f"FNAC attribute {attr.code}", attr.description) if t)
        labels = ctx.labels.get(attr.values_list_code, {}) if attr.values_list_code else {}
        if labels:
            choices = [("", "---------")] + sorted(labels.items(), key=lambda item: item[1].lower())
            field: forms.Field = AttributeChoiceField(
                label=label, required=attr.required, choices=choices, help_text=help_text,
                lookup=ctx.values.get(attr.values_list_code, {}), list_code=attr.values_list_code)
        else:
            field = forms.CharField(label=label, required=attr.required, help_text=help_text, max_length=500)
        fields[f"{ATTR_PREFIX}{attr.code}"] = field
    for field in fields.values():
        console_look_field(field)
    return fields


def attribute_values(form: forms.Form) -> dict[str, str]:
    """Every attribute field of a valid form as ``{code: value}`` ("" for a cleared one)."""
    return {name.removeprefix(ATTR_PREFIX): form.cleaned_data.get(name) or ""
            for name in form.fields if name.startswith(ATTR_PREFIX)}


def attribute_bound_fields(form: forms.Form) -> list:
    return [form[name] for name in form.fields if name.startswith(ATTR_PREFIX)]


def console_look_field(field: forms.Field) -> None:
    """Give a plain form field the console's widget classes (what unfold does for model admin forms)."""
    widget = field.widget
    if isinstance(widget, forms.Select) and not isinstance(widget, forms.SelectMultiple):
        new = uw.UnfoldAdminSelectWidget(attrs=dict(widget.attrs))
        new.choices = widget.choices
        field.widget = new
    elif isinstance(widget, forms.Textarea):
        field.widget = uw.UnfoldAdminTextareaWidget(attrs=dict(widget.attrs))
    elif isinstance(widget, forms.FileInput):
        widget.attrs.update({"class": "block text-sm",
                             "style": "border:1px solid #e5e7eb;border-radius:6px;padding:6px"})
    elif isinstance(widget, forms.NumberInput):
        field.widget = uw.UnfoldAdminIntegerFieldWidget(attrs=dict(widget.attrs))
    elif isinstance(widget, forms.TextInput):
        field.widget = uw.UnfoldAdminTextInputWidget(attrs=dict(widget.attrs))


def console_look(form: forms.Form) -> forms.Form:
    for field in form.fields.values():
        console_look_field(field)
    return form
