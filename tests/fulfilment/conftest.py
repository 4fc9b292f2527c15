"""Fixtures for fulfilment: a connected store ready to ship, paid orders, a tiny WMS on a thread, signed events."""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

WMS_SECRET = "wms-shared-secret-for-tests-0123456789"


@pytest.fixture(autouse=True)
def _fresh_carrier_registry():
    from fnac_connector.carriers import registry

    registry.reset()
    yield
    registry.reset()


@pytest.fixture
def ship_store(connected_store):
    """A connected store with a sender address, a default carrier and FNAC's carrier list loaded."""
    from fulfilment.carriers import carriers_refresh
    from stores.models import Store

    Store.objects.filter(pk=connected_store.pk).update(
        sender_name="Entrepôt Martin", sender_address1="12 rue de la Paix", sender_zipcode="75002",
        sender_city="Paris", sender_country="FRA", default_carrier_code="SOCOLISSIMO")
    connected_store.refresh_from_db()
    carriers_refresh(store=connected_store, trigger="test")
    return connected_store


@pytest.fixture
def paid_order(sandbox, ship_store, make_product):
    """``paid_order(["A", "B"])``: a ToShip order on FNAC, imported into the OMS as New (stock reserved)."""
    from orders.models import Order
    from orders.services import orders_sync

    def _make(skus=("A",), *, store=None, quantity=1, state="ToShip"):
        store = store or ship_store
        from catalogue.models import Product

        for sku in skus:
            if not Product.objects.filter(store=store, sku=sku).exists():
                make_product(store, sku, on_hand=50)
        order_id = sandbox.add_order(state=state, lines=[{"sku": sku, "quantity": quantity} for sku in skus])
        orders_sync(store=store, mode="manual", trigger="test")
        return Order.objects.select_related("store").get(store=store, marketplace_order_id=order_id)

    return _make


def updates_sent(sandbox) -> list[str]:
    return [r.body.decode() for r in sandbox.requests_for("orders_update")]


# ---------------------------------------------------------------- a WMS on a thread
class FakeWms:
    """Records every request; answers the statuses queued in ``statuses`` (then 200)."""

    def __init__(self):
        self.received: list[dict] = []
        self.statuses: list[int] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with fake._lock:
                    status = fake.statuses.pop(0) if fake.statuses else 200
                    fake.received.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                          "status": status})
                payload = b'{"ok": true}' if status < 300 else b'{"error": "down"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hooks/fnac"

    def json(self, index: int) -> dict:
        return json.loads(self.received[index]["body"])

    def of_type(self, kind: str) -> list[dict]:
        return [json.loads(r["body"]) for r in self.received if r["status"] < 300
                and json.loads(r["body"])["type"] == kind]


@contextlib.contextmanager
def running_wms():
    """A FakeWms serving on its thread for the time of the ``with`` block."""
    server = FakeWms()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture
def wms():
    with running_wms() as server:
        yield server


@pytest.fixture
def wms_store(ship_store, wms):
    from stores.models import Store

    store = Store.objects.get(pk=ship_store.pk)
    store.wms_enabled, store.wms_webhook_url, store.wms_secret = True, wms.url, WMS_SECRET
    store.save()
    store.refresh_from_db()
    return store


@pytest.fixture
def post_event(api_client):
    """Send a signed WMS event (or batch) the way a WMS would; returns the response."""
    from fulfilment.signing import signature_for

    def _post(store, body: dict, *, secret: str = WMS_SECRET, sign: bool = True, sent_at=None, raw: bytes | None = None,
              headers: dict | None = None):
        body = dict(body)
        body.setdefault("sent_at", (sent_at or timezone.now()).isoformat())
        data = raw if raw is not None else json.dumps(body).encode()
        extra = {"HTTP_X_STORE_ID": str(store.pk)}
        if sign:
            extra["HTTP_X_SIGNATURE"] = signature_for(secret, data)
        extra.update(headers or {})
        return api_client.post("/api/wms/events/", data=data, content_type="application/json", **extra)

    return _post

from tests.carriers.carrier_http import carrier_web  # noqa: E402,F401  (issue 13: the fake carrier web for karrio)
