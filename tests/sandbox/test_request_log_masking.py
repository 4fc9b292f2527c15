"""The sandbox's request log (served without login) never holds a key or a token in full (issue 9, item 5)."""

from __future__ import annotations

import json

import pytest
import requests
from lxml import etree

from fnac_sandbox.redact import mask, mask_body
from stores.clients import fnac_client_for

from .wire import NS, Fnac, q


def _served_log(server) -> str:
    return json.dumps(requests.get(f"{server.base_url}/sandbox/requests", timeout=5).json())


def _kept_log(server) -> str:
    return "\n".join(r.body.decode() + json.dumps(r.query) for r in server.requests)


@pytest.mark.django_db
def test_no_key_or_token_in_the_request_log_after_a_connect(connected_store, sandbox):
    creds = sandbox.credentials
    assert fnac_client_for(connected_store).carriers_query()  # a call with the token the connect cached
    connected_store.refresh_from_db()
    token = connected_store.fnac_token
    assert token and connected_store.status == "connected"
    auth = sandbox.requests_for("auth")
    assert auth, "the connect authenticated against the sandbox"
    for log in (_kept_log(sandbox), _served_log(sandbox)):
        assert creds.key not in log
        assert creds.mirakl_key not in log
        assert token not in log
    # what is kept still tells which key and token were sent, and still parses
    root = etree.fromstring(auth[0].body)
    assert root.findtext(q("key")) == "****" + creds.key[-4:]
    assert root.findtext(q("partner_id")) == creds.partner_id
    others = [r for r in sandbox.requests if r.api == "fnac" and r.service != "auth"]
    assert others, "the connect made a call with the token"
    assert all(etree.fromstring(r.body).get("token") == "****" + token[-4:] for r in others)


def test_a_wrong_key_sent_to_the_sandbox_is_masked_too(srv):
    real_looking_key = "9d4e1c2b-7a6f-4e3d-8c2b-1a0f9e8d7c6b"
    root = Fnac(srv).auth(key=real_looking_key)
    assert root.get("status") == "ERROR"  # refused as before: masking changes only what is kept
    for log in (_kept_log(srv), _served_log(srv)):
        assert real_looking_key not in log
        assert "****7c6b" in log


def test_the_sandbox_answers_from_the_unmasked_body(srv, fnac):
    root = fnac.call("carriers_query", "<query>all</query>")
    assert root.get("status") == "OK"
    logged = srv.requests_for("carriers_query")[-1]
    assert fnac.token not in logged.body.decode()
    assert b"<query>all</query>" in logged.body


def test_credential_query_parameters_are_masked(srv):
    requests.get(f"{srv.mirakl_url}/api/account", params={"api_key": srv.credentials.mirakl_key, "max": "10"},
                 headers={"Authorization": srv.credentials.mirakl_key}, timeout=5)
    logged = srv.requests_for("/api/account")[-1]
    assert logged.query == {"api_key": "****" + srv.credentials.mirakl_key[-4:], "max": "10"}
    assert srv.credentials.mirakl_key not in _served_log(srv)


@pytest.mark.parametrize("body, expected", [
    (f'<auth xmlns="{NS}"><key>c0ffee00-5a9d-4b1e-9f3c-7e6d5c4b3a21</key></auth>'.encode(),
     f'<auth xmlns="{NS}"><key>****3a21</key></auth>'.encode()),
    (b'<f:auth xmlns:f="x"><f:key >abcdef0123456789</f:key></f:auth>',
     b'<f:auth xmlns:f="x"><f:key >****6789</f:key></f:auth>'),
    (b"<orders_query token='0f1e2d3c-aaaa-bbbb' partner_id=\"p\"/>",
     b"<orders_query token='****bbbb' partner_id=\"p\"/>"),
    (b"<auth><key>short</key></auth>", b"<auth><key>****</key></auth>"),
    (b"<r><token>0f1e2d3c-aaaa-bbbb</token></r>", b"<r><token>****bbbb</token></r>"),
    (b"<r><f:TOKEN>0f1e2d3c-aaaa-bbbb</f:TOKEN></r>", b"<r><f:TOKEN>****bbbb</f:TOKEN></r>"),
    (b"<auth><key></key></auth>", b"<auth><key></key></auth>"),
    (b"<offers_update><offer><offer_reference>key</offer_reference></offer></offers_update>",
     b"<offers_update><offer><offer_reference>key</offer_reference></offer></offers_update>"),
])
def test_mask_body(body, expected):
    assert mask_body(body) == expected


def test_mask_keeps_only_the_last_four_characters():
    assert mask("c0ffee00-5a9d-4b1e-9f3c-7e6d5c4b3a21") == "****3a21"
    assert mask("1234567") == "****"
    assert mask("") == ""
