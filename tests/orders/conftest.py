"""Fixtures for order tests: products with stock, and a helper to run a sync."""

from __future__ import annotations

import pytest


@pytest.fixture
def sync(connected_store):
    from orders.services import orders_sync

    def _sync(mode="manual", store=None, **kwargs):
        return orders_sync(store=store or connected_store, mode=mode, trigger="test", **kwargs)

    return _sync


@pytest.fixture
def manual_store(connected_store):
    """A connected store that leaves every new order for a decision (no automatic acceptance)."""
    from stores.models import Store

    Store.objects.filter(pk=connected_store.pk).update(acceptance_mode=Store.AcceptanceMode.MANUAL)
    connected_store.refresh_from_db()
    return connected_store
