"""Request log, control endpoints, management command."""

from __future__ import annotations

import io

import pytest
import requests
from django.core.management import CommandError

from fnac_sandbox.server import DEFAULT_KEY, DEFAULT_PARTNER_ID, SandboxServer

from .wire import Fnac, offers_update_xml


def test_request_log(srv, fnac):
    fnac.call("offers_update", offers_update_xml([{"sku": "SKU-000001", "quantity": 1}]))
    fnac.call("orders_query")
    requests.get(
        srv.mirakl_url + "/api/hierarchies", headers={"Authorization": srv.credentials.mirakl_key}, timeout=5
    )
    log = srv.requests
    assert [r.service for r in log] == ["auth", "offers_update", "orders_query", "H11"]
    assert [r.api for r in log] == ["fnac", "fnac", "fnac", "mirakl"]
    update = srv.requests_for("offers_update")[0]
    assert b"SKU-000001" in update.body and update.method == "POST" and update.status == 200
    assert update.fault is None and update.at.tzinfo is not None
    assert srv.requests_for("/api/hierarchies")[0].service == "H11"
    srv.clear_requests()
    assert srv.requests == []


def test_control_status_and_requests(srv, fnac):
    base = srv.base_url
    status = requests.get(f"{base}/sandbox/status", timeout=5).json()
    assert status["offers"] == 50 and status["orders"] == 40
    assert status["credentials"]["partner_id"] == DEFAULT_PARTNER_ID
    assert status["credentials"]["key"] == DEFAULT_KEY
    assert status["fnac_url"] == srv.fnac_url
    fnac.call("orders_query")
    data = requests.get(f"{base}/sandbox/requests", params={"service": "orders_query"}, timeout=5).json()
    assert [r["service"] for r in data["requests"]] == ["orders_query"]
    assert "<orders_query" in data["requests"][0]["body"]
    last = data["last_seq"]
    fnac.call("orders_query")
    newer = requests.get(f"{base}/sandbox/requests", params={"since": last, "body": "0"}, timeout=5).json()
    assert len(newer["requests"]) == 1 and "body" not in newer["requests"][0]


def test_control_faults_seed_tick_reset(srv):
    base = srv.base_url
    r = requests.post(f"{base}/sandbox/faults", json={"rate": 0.2, "kinds": ["429", "slow"]}, timeout=5)
    assert r.json() == {"rate": 0.2, "kinds": ["429", "slow"]}
    assert (
        requests.post(f"{base}/sandbox/faults", json={"rate": 0.2, "kinds": ["nope"]}, timeout=5).status_code
        == 400
    )
    requests.post(f"{base}/sandbox/faults", json={"rate": 0}, timeout=5)
    status = requests.post(f"{base}/sandbox/seed", json={"offers": 10, "orders": 5}, timeout=5).json()
    assert (status["offers"], status["orders"]) == (60, 45)
    assert "SKU-000060" in srv.state.offers
    tick = requests.post(f"{base}/sandbox/tick", json={"seconds": 1800}, timeout=5).json()
    assert tick["events"]["new_orders"] >= 5
    status = requests.post(f"{base}/sandbox/reset", timeout=5).json()
    assert (status["offers"], status["orders"]) == (0, 0)
    assert srv.requests == [] or all(r.api == "control" for r in srv.requests)


def test_control_orders(srv):
    base = srv.base_url
    created = requests.post(
        f"{base}/sandbox/orders", json={"state": "Accepted", "lines": ["SKU-000001"]}, timeout=5
    )
    assert created.status_code == 201
    oid = created.json()["order_id"]
    r = requests.post(f"{base}/sandbox/orders/{oid}/state", json={"state": "ToShip"}, timeout=5)
    assert r.status_code == 200 and r.json()["state"] == "ToShip"
    assert srv.state.orders[oid].lines[0].state == "ToShip"
    assert requests.get(f"{base}/sandbox/orders/{oid}", timeout=5).json()["lines"][0]["sku"] == "SKU-000001"
    assert (
        requests.post(
            f"{base}/sandbox/orders/XXXXXXXXXXXXX/state", json={"state": "ToShip"}, timeout=5
        ).status_code
        == 404
    )
    assert (
        requests.post(f"{base}/sandbox/orders/{oid}/state", json={"state": "Nope"}, timeout=5).status_code
        == 400
    )
    assert requests.get(f"{base}/sandbox/unknown", timeout=5).status_code == 404
    control = [r for r in srv.requests if r.api == "control"]
    assert control and control[0].path == "/sandbox/orders"


def test_reset_then_reseed_is_deterministic(srv):
    before = [(o.sku, o.ean, o.offer_fnac_id) for o in srv.state.offers.values()]
    srv.reset()
    srv.seed_offers(50)
    after = [(o.sku, o.ean, o.offer_fnac_id) for o in srv.state.offers.values()]
    assert before == after


def test_simulate_thread_ticks():
    with SandboxServer(port=0, seed=2, simulate=True, simulate_interval=0.05) as server:
        oid = server.add_order(state="Accepted")
        server.simulator.profile.payment_delay = 0
        import time

        deadline = time.monotonic() + 5
        while server.state.orders[oid].state != "ToShip" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.state.orders[oid].state == "ToShip"


def test_keep_alive_connection_reused(srv):
    session = requests.Session()
    client = Fnac(srv, session)
    client.auth()
    for _ in range(5):
        client.call("carriers_query", "<query>all</query>")
    pool = next(iter(session.adapters["http://"].poolmanager.pools._container.values()))
    assert pool.num_connections == 1


def test_run_sandbox_command():
    """The command runs without a database and without Django settings (thin door around SandboxServer)."""
    from fnac_sandbox.management.commands.run_sandbox import Command

    out = io.StringIO()
    command = Command(stdout=out)
    options = command.create_parser("manage.py", "run_sandbox").parse_args(
        ["--port", "0", "--offers", "5", "--run-for", "0.3", "--no-simulate", "--fault-kinds", "429,slow",
         "--batch-delay", "180", "--batch-jitter", "0.5"]
    )
    assert command.requires_system_checks == []
    command.handle(**vars(options))
    text = out.getvalue()
    assert "/api.php/" in text and DEFAULT_PARTNER_ID in text and "5 offers" in text and "429,slow" in text
    assert "batches final after 180 s ± 50%" in text
    options.batch_jitter = 1.0
    with pytest.raises(CommandError, match="batch_jitter must be in"):
        command.handle(**vars(options))


def test_parallel_clients(srv):
    from concurrent.futures import ThreadPoolExecutor

    def work(i):
        client = Fnac(srv)
        client.auth()
        statuses = []
        for page in range(1, 4):
            statuses.append(
                client.call("offers_query", f"<paging>{page}</paging>", 'results_count="20"').get("status")
            )
            statuses.append(
                client.call(
                    "offers_update", offers_update_xml([{"sku": f"SKU-{i + 1:06d}", "quantity": page}])
                ).get("status")
            )
        return statuses

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(8)))
    assert all(s == "OK" for statuses in results for s in statuses)
    assert all(srv.state.offers[f"SKU-{i + 1:06d}"].quantity == 3 for i in range(8))
