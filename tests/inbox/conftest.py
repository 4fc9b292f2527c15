"""Fixtures of the inbox tests: a connected store on the sandbox with two imported orders, and helpers."""

from __future__ import annotations

import datetime as dt

import pytest

ORDER_A = "AAAAAAAAAAAA1"
ORDER_B = "BBBBBBBBBBBB2"
UNKNOWN_ORDER = "ZZZZZZZZZZZZ9"


@pytest.fixture
def inbox_store(connected_store, sandbox):
    """A connected store whose two sandbox orders (ORDER_A, ORDER_B) are imported."""
    from orders.services import orders_sync

    sandbox.add_order(order_id=ORDER_A, state="Shipped", lines=["SKU-000001"])
    sandbox.add_order(order_id=ORDER_B, state="ToShip", lines=["SKU-000002"])
    orders_sync(store=connected_store, mode="manual", trigger="test")
    return connected_store


@pytest.fixture
def buyer_message(sandbox):
    """``buyer_message(referer=ORDER_A, hours_ago=1, ...)``: a buyer's message on the sandbox; returns its id."""

    def _add(referer=ORDER_A, hours_ago: float = 1, **kwargs):
        created = sandbox.clock.now() - dt.timedelta(hours=hours_ago)
        return sandbox.add_message(referer=referer, created_at=created, **kwargs).message_id

    return _add


@pytest.fixture
def sync_messages(inbox_store):
    from inbox.services import messages_sync

    def _sync(**kwargs):
        return messages_sync(store=inbox_store, trigger="test", **kwargs)

    return _sync


def requests_of(sandbox, service: str, action: str | None = None) -> list:
    """What the sandbox received for ``service`` (and, for messages_update, carrying ``action``)."""
    found = [r for r in sandbox.requests_for(service) if r.fault is None or r.fault in ("slow", "truncated")]
    if action:
        found = [r for r in found if f'action="{action}"'.encode() in r.body]
    return found
