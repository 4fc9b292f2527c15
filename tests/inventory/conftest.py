"""Inventory fixtures: products that exist as offers in the sandbox, and a way to run the drain."""

from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.fixture(autouse=True)
def _fast_push(settings):
    settings.MARKETPLACE_MAX_RETRIES = 0  # the outbox retries; the client need not (keeps fault tests fast)
    settings.INVENTORY_BATCH_POLL = (0, 0.05, 0.1, 0.2, 0.3, 0.5)


@pytest.fixture
def live_products(connected_store, sandbox):
    """``live_products(n)``: n products of the connected store, each an offer the sandbox knows."""
    from catalogue.models import Product

    def _make(n=3, *, on_hand=10, price="19.90", store=None, **extra):
        store = store or connected_store
        offers = sandbox.seed_offers(n)
        products = [Product(store=store, sku=o.sku, ean=o.ean, name=o.product_name, price=Decimal(price),
                            stock_on_hand=on_hand, listing_state=Product.ListingState.LIVE,
                            fnac_offer_id=o.offer_fnac_id, **extra) for o in offers]
        Product.objects.bulk_create(products)
        return list(Product.objects.filter(store=store, sku__in=[o.sku for o in offers]).order_by("id"))

    return _make


def offers_sent(sandbox) -> list[list[dict]]:
    """Each offers_update the sandbox received, as a list of {sku, quantity, price} dicts."""
    from lxml import etree

    calls = []
    for rec in sandbox.requests_for("offers_update"):
        root = etree.fromstring(rec.body)
        offers = []
        for offer in root:
            if not isinstance(offer.tag, str) or etree.QName(offer).localname != "offer":
                continue
            item = {}
            for child in offer:
                name = etree.QName(child).localname
                if name == "offer_reference":
                    item["sku"] = child.text
                elif name in ("quantity", "price", "product_reference"):
                    item[name] = child.text
            offers.append(item)
        calls.append(offers)
    return calls
