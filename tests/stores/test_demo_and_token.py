"""Issue 11, defect 4: `make demo` prints the sandbox credentials and how to add a second sandbox store, its demo
store ships out of the box, and the printed API token works as pasted into Swagger's Authorize."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from stores.management.commands.demo_setup import DEMO_STORE, SECOND_SHOP_ID
from stores.models import Store

pytestmark = pytest.mark.django_db


def demo(sandbox) -> str:
    out = io.StringIO()
    call_command("demo_setup", "--sandbox-url", sandbox.base_url, "--web-url", "http://127.0.0.1:8000", stdout=out)
    return out.getvalue()


def printed_token(output: str) -> str:
    return next(line.split()[2] for line in output.splitlines() if "API token:" in line)


def test_demo_prints_the_sandbox_credentials_and_a_second_store(sandbox):
    output = demo(sandbox)
    creds = sandbox.credentials
    for value in (creds.partner_id, creds.shop_id, creds.key, creds.mirakl_key, f"{sandbox.base_url}/api.php/",
                  "http://127.0.0.1:8000/api/docs/"):
        assert value in output, value
    port = int(sandbox.base_url.rsplit(":", 1)[1])
    assert (f"manage.py run_sandbox --port {port + 1} --seed 2 --offers 300 --orders 40 --shop-id {SECOND_SHOP_ID}"
            in output)
    assert f"FNAC API URL:    http://127.0.0.1:{port + 1}/api.php/" in output
    assert SECOND_SHOP_ID != creds.shop_id


def test_the_demo_store_ships_out_of_the_box(sandbox, make_product, django_capture_on_commit_callbacks):
    from fulfilment.services import carriers_for_store, order_ready_to_ship
    from orders.models import Order
    from orders.services import orders_sync

    with django_capture_on_commit_callbacks(execute=True):  # what the demo's queue runs: the connect hooks
        demo(sandbox)
    store = Store.objects.get(name=DEMO_STORE)
    assert store.is_connected
    assert (store.default_carrier_code, store.carrier_adapter, store.sender_city) == (
        "SOCOLISSIMO", "sandbox", "Paris")
    # the default carrier is one FNAC lists (the product refuses any other before shipping)
    assert "SOCOLISSIMO" in set(carriers_for_store(store).values_list("code", flat=True))
    make_product(store, "A", on_hand=5)
    order_id = sandbox.add_order(state="ToShip", lines=[{"sku": "A", "quantity": 1}])
    orders_sync(store=store, mode="manual", trigger="test")
    order = Order.objects.get(store=store, marketplace_order_id=order_id)
    outcome = order_ready_to_ship(order=order)
    assert outcome.shipment is not None and outcome.shipment.tracking_number
    assert outcome.shipment.carrier_code == "SOCOLISSIMO"


def test_demo_keeps_a_sellers_shipping_edits(sandbox):
    demo(sandbox)
    Store.objects.filter(name=DEMO_STORE).update(default_carrier_code="UPS", sender_city="Lyon")
    demo(sandbox)
    store = Store.objects.get(name=DEMO_STORE)
    assert (store.default_carrier_code, store.sender_city) == ("UPS", "Lyon")


def test_demo_refuses_when_the_sandbox_shop_is_another_store(sandbox, make_store):
    make_store(name="Mine")  # the first store is on the sandbox's shop
    with pytest.raises(CommandError, match=f"Shop ID {sandbox.credentials.shop_id} is already connected as "
                                           "store 'Mine'"):
        demo(sandbox)
    assert not Store.objects.filter(name=DEMO_STORE).exists()


# ---------------------------------------------------------------- the token, as Swagger sends it
def test_the_schema_declares_a_bearer_scheme(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    # Swagger UI's Authorize then sends "Authorization: Bearer <what was pasted>"
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


@pytest.mark.parametrize("header", ["Bearer {key}", "Token {key}", "Bearer Token {key}", "bearer {key}"])
def test_the_printed_token_works_as_swagger_sends_it(api_client, sandbox, header):
    key = printed_token(demo(sandbox))
    response = api_client.get("/api/stores/", HTTP_AUTHORIZATION=header.format(key=key))
    assert response.status_code == 200, response.content
    assert [s["name"] for s in response.json()["results"]] == [DEMO_STORE]


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer", "Bearer a b"])
def test_a_bad_bearer_token_is_401(api_client, superuser, header):
    assert api_client.get("/api/stores/", HTTP_AUTHORIZATION=header).status_code == 401


def test_bad_bearer_tokens_count_towards_the_limit(api_client, db, settings):
    settings.API_TOKEN_FAILURE_LIMIT = 2
    for _ in range(2):
        assert api_client.get("/api/stores/", HTTP_AUTHORIZATION="Bearer nope").status_code == 401
    assert api_client.get("/api/stores/", HTTP_AUTHORIZATION="Bearer nope").status_code == 429
