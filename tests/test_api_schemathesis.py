"""Schemathesis over every operation of the API (issue 9, item 11): no server error, every status code
declared, every answer conforming to the OpenAPI schema the app serves.

- The schema is loaded from the Django app itself (WSGI, ``/api/schema/``, which is public: see the README);
  each operation becomes one pytest test, so xdist spreads them over the workers.
- Calls go through the same WSGI app, authenticated as a superuser with a token from ``api_token_for``.
- Every test gets a small world made through the product's own services against the sandbox marketplace:
  a connected store with FNAC's carriers, a product without a category, an order imported from FNAC (status
  history without a user), a shipped order with its label, a WMS event and delivery, an Excel upload. Every
  other case has its path ids replaced by real ones, so operations are exercised on objects that exist as
  well as on ids that do not.
- Phases: the schema's examples, schemathesis's coverage phase (boundary and invalid values, unexpected
  methods) and a bounded fuzzing phase; a fixed seed and ``MAX_EXAMPLES`` keep the run reproducible and
  around a minute on two cores.
- A 5xx fails, except a 502 an operation declares (FNAC or the carrier refused: the marketplace's answer,
  passed on); every status must be declared; every body must match its declared schema.
Nothing is excluded.
"""

from __future__ import annotations

import io
import itertools
from decimal import Decimal

import openpyxl
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fnac_connector.wsgi import application
from tests.conftest import api_token_for

pytestmark = pytest.mark.django_db

SEED = 20250309
MAX_EXAMPLES = 10

CONFIG = SchemathesisConfig.from_dict({
    "seed": SEED,
    "cache": {"enabled": False},
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    # a 502 is the marketplace's refusal passed on; status_code_conformance checks the operation declares it
    "checks": {"not_a_server_error": {"expected-statuses": ["1xx", "2xx", "3xx", "4xx", 502]}},
})
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)


def _workbook() -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "products"
    ws.append(["sku", "ean", "title", "price", "quantity"])
    ws.append(["XL-1", "123", "Bad row", "abc", "2"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def _same_db_connection():
    """The WSGI app is called directly (not through Django's test client), so, as the test client does, keep
    Django from closing the test's database connection at the end of each request (PostgreSQL)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_world(_same_db_connection, superuser, connected_store, sandbox, make_product):
    """Real rows for the ids in the paths, made by the product's services; returns the ids by kind."""
    from catalogue.excel import upload_validate
    from fulfilment.carriers import carriers_refresh
    from fulfilment.models import Shipment, WmsDelivery, WmsEvent
    from fulfilment.shipping import order_ready_to_ship
    from fulfilment.wms_events import wms_events_receive
    from orders.models import Order
    from orders.services import orders_sync
    from stores.models import Store, SyncRun

    Store.objects.filter(pk=connected_store.pk).update(
        sender_name="Entrepôt", sender_address1="1 rue de la Paix", sender_zipcode="75002", sender_city="Paris",
        sender_country="FRA", default_carrier_code="SOCOLISSIMO", wms_enabled=True,
        wms_webhook_url="http://127.0.0.1:9/wms", wms_secret="schema-wms-secret")
    store = Store.objects.get(pk=connected_store.pk)
    carriers_refresh(store=store, trigger="test")
    product = make_product(store, "SCHEMA-A", on_hand=50, price=Decimal("19.90"))
    make_product(store, "SCHEMA-B", on_hand=50, price=Decimal("9.90"))
    open_id = sandbox.add_order(state="ToShip", lines=[{"sku": "SCHEMA-A", "quantity": 1}])
    shipped_id = sandbox.add_order(state="ToShip", lines=[{"sku": "SCHEMA-B", "quantity": 1}])
    orders_sync(store=store, mode="manual", trigger="test")
    shipped = Order.objects.get(store=store, marketplace_order_id=shipped_id)
    order_ready_to_ship(order=shipped, user=superuser, trigger="test")
    wms_events_receive(store=store, events=[{"event_id": "schema-1", "type": "picked", "order_id": open_id}])
    upload = upload_validate(store=store, content=_workbook(), filename="schema.xlsx")
    ids = {
        "store": store.pk, "product": product.pk, "order": Order.objects.get(marketplace_order_id=open_id).pk,
        "shipped_order": shipped.pk, "shipment": Shipment.objects.get(order=shipped).pk,
        "run": SyncRun.objects.filter(store=store).order_by("pk").first().pk, "upload": upload.pk,
        "delivery": WmsDelivery.objects.filter(store=store).values_list("pk", flat=True).first() or 0,
        "event": WmsEvent.objects.filter(store=store).values_list("pk", flat=True).first() or 0,
    }
    # every other case of this test gets real ids (counted per test, so the choice does not depend on which
    # xdist worker ran which tests before)
    return {"ids": ids, "token": api_token_for(superuser), "every_other": itertools.count()}


# path prefix -> the kind of id its parameters take (longest prefix first)
ID_KINDS = [
    ("/api/orders/{id}/label/", "shipped_order"), ("/api/orders/{id}/retry-shipment-confirmation/", "shipped_order"),
    ("/api/stores/", "store"), ("/api/sync-runs/", "run"), ("/api/products/import/", "upload"),
    ("/api/products/", "product"), ("/api/orders/", "order"), ("/api/shipments/", "shipment"),
    ("/api/wms/deliveries/", "delivery"), ("/api/wms/event-log/", "event"),
]


def _with_real_ids(case, ids: dict, counter) -> None:
    if not case.path_parameters or next(counter) % 2:
        return
    template = case.operation.path
    kind = next((k for prefix, k in ID_KINDS if template.startswith(prefix)), None)
    for name in case.path_parameters:
        if name in ("id", "pk", "upload_id") and kind:
            case.path_parameters[name] = ids[kind]


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # the world is shared by the cases on purpose
def test_api_operation(case, api_world):
    _with_real_ids(case, api_world["ids"], api_world["every_other"])
    case.call_and_validate(headers={"Authorization": f"Token {api_world['token']}"}, checks=CHECKS)
