"""Fault injection: every kind is observable, writes are applied or not as documented, log records faults."""

from __future__ import annotations

import time

import pytest
import requests
from lxml import etree

from fnac_sandbox.faults import APPLIES_WRITE, FAULT_KINDS
from fnac_sandbox.server import SandboxServer

from .wire import Fnac, offers_update_xml, q, signed_in

UPDATE = offers_update_xml([{"sku": "SKU-000001", "quantity": 4242}])


@pytest.fixture
def fsrv():
    with SandboxServer(port=0, seed=4, offers=10, orders=5) as server:
        server.faults.slow_range = (0.3, 0.4)
        yield server


@pytest.fixture
def fclient(fsrv):
    return signed_in(fsrv)


def _send_update(client):
    return client.post("offers_update", f"<offers_update {client.header()}>{UPDATE}</offers_update>")


@pytest.mark.parametrize("kind,status", [("429", 429), ("500", 500), ("503", 503)])
def test_http_error_faults_do_not_apply_writes(fsrv, fclient, kind, status):
    fsrv.set_faults(1.0, [kind])
    r = _send_update(fclient)
    assert r.status_code == status
    if kind in ("429", "503"):
        assert r.headers["Retry-After"] == "1"
    assert not fsrv.state.batches
    assert fsrv.state.offers["SKU-000001"].quantity != 4242
    assert fsrv.requests_for("offers_update")[-1].fault == kind
    assert fsrv.requests_for("offers_update")[-1].status == status
    assert APPLIES_WRITE[kind] is False


def test_drop_closes_without_answer_and_does_not_apply(fsrv, fclient):
    fsrv.set_faults(1.0, ["drop"])
    with pytest.raises(requests.ConnectionError):
        _send_update(fclient)
    assert not fsrv.state.batches
    rec = fsrv.requests_for("offers_update")[-1]
    assert (rec.fault, rec.status) == ("drop", 0)
    fsrv.set_faults(0.0)
    assert _send_update(fclient).status_code == 200  # the client recovers on a new connection


def test_truncated_applies_write_but_body_is_cut(fsrv, fclient):
    fsrv.set_faults(1.0, ["truncated"])
    r = _send_update(fclient)
    assert r.status_code == 200
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(r.content)
    assert len(fsrv.state.batches) == 1
    assert fsrv.state.offers["SKU-000001"].quantity == 4242
    assert fsrv.requests_for("offers_update")[-1].fault == "truncated"


def test_slow_applies_write_and_answers_late(fsrv, fclient):
    fsrv.set_faults(1.0, ["slow"])
    start = time.monotonic()
    r = _send_update(fclient)
    assert time.monotonic() - start >= 0.3
    assert etree.fromstring(r.content).get("status") == "OK"
    assert fsrv.state.offers["SKU-000001"].quantity == 4242


def test_slow_with_client_timeout_still_applies(fsrv, fclient):
    fsrv.faults.slow_range = (1.0, 1.0)
    fsrv.set_faults(1.0, ["slow"])
    with pytest.raises(requests.Timeout):
        fclient.session.post(
            fsrv.fnac_url + "offers_update",
            timeout=0.3,
            data=f"<offers_update {fclient.header()}>{UPDATE}</offers_update>",
        )
    time.sleep(1.0)
    assert fsrv.state.offers["SKU-000001"].quantity == 4242


def test_expired_token_fault(fsrv, fclient):
    fsrv.set_faults(1.0, ["expired_token"])
    r = _send_update(fclient)
    root = etree.fromstring(r.content)
    assert r.status_code == 200 and root.find(q("error")).get("code") == "ERR_097"
    assert not fsrv.state.batches
    # auth is never given an expired_token fault
    assert Fnac(fsrv).auth().get("status") == "OK"
    assert fsrv.requests_for("auth")[-1].fault is None


def test_mirakl_faults(fsrv):
    fsrv.set_faults(1.0, ["429"])
    r = requests.get(
        fsrv.mirakl_url + "/api/account", headers={"Authorization": fsrv.credentials.mirakl_key}, timeout=5
    )
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    r = requests.post(
        fsrv.mirakl_url + "/api/products/imports",
        timeout=5,
        headers={"Authorization": fsrv.credentials.mirakl_key},
        files={"file": ("p.csv", b"category;ean;title;brand\n", "text/csv")},
    )
    assert r.status_code == 429
    assert not fsrv.state.imports
    fsrv.set_faults(1.0, ["expired_token"])  # not applicable to Mirakl: no fault
    r = requests.get(
        fsrv.mirakl_url + "/api/account", headers={"Authorization": fsrv.credentials.mirakl_key}, timeout=5
    )
    assert r.status_code == 200


def test_control_endpoints_are_never_faulted(fsrv):
    fsrv.set_faults(1.0)
    for _ in range(10):
        assert requests.get(fsrv.base_url + "/sandbox/status", timeout=5).status_code == 200


def test_fault_rate_and_determinism():
    def run():
        with SandboxServer(port=0, seed=21, fault_rate=0.3, fault_kinds=["429", "500", "503"]) as server:
            session = requests.Session()
            codes = [
                session.get(
                    server.mirakl_url + "/api/account",
                    timeout=5,
                    headers={"Authorization": server.credentials.mirakl_key},
                ).status_code
                for _ in range(60)
            ]
            return codes, [r.fault for r in server.requests]

    codes_a, faults_a = run()
    codes_b, faults_b = run()
    assert codes_a == codes_b and faults_a == faults_b
    faulted = sum(1 for c in codes_a if c != 200)
    assert 5 <= faulted <= 35
    assert {f for f in faults_a if f} <= {"429", "500", "503"}


def test_set_faults_validates():
    with SandboxServer(port=0) as server:
        with pytest.raises(ValueError):
            server.set_faults(0.5, ["teapot"])
        with pytest.raises(ValueError):
            server.set_faults(1.5)
        server.set_faults(0.5, "429,drop")
        assert server.faults.kinds == ("429", "drop")
        server.set_faults(0.1)
        assert server.faults.kinds == FAULT_KINDS
