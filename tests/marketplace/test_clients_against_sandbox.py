"""The connector's clients against the sandbox over real HTTP: every fault kind is survived on reads, and
writes are never blindly repeated when their outcome is unknown."""

from __future__ import annotations

import pytest

from fnac_connector.marketplace.errors import AuthError, BadResponse, Unavailable
from fnac_connector.marketplace.fnac import FnacClient
from fnac_connector.marketplace.fnac.types import LineUpdate, OrderUpdate
from fnac_connector.marketplace.mirakl import MiraklClient

# expired_token is covered by test_expired_token_is_renewed_transparently: one renewal per refused token is the
# rule, so a 30 % rate of refusals could legitimately refuse the renewed token too
READ_FAULTS = ["429", "500", "503", "slow", "drop", "truncated"]


def fnac(sandbox, **kw) -> FnacClient:
    c = sandbox.credentials
    return FnacClient(base_url=sandbox.fnac_url, partner_id=c.partner_id, shop_id=c.shop_id, key=c.key,
                      timeout=(2, 10), max_retries=kw.pop("max_retries", 8), sleep=lambda s: None, **kw)


@pytest.mark.parametrize("kind", READ_FAULTS)
def test_paged_offer_read_survives_each_fault_kind(sandbox, kind):
    sandbox.seed_offers(300)
    sandbox.faults.slow_range = (0.01, 0.05)
    client = fnac(sandbox)
    client.auth()
    sandbox.set_faults(0.3, [kind])
    skus = [o.offer_seller_id for o in client.iter_offers(page_size=50)]
    sandbox.set_faults(0.0)
    assert len(skus) == 300 and len(set(skus)) == 300
    assert any(r.fault == kind for r in sandbox.requests), f"the sandbox injected no {kind} fault"


@pytest.mark.parametrize("kind", ["429", "500", "503", "drop", "truncated"])
def test_mirakl_reads_survive_faults(sandbox, kind):
    client = MiraklClient(base_url=sandbox.mirakl_url, api_key=sandbox.credentials.mirakl_key, timeout=(2, 10),
                          max_retries=8, sleep=lambda s: None)
    sandbox.set_faults(0.5, [kind])
    codes = [h.code for h in client.hierarchies()]
    lists = client.values_lists()
    sandbox.set_faults(0.0)
    assert codes and any(v.code == "brands" for v in lists)
    assert any(r.fault == kind for r in sandbox.requests)


def test_expired_token_is_renewed_transparently(sandbox):
    client = fnac(sandbox)
    client.carriers_query()
    auths = len(sandbox.requests_for("auth"))
    sandbox.expire_tokens()
    carriers = client.carriers_query()
    assert carriers
    assert len(sandbox.requests_for("auth")) == auths + 1


def test_wrong_key_is_auth_error_with_code(sandbox):
    c = sandbox.credentials
    client = FnacClient(base_url=sandbox.fnac_url, partner_id=c.partner_id, shop_id=c.shop_id,
                        key="00000000-0000-0000-0000-000000000000", sleep=lambda s: None)
    with pytest.raises(AuthError) as err:
        client.auth()
    assert err.value.code == "ERR_097"


def _accept(order_id):
    return [OrderUpdate(order_id=order_id, action="accept_all_orders", lines=[LineUpdate(action="Accepted")])]


def test_write_retried_when_it_certainly_did_not_land(sandbox):
    order_id = sandbox.add_order(state="Created", lines=["SKU-000001"])
    client = fnac(sandbox)
    client.auth()
    sandbox.set_faults(1.0, ["503"])
    with pytest.raises(Unavailable):
        client.orders_update(_accept(order_id))
    sent = len(sandbox.requests_for("orders_update"))
    assert sent > 1  # 503 means "not processed": retried
    assert sandbox.state.orders[order_id].state == "Created"
    sandbox.set_faults(0.0)
    results = client.orders_update(_accept(order_id))
    assert results[0].ok and sandbox.state.orders[order_id].state == "Accepted"


@pytest.mark.parametrize("kind, exc", [("drop", Unavailable), ("truncated", BadResponse)])
def test_write_with_unknown_outcome_is_not_repeated(sandbox, kind, exc):
    order_id = sandbox.add_order(state="Created", lines=["SKU-000001"])
    client = fnac(sandbox)
    client.auth()
    sandbox.set_faults(1.0, [kind])
    with pytest.raises(exc):
        client.orders_update(_accept(order_id))
    sandbox.set_faults(0.0)
    assert len(sandbox.requests_for("orders_update")) == 1  # sent once, never blindly repeated
