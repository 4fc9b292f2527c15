"""Pricing fixtures: live products that are offers in the sandbox, pinned competitors, a client that never sleeps."""

from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.MARKETPLACE_MAX_RETRIES = 0
    settings.INVENTORY_BATCH_POLL = (0, 0.05, 0.1, 0.2, 0.3, 0.5)
    settings.PRICING_WATCH_PACING_SECONDS = 0.5
    settings.PRICING_BACKOFF_SECONDS = 30
    settings.PRICING_MAX_BACKOFFS = 2


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def watch(connected_store, sleeps):
    """``watch(**kw)``: a price watch of the connected store (every due product), recording the sleeps."""
    from pricing import services

    def _run(store=None, **kw):
        kw.setdefault("full", True)
        return services.prices_watch(store=store or connected_store, sleep=sleeps.append, **kw)

    return _run


@pytest.fixture
def live(connected_store, sandbox):
    """``live(n, price=...)``: n live products of the store, each an offer (same SKU, EAN) in the sandbox."""
    from catalogue.models import Product

    def _make(n=3, *, price="20.00", condition="11", **extra):
        offers = sandbox.seed_offers(n)
        with sandbox.state.lock:
            for o in offers:
                o.price, o.product_state = Decimal(price), condition
        Product.objects.bulk_create([
            Product(store=connected_store, sku=o.sku, ean=o.ean, name=o.product_name, price=Decimal(price),
                    fnac_price=Decimal(price), condition=condition, stock_on_hand=5,
                    listing_state=Product.ListingState.LIVE, fnac_offer_id=o.offer_fnac_id, **extra)
            for o in offers])
        return list(Product.objects.filter(store=connected_store, sku__in=[o.sku for o in offers]).order_by("id"))

    return _make


def competitors(sandbox, product, *offers):
    """Pin the competing offers of ``product``: (price, shipping, state[, type])."""
    sandbox.set_competitors(product.ean, [
        {"price": p, "shipping": s, "state": st, "type": (rest[0] if rest else "professional")}
        for p, s, st, *rest in offers])
