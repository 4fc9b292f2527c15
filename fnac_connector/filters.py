"""Query-string filters with bounds: a value the database cannot hold (``?store=1e20``,
``?store=99999999999999999999``, a date with a +21:46 offset) is a 400 naming the filter, never a 500 from the
database driver."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from fnac_connector.api import MAX_ID


class IdFilter(django_filters.NumberFilter):
    """An object id: a whole number from 1 to the database's largest id."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class BoundedIntegerFilter(django_filters.NumberFilter):
    """A whole number between ``min_value`` and ``max_value`` (both required: say what makes sense)."""

    field_class = forms.IntegerField

    def __init__(self, *args, min_value: int, max_value: int, **kwargs):
        super().__init__(*args, min_value=min_value, max_value=max_value, **kwargs)


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO-8601 date-time, handed to the database in UTC: PostgreSQL refuses offsets past 15:59 (Python
    accepts up to 23:59), and a date near year 1 or 9999 may not survive the conversion at all."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return value
        try:
            return value.astimezone(dt.UTC) if value.tzinfo is not None else value
        except (OverflowError, ValueError):
            raise forms.ValidationError("date-time out of range", code="invalid") from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField
