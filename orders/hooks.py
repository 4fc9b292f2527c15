"""Extension points of the order admin, so fulfilment can add its actions and panels without editing it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


# ---------------------------------------------------------------- buttons on the order page
@dataclass(frozen=True)
class OrderButton:
    """A button of the order page served by another app: ``applies(order)`` says whether it is shown for the
    order's state; ``view(model_admin, request, order)`` serves it (the order is already scoped to the user and
    the button's permission checked)."""

    name: str
    applies: Callable
    view: Callable
    perms: tuple[str, ...] = ()


_buttons: dict[str, OrderButton] = {}


def order_admin_button(button: OrderButton) -> OrderButton:
    _buttons[button.name] = button
    return button


def order_admin_buttons() -> dict[str, OrderButton]:
    return dict(_buttons)
