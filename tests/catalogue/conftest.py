"""Catalogue fixtures: a connected store whose reference data (categories, attributes, brands) is imported."""

from __future__ import annotations

import pytest


@pytest.fixture
def reference_data(connected_store):
    from catalogue.imports import categories_sync

    categories_sync(store=connected_store, trigger="test")
    return connected_store


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run a callable and then every on_commit callback it queued (tasks run inline), recursively."""

    def _run(func, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            result = func(*args, **kwargs)
        return result

    return _run


def fnac_offer(sandbox, sku):
    return sandbox.state.offers[sku]


def touch_offer(sandbox, sku, **changes):
    """Change an offer on the FNAC side (as the seller would in FNAC's back office)."""
    with sandbox.state.lock:
        offer = sandbox.state.offers[sku]
        for key, value in changes.items():
            setattr(offer, key, value)
        offer.changed(sandbox.clock.now())
        sandbox.state.offers_changed()
    return offer
