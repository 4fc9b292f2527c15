"""What the journeys start from, made through the services (the browser is for what a seller does on the pages):
stores on sandbox marketplaces, reference data, carriers, products and orders. Each store is on a sandbox of its
own (one FNAC shop is one store)."""

from __future__ import annotations

import dataclasses

from fnac_sandbox.server import SandboxServer

SENDER = {"sender_name": "Entrepôt Martin", "sender_address1": "12 rue de la Paix", "sender_zipcode": "75002",
          "sender_city": "Paris", "sender_country": "FRA"}


def other_sandbox(sandbox, shop_suffix: int) -> SandboxServer:
    """A second marketplace with its own Shop ID (started; the caller stops it)."""
    shop_id = f"{shop_suffix:08x}-b0b0-4e5f-8a9b-0c0ffee05a1e"
    market = SandboxServer(host="127.0.0.1", port=0, seed=7 + shop_suffix,
                           credentials=dataclasses.replace(sandbox.credentials, shop_id=shop_id))
    return market.start()


def store_fields(market, name: str, **overrides) -> dict:
    creds = market.credentials
    data = dict(name=name, partner_id=creds.partner_id, shop_id=creds.shop_id, fnac_key=creds.key,
                mirakl_api_key=creds.mirakl_key, fnac_base_url=market.fnac_url, mirakl_base_url=market.mirakl_url)
    data.update(overrides)
    return data


def connected_store(market, name: str, *, manual: bool = False, sender: bool = True, carrier: str = "SOCOLISSIMO",
                    **overrides):
    """A store connected to ``market`` (imports run inline), with FNAC's categories and carriers loaded;
    ``manual``: every new order waits for a decision; ``sender``: the sender address is filled in; ``carrier``:
    the default carrier."""
    from catalogue.imports import categories_sync
    from fulfilment.carriers import carriers_refresh
    from stores.models import Store
    from stores.services import store_connect, store_create

    store = store_create(**store_fields(market, name, **overrides))
    store_connect(store=store, trigger="test")
    changes = {"default_carrier_code": carrier}
    if manual:
        changes["acceptance_mode"] = Store.AcceptanceMode.MANUAL
    changes.update(SENDER if sender else {k: "" for k in SENDER if k != "sender_country"})
    Store.objects.filter(pk=store.pk).update(**changes)
    store.refresh_from_db()
    categories_sync(store=store, trigger="test")
    carriers_refresh(store=store, trigger="test")
    store.refresh_from_db()
    return store


def product(store, sku: str, *, on_hand: int = 20, **extra):
    from catalogue.models import Product

    return Product.objects.create(store=store, sku=sku, name=f"Product {sku}", stock_on_hand=on_hand,
                                  stock_reserved=0, **extra)


def order(market, store, skus=("A",), *, state: str = "ToShip", quantity: int = 1):
    """An order on FNAC (``Created``: awaiting acceptance; ``ToShip``: paid), imported into the OMS."""
    from catalogue.models import Product
    from orders.models import Order
    from orders.services import orders_sync

    for sku in skus:
        if not Product.objects.filter(store=store, sku=sku).exists():
            product(store, sku, on_hand=50)
    order_id = market.add_order(state=state, lines=[{"sku": sku, "quantity": quantity} for sku in skus])
    orders_sync(store=store, mode="manual", trigger="test")
    return Order.objects.select_related("store").get(store=store, marketplace_order_id=order_id)


def updates_sent(market, order_id: str = "") -> list[str]:
    """The orders_update bodies FNAC received (for one order when ``order_id`` is given)."""
    bodies = [r.body.decode() for r in market.requests_for("orders_update")]
    return [b for b in bodies if order_id in b] if order_id else bodies
