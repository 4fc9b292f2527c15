"""Extension points of the order admin, so fulfilment can add its actions and panels without editing it."""

from __future__ import annotations

from collections.abc import Callable

_actions: list[Callable] = []
_inlines: list[type] = []


def order_admin_action(func: Callable) -> Callable:
    """Add an admin action (decorated with @admin.action) to the order list."""
    if func not in _actions:
        _actions.append(func)
    return func


def order_admin_inline(inline: type) -> type:
    """Add an inline (e.g. shipments, WMS events) to the order page."""
    if inline not in _inlines:
        _inlines.append(inline)
    return inline


def order_admin_actions() -> list[Callable]:
    return list(_actions)


def order_admin_inlines() -> list[type]:
    return list(_inlines)
