"""FNAC XML API of the sandbox, over real HTTP with requests + lxml."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
from lxml import etree

from fnac_sandbox.server import SandboxCredentials, SandboxServer

from .wire import NS, Fnac, assert_valid_response, offers_update_xml, q, texts


# ---------------------------------------------------------------- auth
def test_auth_ok_returns_token_and_validity(srv):
    client = Fnac(srv)
    root = client.auth()
    assert root.get("status") == "OK"
    assert len(root.findtext(q("token"))) == 36
    assert root.findtext(q("validity"))[-6:] in ("+01:00", "+02:00")
    assert_valid_response("auth", etree.tostring(root))


def test_auth_wrong_key_is_err097_with_http_200(srv):
    root = Fnac(srv).auth(key="not-the-key")
    assert root.get("status") == "ERROR"
    err = root.find(q("error"))
    assert err.get("code") == "ERR_097" and err.get("severity") == "ERROR"
    assert root.find(q("token")) is None
    assert_valid_response("auth", etree.tostring(root))


def test_unknown_token_is_err097(fnac):
    fnac.token = "00000000-0000-4000-8000-000000000000"
    root = fnac.call("offers_query")
    assert root.get("status") == "FATAL"
    assert root.find(q("error")).get("code") == "ERR_097"


def test_expire_tokens_then_reauth(fnac, srv):
    assert fnac.call("offers_query").get("status") == "OK"
    srv.expire_tokens()
    assert fnac.call("offers_query").find(q("error")).get("code") == "ERR_097"
    fnac.auth()
    assert fnac.call("offers_query").get("status") == "OK"


def test_token_ttl_expires(make_srv):
    server = make_srv(token_ttl=2.0)
    client = Fnac(server)
    client.auth()
    assert client.call("carriers_query", "<query>all</query>").get("status") == "OK"
    time.sleep(2.2)
    root = client.call("carriers_query", "<query>all</query>")
    assert root.find(q("error")).get("code") == "ERR_097"


def test_custom_credentials(make_srv):
    creds = SandboxCredentials(
        partner_id="11111111-2222-3333-4444-555555555555",
        shop_id="66666666-7777-8888-9999-000000000000",
        key="k",
        mirakl_key="m",
    )
    server = make_srv(credentials=creds)
    assert Fnac(server).auth().get("status") == "OK"
    assert server.status()["credentials"]["key"] == "k"


def test_wrong_shop_id_on_a_service_is_err097(fnac, srv):
    body = (
        f'<offers_query xmlns="{NS}" partner_id="{srv.credentials.partner_id}" '
        f'shop_id="00000000-0000-0000-0000-000000000000" token="{fnac.token}"/>'
    )
    root = etree.fromstring(fnac.post("offers_query", body).content)
    assert root.find(q("error")).get("code") == "ERR_097"


# ---------------------------------------------------------------- validation
def test_invalid_request_is_refused_whole_err096(fnac):
    root = etree.fromstring(fnac.post("offers_query", f'<offers_query xmlns="{NS}"/>').content)
    assert root.get("status") == "ERROR"
    assert root.find(q("error")).get("code") == "ERR_096"
    assert root.findtext(q("error")).startswith("XML Validation failed: ")
    root = etree.fromstring(fnac.post("orders_query", b"<orders_query").content)
    assert root.get("status") == "ERROR" and root.find(q("error")).get("code") == "ERR_096"
    root = etree.fromstring(fnac.post("orders_query", f"<offers_query {fnac.header()}/>").content)
    assert root.find(q("error")).get("code") == "ERR_096"


def test_unimplemented_and_unknown_services(fnac):
    root = etree.fromstring(fnac.post("shop_invoices_query", f"<shop_invoices_query {fnac.header()}/>").content)
    assert root.get("status") == "ERROR" and root.find(q("error")).get("code") == "ERR_102"
    root = etree.fromstring(fnac.post("nope", "<nope/>").content)
    assert root.find(q("error")).get("code") == "ERR_101"


def test_get_on_fnac_service_is_405(srv):
    import requests

    assert requests.get(srv.fnac_url + "auth", timeout=5).status_code == 405


# ---------------------------------------------------------------- offers_query
def test_offers_query_paging_totals(fnac, srv):
    seen = []
    for page in (1, 2, 3, 4):
        root = fnac.call("offers_query", f"<paging>{page}</paging>", 'results_count="20"')
        assert root.findtext(q("page")) == str(page)
        assert root.findtext(q("total_paging")) == "3"
        assert root.findtext(q("nb_total_per_page")) == "20"
        assert root.findtext(q("nb_total_result")) == "50"
        seen += texts(root, "f:offer/f:offer_seller_id")
        assert len(root.findall(q("offer"))) == {1: 20, 2: 20, 3: 10, 4: 0}[page]
    assert len(seen) == len(set(seen)) == 50
    assert set(seen) == set(srv.state.offers)


def test_offers_query_fields(fnac, srv):
    offer = fnac.call("offers_query", "<offer_seller_id>SKU-000007</offer_seller_id>").find(q("offer"))
    stored = srv.state.offers["SKU-000007"]
    assert offer.findtext(q("offer_fnac_id")) == stored.offer_fnac_id
    # only what FNAC sends (recorded): no ean, no update date
    assert offer.find(q("ean")) is None and offer.find(q("updated_at")) is None
    assert {el.tag.rsplit("}", 1)[-1] for el in offer} <= {
        "product_name", "product_fnac_id", "offer_fnac_id", "offer_seller_id", "product_state", "price",
        "fee_excluding_taxes", "fee_including_all_taxes", "quantity", "description", "internal_comment",
        "product_url", "image", "nb_messages", "showcase", "time_to_ship"}
    assert Decimal(offer.findtext(q("price"))) == stored.price
    assert Decimal(offer.findtext(q("fee_excluding_taxes"))) == (stored.price * Decimal("0.15")).quantize(
        Decimal("0.01")
    )
    for name in (
        "product_name",
        "product_fnac_id",
        "fee_including_all_taxes",
        "product_state",
        "quantity",
        "description",
        "internal_comment",
        "product_url",
        "image",
    ):
        assert offer.find(q(name)) is not None, name


def test_offers_query_results_count_capped_at_1000(make_srv):
    server = make_srv(offers=1200)
    client = Fnac(server)
    root = client.call("offers_query", "", 'results_count="5000"')
    assert root.findtext(q("nb_total_per_page")) == "1000"
    assert root.findtext(q("total_paging")) == "2"
    assert len(root.findall(q("offer"))) == 1000


def test_offers_query_filters(fnac, srv):
    root = fnac.call(
        "offers_query",
        "<offer_seller_id>SKU-000003</offer_seller_id><offer_seller_id>SKU-000004</offer_seller_id>",
    )
    assert sorted(texts(root, "f:offer/f:offer_seller_id")) == ["SKU-000003", "SKU-000004"]
    zero = sum(1 for o in srv.state.offers.values() if o.quantity == 0)
    root = fnac.call("offers_query", '<quantity mode="Equals" value="0"/>', 'results_count="100"')
    assert root.findtext(q("nb_total_result")) == str(zero)
    root = fnac.call("offers_query", '<quantity mode="GreaterThan" value="0"/>', 'results_count="100"')
    assert root.findtext(q("nb_total_result")) == str(50 - zero)
    # Modified date: only the offer changed now. The sandbox's dates are whole seconds, so "now" is read before
    # the change (a second boundary between the change and the read would put the change before it), and the
    # clock first moves a minute on so that no seeded offer shares that second.
    srv.clock.advance(60)
    since = srv.clock.now().isoformat()
    fnac.call("offers_update", offers_update_xml([{"sku": "SKU-000010", "quantity": 3}]), validate=False)
    root = fnac.call("offers_query", f'<date type="Modified"><min>{since}</min></date>')
    assert texts(root, "f:offer/f:offer_seller_id") == ["SKU-000010"]
    root = fnac.call("offers_query", f'<date type="Created"><min>{since}</min></date>')
    assert root.findtext(q("nb_total_result")) == "0"


def test_duplicate_skus(make_srv):
    server = make_srv()
    server.seed_offers(30, duplicate_skus=3)
    client = Fnac(server)
    root = client.call("offers_query", "", 'results_count="100"')
    skus = texts(root, "f:offer/f:offer_seller_id")
    ids = texts(root, "f:offer/f:offer_fnac_id")
    assert root.findtext(q("nb_total_result")) == "33"
    assert len(set(skus)) == 30 and len(set(ids)) == 33
    assert sum(1 for s in set(skus) if skus.count(s) == 2) == 3


def test_seeding_is_deterministic(make_srv):
    a, b = make_srv(seed=11, offers=20), make_srv(seed=11, offers=20)
    assert [(o.sku, o.ean, o.price, o.offer_fnac_id) for o in a.state.offers.values()] == [
        (o.sku, o.ean, o.price, o.offer_fnac_id) for o in b.state.offers.values()
    ]
    c = make_srv(seed=12, offers=20)
    assert [o.ean for o in a.state.offers.values()] != [o.ean for o in c.state.offers.values()]


# ---------------------------------------------------------------- offers_update / batch_status
def _batch_status(client, batch_id):
    return client.call("batch_status", f"<batch_id>{batch_id}</batch_id>")


def test_offers_update_async_batch(make_srv):
    server = make_srv(offers=5, batch_delay=1.5)
    client = Fnac(server)
    root = client.call(
        "offers_update", offers_update_xml([{"sku": "SKU-000001", "price": "12.50", "quantity": 7}])
    )
    assert root.get("status") == "OK"
    batch_id = root.findtext(q("batch_id"))
    assert _batch_status(client, batch_id).get("status") == "ACTIVE"
    assert server.state.offers["SKU-000001"].price != Decimal("12.50")  # not applied before the batch says so
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        final = _batch_status(client, batch_id)
        seen.append(final.get("status"))
        if seen[-1] not in ("ACTIVE", "RUNNING"):
            break
        time.sleep(0.05)
    assert "RUNNING" in seen and seen.index("RUNNING") < len(seen) - 1
    assert final.get("status") == "OK"
    # recorded from FNAC's sandbox: an OK batch answers with its batch_id only, no per-offer line
    assert [el.tag for el in final] == [q("batch_id")] and final.findtext(q("batch_id")) == batch_id
    offer = server.state.offers["SKU-000001"]
    assert (offer.price, offer.quantity) == (Decimal("12.50"), 7)


def test_batch_durations_spread_by_the_jitter_drawn_from_the_seed(make_srv):
    server = make_srv(batch_delay=180, batch_jitter=0.5)
    durations = [server.batch_duration() for _ in range(200)]
    assert all(90 <= d <= 270 for d in durations)
    assert min(durations) < 120 and max(durations) > 240  # spread over the whole range, not one value
    same_seed = make_srv(batch_delay=180, batch_jitter=0.5)
    assert [same_seed.batch_duration() for _ in range(200)] == durations
    no_jitter = make_srv(batch_delay=180)
    assert {no_jitter.batch_duration() for _ in range(5)} == {180}  # no jitter: exactly the delay
    assert make_srv(batch_jitter=0.5).batch_duration() == 0  # no delay: applied at once
    with pytest.raises(ValueError, match="batch_jitter"):
        SandboxServer(batch_jitter=1.0)
    assert server.status()["batch_jitter"] == 0.5


def test_a_batch_that_takes_minutes_is_active_then_running_then_final(make_srv):
    server = make_srv(offers=5, batch_delay=180, batch_jitter=0.5)
    client = Fnac(server)
    root = client.call("offers_update", offers_update_xml([{"sku": "SKU-000001", "price": "12.50", "quantity": 7}]))
    batch_id = root.findtext(q("batch_id"))
    batch = server.state.batches[batch_id]
    duration = batch.due_mono - batch.created_mono
    assert 90 <= duration <= 270
    assert _batch_status(client, batch_id).get("status") == "ACTIVE"
    # simulated time instead of waiting minutes: move the batch's clock
    batch.created_mono -= duration * 0.6
    batch.due_mono -= duration * 0.6
    assert _batch_status(client, batch_id).get("status") == "RUNNING"
    assert server.state.offers["SKU-000001"].price != Decimal("12.50")  # not applied before the batch says so
    batch.created_mono -= duration
    batch.due_mono -= duration
    final = _batch_status(client, batch_id)
    assert final.get("status") == "OK" and [el.tag for el in final] == [q("batch_id")]
    offer = server.state.offers["SKU-000001"]
    assert (offer.price, offer.quantity) == (Decimal("12.50"), 7)


def test_offers_update_per_offer_errors(fnac, srv):
    known = srv.state.offers["SKU-000002"].ean
    xml = offers_update_xml(
        [
            {"sku": "NEW-OK", "ean": "3760000000017", "price": "19.90", "quantity": 4, "product_state": 11},
            {"sku": "NEW-UNKNOWN", "ean": "0001234567895", "price": "19.90"},
            {"sku": "NEW-NOREF", "price": "19.90"},
            {"sku": "SKU-000002", "ean": known, "price": "12.50"},
            {"sku": "NEW-NOPRICE", "ean": "3760000000024"},
        ]
    )
    batch_id = fnac.call("offers_update", xml).findtext(q("batch_id"))
    root = _batch_status(fnac, batch_id)
    assert root.get("status") == "WARNING"
    results = {o.findtext(q("offer_seller_id")): o for o in root.findall(q("offer"))}
    assert results["NEW-OK"].get("status") == "OK"
    assert results["NEW-OK"].findtext(q("offer_fnac_id"))

    def code(sku):
        return results[sku].find(q("error")).get("code")

    assert code("NEW-UNKNOWN") == "ERR_026"
    assert code("NEW-NOREF") == "ERR_106"
    assert code("NEW-NOPRICE") == "ERR_108"
    assert results["SKU-000002"].get("status") == "OK"
    assert all(results[s].get("status") == "ERROR" for s in results if s not in ("NEW-OK", "SKU-000002"))
    new = srv.state.offers["NEW-OK"]
    assert (new.ean, new.quantity, new.price) == ("3760000000017", 4, Decimal("19.90"))
    assert "NEW-UNKNOWN" not in srv.state.offers
    # the new offer is now visible to offers_query
    root = fnac.call("offers_query", "<offer_seller_id>NEW-OK</offer_seller_id>")
    assert root.findtext(q("nb_total_result")) == "1"


@pytest.mark.parametrize("bad", [
    {"sku": "SKU-000003", "price": "20000.01"},
    {"sku": "SKU-000003", "price": "0.50"},
    {"sku": "SKU-000004", "quantity": 10000},
    {"sku": "SKU-000004", "description": "x" * 256},
])
def test_offers_update_with_one_offer_invalid_is_refused_whole(fnac, srv, bad):
    """FNAC validates the whole body against the XSD: one bad offer sinks the call (recorded: ERR_096, status
    ERROR, no batch id); nothing of it is applied."""
    before = srv.state.offers["SKU-000001"].quantity
    xml = offers_update_xml([{"sku": "SKU-000001", "quantity": before + 1}, bad])
    root = fnac.call("offers_update", xml)
    assert root.get("status") == "ERROR"
    assert root.find(q("error")).get("code") == "ERR_096"
    assert root.findtext(q("error")).startswith("XML Validation failed: ")
    assert root.find(q("batch_id")) is None
    assert not srv.state.batches
    assert srv.state.offers["SKU-000001"].quantity == before


def test_offers_update_without_offer_reference_is_refused_whole(fnac, srv):
    root = fnac.call("offers_update", "<offer><price>10.00</price></offer>")
    assert root.get("status") == "ERROR" and root.find(q("error")).get("code") == "ERR_096"
    assert "offer_reference" in root.findtext(q("error"))
    assert not srv.state.batches


def test_refuse_control_refuses_any_call_carrying_the_sku(fnac, srv):
    r = requests.post(srv.base_url + "/sandbox/refuse", json={"skus": ["SKU-000002"]}, timeout=10)
    assert r.status_code == 200 and r.json()["skus"] == ["SKU-000002"]
    root = fnac.call("offers_update", offers_update_xml([{"sku": "SKU-000001", "quantity": 7},
                                                         {"sku": "SKU-000002", "quantity": 7}]))
    assert root.get("status") == "ERROR" and root.find(q("error")).get("code") == "ERR_096"
    assert "SKU-000002" in root.findtext(q("error")) and not srv.state.batches
    root = fnac.call("offers_update", offers_update_xml([{"sku": "SKU-000001", "quantity": 7}]))
    assert root.get("status") == "OK" and root.findtext(q("batch_id"))
    requests.post(srv.base_url + "/sandbox/refuse", json={}, timeout=10)
    root = fnac.call("offers_update", offers_update_xml([{"sku": "SKU-000002", "quantity": 7}]))
    assert root.get("status") == "OK"


def test_offers_update_all_failed_is_error(fnac):
    batch_id = fnac.call(
        "offers_update", offers_update_xml([{"sku": "X1", "ean": "0000000000000"}])
    ).findtext(q("batch_id"))
    assert _batch_status(fnac, batch_id).get("status") == "ERROR"


def test_offers_update_delete(fnac, srv):
    batch_id = fnac.call(
        "offers_update",
        offers_update_xml(
            [{"sku": "SKU-000005", "treatment": "delete"}, {"sku": "NOPE", "treatment": "delete"}]
        ),
    ).findtext(q("batch_id"))
    root = _batch_status(fnac, batch_id)
    results = {o.findtext(q("offer_seller_id")): o.get("status") for o in root.findall(q("offer"))}
    assert results == {"SKU-000005": "OK", "NOPE": "ERROR"}
    assert "SKU-000005" not in srv.state.offers
    root = fnac.call("offers_query", "<offer_seller_id>SKU-000005</offer_seller_id>")
    assert root.findtext(q("nb_total_result")) == "0"


def test_offers_update_more_than_10000_is_error(fnac, srv):
    xml = offers_update_xml([{"sku": f"S{i}", "quantity": 1} for i in range(10001)])
    root = fnac.call("offers_update", xml)
    assert root.get("status") == "ERROR"
    assert root.find(q("error")).get("code") in ("ERR_096", "ERR_105")
    assert root.find(q("batch_id")) is None
    assert not srv.state.batches


def test_offers_update_10000_is_accepted(fnac, srv):
    xml = offers_update_xml([{"sku": f"SKU-{(i % 50) + 1:06d}", "quantity": i % 100} for i in range(10000)])
    root = fnac.call("offers_update", xml)
    assert root.get("status") == "OK"
    assert _batch_status(fnac, root.findtext(q("batch_id"))).get("status") == "OK"


def test_batch_status_unknown_id_answers_ok_as_recorded(fnac):
    root = _batch_status(fnac, "does-not-exist")
    assert root.get("status") == "OK"
    assert [el.tag for el in root] == [q("batch_id")] and root.findtext(q("batch_id")) == "does-not-exist"


# ---------------------------------------------------------------- carriers_query
def test_carriers_query(fnac):
    root = fnac.call("carriers_query", "<query>all</query>")
    # the answer FNAC's sandbox gave (recorded by fnapy): these nine codes, in this order, all global="1"
    carriers = [(c.get("code"), c.get("global"), c.findtext(q("name"))) for c in root.findall(q("carrier"))]
    assert carriers == [("CHRONOPOST", "1", "Chronopost"), ("DHL", "1", "DHL"), ("FEDEX", "1", "Fedex"),
                        ("GLS", "1", "GLS"), ("LAPOSTE", "1", "La Poste"), ("SOCOLISSIMO", "1", "SoColissimo"),
                        ("TAT", "1", "TAT Express"), ("TNT", "1", "TNT"), ("UPS", "1", "UPS")]


# ---------------------------------------------------------------- size
def test_100k_offers_fully_paged(make_srv):
    server = make_srv(offers=100_000)
    client = Fnac(server)
    client.auth()
    count, page, total_paging, skus = 0, 1, None, set()
    while True:
        r = client.post(
            "offers_query",
            f'<offers_query {client.header()} results_count="1000"><paging>{page}</paging></offers_query>',
        )
        root = etree.fromstring(r.content)
        total_paging = int(root.findtext(q("total_paging")))
        offers = root.findall(q("offer"))
        count += len(offers)
        skus.update(o.findtext(q("offer_seller_id")) for o in offers)
        if page >= total_paging:
            break
        page += 1
    assert total_paging == 100
    assert count == len(skus) == 100_000
