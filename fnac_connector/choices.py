"""Labels of Django choices, shared by every app (status names in messages, admin and API)."""

from __future__ import annotations

from django.db import models


def choice_label(choices: type[models.Choices], value: str, *, empty: str = "") -> str:
    """The human label of ``value`` (``"Ready to Ship"`` for ``"ready_to_ship"``); an unknown value is shown as it
    is, an empty one as ``empty``."""
    try:
        return choices(value).label
    except ValueError:
        return value or empty
