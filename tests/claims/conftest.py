"""Fixtures for claims tests: a store on the sandbox, shipped orders imported over HTTP, a client that keeps every
body it sends (so each request is checked against FNAC's per-service XSD)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from lxml import etree

XSD_DIR = Path(__file__).resolve().parents[2] / "fnac_connector" / "marketplace" / "fnac" / "xsd"
SERVICE_XSD = {"incidents_query": "IncidentsQueryService.xsd", "incidents_update": "IncidentsUpdateService.xsd",
               "orders_update": "OrdersUpdateService.xsd", "orders_query": "OrdersQueryService.xsd",
               "auth": "AuthenticationService.xsd"}


@cache
def schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / name)))


def assert_valid(service: str, body: bytes) -> None:
    doc = etree.fromstring(body)
    xsd = schema(SERVICE_XSD[service])
    assert xsd.validate(doc), f"{service}: {xsd.error_log}"


class Wire:
    """The bodies a FnacClient sent, per service."""

    def __init__(self):
        self.sent: list[tuple[str, bytes]] = []

    def hook(self, response, *args, **kwargs):
        service = response.request.url.rstrip("/").rsplit("/", 1)[-1]
        body = response.request.body
        self.sent.append((service, body if isinstance(body, bytes) else (body or "").encode()))

    def of(self, service: str) -> list[bytes]:
        return [body for name, body in self.sent if name == service]

    def assert_all_valid(self) -> int:
        for service, body in self.sent:
            if service in SERVICE_XSD:
                assert_valid(service, body)
        return len(self.sent)


@pytest.fixture
def wire():
    return Wire()


@pytest.fixture
def client(connected_store, wire):
    from stores.clients import fnac_client_for

    c = fnac_client_for(connected_store)
    c.transport.session.hooks["response"].append(wire.hook)
    return c


@pytest.fixture
def shipped_order(connected_store, sandbox, client, make_product):
    """``shipped_order(lines=[{"sku":..., "quantity":...}], state="Shipped")``: an order on the sandbox, imported
    here over HTTP (orders_sync), returned as the local Order."""
    from orders.models import Order
    from orders.services import orders_sync

    def _make(lines=None, state="Shipped", products=True):
        lines = lines or [{"sku": "SKU-A", "quantity": 1, "price": "20.00"}, {"sku": "SKU-B", "quantity": 2,
                                                                              "price": "15.00"}]
        if products:
            for spec in lines:
                if not connected_store.products.filter(sku=spec["sku"]).exists():
                    make_product(connected_store, spec["sku"], on_hand=10)
        order_id = sandbox.add_order(state="Created", lines=lines)
        sandbox.set_order_state(order_id, state)
        orders_sync(store=connected_store, mode="manual", trigger="test", client=client)
        return Order.objects.get(store=connected_store, marketplace_order_id=order_id)

    return _make
