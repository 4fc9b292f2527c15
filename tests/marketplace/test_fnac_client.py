"""FnacClient over a mocked wire: what is sent, how often, and what comes back."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import requests
import responses
from lxml import etree
from urllib3.exceptions import MaxRetryError, NewConnectionError

from fnac_connector.marketplace.errors import AuthError, BadResponse, RateLimited, Rejected, Unavailable
from fnac_connector.marketplace.fnac import FnacClient, InMemoryTokenStore
from fnac_connector.marketplace.fnac.types import (
    NAMESPACE,
    AuthToken,
    LineUpdate,
    MalformedOrder,
    OfferUpdate,
    Order,
    OrderUpdate,
)

from . import samples

BASE = "https://vendeur.example.test/api.php/"
URL = "https://vendeur.example.test/api.php"
PARTNER = "11111111-2222-3333-4444-555555555555"
SHOP = "66666666-7777-8888-9999-aaaaaaaaaaaa"
KEY = "99999999-8888-7777-6666-555555555555"
NS = {"f": NAMESPACE}
NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime = NOW):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def fnac_client(sleeps, clock, **options) -> FnacClient:
    """A client of the test seller that records its sleeps and reads the test clock."""
    return FnacClient(base_url=BASE, partner_id=PARTNER, shop_id=SHOP, key=KEY, sleep=sleeps.append, clock=clock,
                      **options)


@pytest.fixture
def client(sleeps, clock):
    return fnac_client(sleeps, clock, max_retries=3, backoff=0.5)


def calls_to(rsps, service: str) -> list:
    return [c for c in rsps.calls if c.request.url == f"{URL}/{service}"]


def sent(call) -> etree._Element:
    return etree.fromstring(call.request.body)


def add_auth(rsps, token: str = samples.TOKEN, validity: str = "2025-03-01T13:00:00+00:00"):
    rsps.add(responses.POST, f"{URL}/auth", body=samples.auth_ok(token, validity), status=200)


# ---------------------------------------------------------------- auth and token
def test_auth_posts_credentials_as_xml_and_stores_the_token(rsps, client):
    add_auth(rsps)
    token = client.auth()
    assert token == AuthToken(samples.TOKEN, dt.datetime(2025, 3, 1, 13, 0, tzinfo=dt.UTC))
    assert client.token_store.get() == token
    (call,) = rsps.calls
    assert call.request.headers["Content-Type"].startswith("text/xml")
    doc = sent(call)
    assert etree.QName(doc).localname == "auth"
    assert doc.findtext("f:partner_id", namespaces=NS) == PARTNER
    assert doc.findtext("f:key", namespaces=NS) == KEY


def test_bad_credentials_raise_auth_error_with_fnac_code(rsps, client):
    rsps.add(responses.POST, f"{URL}/auth", body=samples.AUTH_BAD_KEY)
    with pytest.raises(AuthError) as info:
        client.auth()
    assert info.value.code == "ERR_001"
    assert "Invalid partner_id" in info.value.message
    assert client.token_store.get() is None


def test_token_is_reused_across_calls(rsps, client):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/orders_query", body=samples.orders_page([]))
    rsps.add(responses.POST, f"{URL}/carriers_query", body=samples.CARRIERS)
    client.orders_query_page()
    client.orders_query_page(page=2)
    carriers = client.carriers_query()
    assert len(calls_to(rsps, "auth")) == 1
    assert len(calls_to(rsps, "orders_query")) == 2
    assert [c.code for c in carriers] == ["LAPOSTE", "CHRONOPOST", "UPS"]
    for call in calls_to(rsps, "orders_query") + calls_to(rsps, "carriers_query"):
        doc = sent(call)
        assert (doc.get("partner_id"), doc.get("shop_id"), doc.get("token")) == (PARTNER, SHOP, samples.TOKEN)


def test_token_is_renewed_when_its_validity_has_passed(rsps, client, clock):
    add_auth(rsps, samples.TOKEN, "2025-03-01T12:30:00+00:00")
    add_auth(rsps, samples.TOKEN_2, "2025-03-01T13:30:00+00:00")
    rsps.add(responses.POST, f"{URL}/carriers_query", body=samples.CARRIERS)
    client.carriers_query()
    clock.now = NOW + dt.timedelta(minutes=20)  # still valid (validity 12:30, margin 60 s)
    client.carriers_query()
    clock.now = NOW + dt.timedelta(minutes=29, seconds=30)  # inside the safety margin: renew first
    client.carriers_query()
    assert len(calls_to(rsps, "auth")) == 2
    tokens = [sent(c).get("token") for c in calls_to(rsps, "carriers_query")]
    assert tokens == [samples.TOKEN, samples.TOKEN, samples.TOKEN_2]


def test_shared_token_store_avoids_auth(rsps, sleeps, clock):
    store = InMemoryTokenStore()
    store.set(AuthToken(samples.TOKEN_2, NOW + dt.timedelta(hours=1)))
    client = fnac_client(sleeps, clock, token_store=store)
    rsps.add(responses.POST, f"{URL}/carriers_query", body=samples.CARRIERS)
    client.carriers_query()
    assert calls_to(rsps, "auth") == []
    assert sent(rsps.calls[0]).get("token") == samples.TOKEN_2


def test_err_097_reauthenticates_once_and_retries_the_call(rsps, client):
    add_auth(rsps, samples.TOKEN)
    add_auth(rsps, samples.TOKEN_2)
    rsps.add(responses.POST, f"{URL}/orders_query", body=samples.TOKEN_EXPIRED)
    rsps.add(
        responses.POST, f"{URL}/orders_query", body=samples.orders_page([samples.order_xml("1A2B3C4D5E6F7")])
    )
    page = client.orders_query_page()
    assert [o.order_id for o in page.orders] == ["1A2B3C4D5E6F7"]
    assert [c.request.url.rsplit("/", 1)[1] for c in rsps.calls] == [
        "auth",
        "orders_query",
        "auth",
        "orders_query",
    ]
    assert [sent(c).get("token") for c in calls_to(rsps, "orders_query")] == [samples.TOKEN, samples.TOKEN_2]
    assert client.token_store.get().token == samples.TOKEN_2


def test_second_auth_failure_raises_auth_error(rsps, client):
    add_auth(rsps, samples.TOKEN)
    add_auth(rsps, samples.TOKEN_2)
    rsps.add(responses.POST, f"{URL}/orders_query", body=samples.TOKEN_EXPIRED)
    rsps.add(responses.POST, f"{URL}/orders_query", body=samples.TOKEN_EXPIRED)
    with pytest.raises(AuthError) as info:
        client.orders_query_page()
    assert info.value.code == "ERR_097"
    assert len(calls_to(rsps, "auth")) == 2
    assert len(calls_to(rsps, "orders_query")) == 2


def test_write_refused_for_auth_is_resent_once_with_the_new_token(rsps, client):
    add_auth(rsps, samples.TOKEN)
    add_auth(rsps, samples.TOKEN_2)
    rsps.add(
        responses.POST,
        f"{URL}/offers_update",
        body=samples.error_response("offers_update", "ERR_097", "Authentication failed"),
    )
    rsps.add(responses.POST, f"{URL}/offers_update", body=samples.OFFERS_UPDATE_OK)
    assert client.offers_update([OfferUpdate(sku="S1", quantity=3)]) == "4F1A2B3C-0000-1111-2222-333344445555"
    bodies = calls_to(rsps, "offers_update")
    assert [sent(c).get("token") for c in bodies] == [samples.TOKEN, samples.TOKEN_2]


def test_http_401_on_a_call_also_reauthenticates(rsps, client):
    add_auth(rsps, samples.TOKEN)
    add_auth(rsps, samples.TOKEN_2)
    rsps.add(responses.POST, f"{URL}/carriers_query", status=401, body=b"Unauthorized")
    rsps.add(responses.POST, f"{URL}/carriers_query", body=samples.CARRIERS)
    assert len(client.carriers_query()) == 3
    assert len(calls_to(rsps, "auth")) == 2


def test_business_refusal_is_not_retried(rsps, client):
    add_auth(rsps)
    rsps.add(
        responses.POST,
        f"{URL}/orders_update",
        body=samples.error_response("orders_update", "ERR_102", "Invalid order"),
    )
    with pytest.raises(Rejected) as info:
        client.orders_update([OrderUpdate("1A2B3C4D5E6F7", "accept_order", [LineUpdate("Accepted", 1)])])
    assert info.value.code == "ERR_102"
    assert len(calls_to(rsps, "orders_update")) == 1
    assert len(calls_to(rsps, "auth")) == 1


# ---------------------------------------------------------------- retries
def test_429_with_retry_after_then_success(rsps, client, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/orders_query", status=429, headers={"Retry-After": "7"})
    rsps.add(
        responses.POST, f"{URL}/orders_query", body=samples.orders_page([samples.order_xml("1A2B3C4D5E6F7")])
    )
    page = client.orders_query_page()
    assert len(page.orders) == 1
    assert sleeps == [7.0]
    assert len(calls_to(rsps, "orders_query")) == 2


def test_503_twice_then_success_backs_off_exponentially(rsps, client, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/offers_query", status=503)
    rsps.add(responses.POST, f"{URL}/offers_query", status=503)
    rsps.add(responses.POST, f"{URL}/offers_query", body=samples.offers_page(["A"]))
    page = client.offers_query_page()
    assert [o.offer_seller_id for o in page.offers] == ["A"]
    assert len(calls_to(rsps, "offers_query")) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5  # backoff 0.5 * 2**0 with equal jitter
    assert 0.5 <= sleeps[1] <= 1.0  # backoff 0.5 * 2**1


def test_rate_limit_exhausted_raises_rate_limited(rsps, client, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/carriers_query", status=429, headers={"Retry-After": "2"})
    with pytest.raises(RateLimited) as info:
        client.carriers_query()
    assert info.value.retry_after == 2.0
    assert len(calls_to(rsps, "carriers_query")) == 4  # 1 + max_retries=3
    assert sleeps == [2.0, 2.0, 2.0]


def test_unavailable_exhausted_raises_unavailable(rsps, client, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/carriers_query", status=503)
    with pytest.raises(Unavailable) as info:
        client.carriers_query()
    assert info.value.status_code == 503
    assert len(calls_to(rsps, "carriers_query")) == 4
    assert len(sleeps) == 3


def test_read_is_retried_after_a_read_timeout(rsps, client, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/batch_status", body=requests.ReadTimeout("read timed out"))
    rsps.add(responses.POST, f"{URL}/batch_status", body=samples.BATCH_STATUS_RUNNING)
    assert client.batch_status("4F1A2B3C-0000-1111-2222-333344445555").status == "RUNNING"
    assert len(calls_to(rsps, "batch_status")) == 2


def test_write_is_not_retried_after_a_read_timeout(rsps, client, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/orders_update", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable, match="outcome is unknown"):
        client.orders_update([OrderUpdate("1A2B3C4D5E6F7", "accept_order", [LineUpdate("Accepted", 1)])])
    assert len(calls_to(rsps, "orders_update")) == 1
    assert sleeps == []


def test_write_is_not_retried_after_a_dropped_connection(rsps, client, sleeps):
    add_auth(rsps)
    dropped = requests.ConnectionError(ConnectionResetError(104, "Connection reset by peer"))
    rsps.add(responses.POST, f"{URL}/offers_update", body=dropped)
    with pytest.raises(Unavailable, match="outcome is unknown"):
        client.offers_update([OfferUpdate(sku="S1", quantity=1)])
    assert len(calls_to(rsps, "offers_update")) == 1


def test_write_is_retried_when_the_connection_was_refused(rsps, client, sleeps):
    add_auth(rsps)
    refused = requests.ConnectionError(
        MaxRetryError(
            None, f"{URL}/offers_update", NewConnectionError(None, "[Errno 111] Connection refused")
        )
    )
    rsps.add(responses.POST, f"{URL}/offers_update", body=refused)
    rsps.add(responses.POST, f"{URL}/offers_update", body=samples.OFFERS_UPDATE_OK)
    assert client.offers_update([OfferUpdate(sku="S1", quantity=1)]) == "4F1A2B3C-0000-1111-2222-333344445555"
    assert len(calls_to(rsps, "offers_update")) == 2
    assert len(sleeps) == 1


def test_write_is_retried_on_503_but_not_on_502(rsps, client, sleeps):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/offers_update", status=503, headers={"Retry-After": "1"})
    rsps.add(responses.POST, f"{URL}/offers_update", body=samples.OFFERS_UPDATE_OK)
    rsps.add(responses.POST, f"{URL}/orders_update", status=502)
    assert client.offers_update([OfferUpdate(sku="S1", quantity=1)])
    with pytest.raises(Unavailable, match="outcome is unknown"):
        client.orders_update([OrderUpdate("1A2B3C4D5E6F7", "accept_order", [LineUpdate("Accepted", 1)])])
    assert len(calls_to(rsps, "offers_update")) == 2
    assert len(calls_to(rsps, "orders_update")) == 1
    assert sleeps == [1.0]


# ---------------------------------------------------------------- paging
def test_iter_offers_walks_every_page_and_reports_progress(rsps, client):
    add_auth(rsps)
    rsps.add(
        responses.POST,
        f"{URL}/offers_query",
        body=samples.offers_page(["A", "B"], page=1, total_paging=2, total=3),
    )
    rsps.add(
        responses.POST,
        f"{URL}/offers_query",
        body=samples.offers_page(["C"], page=2, total_paging=2, total=3),
    )
    progress = []
    since = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    skus = [
        o.offer_seller_id
        for o in client.iter_offers(page_size=2, modified_since=since, on_page=lambda *a: progress.append(a))
    ]
    assert skus == ["A", "B", "C"]
    assert progress == [(1, 2, 3), (2, 2, 3)]
    docs = [sent(c) for c in calls_to(rsps, "offers_query")]
    assert [d.findtext("f:paging", namespaces=NS) for d in docs] == ["1", "2"]
    assert all(d.get("results_count") == "2" for d in docs)
    assert docs[0].find("f:date", NS).get("type") == "Modified"
    assert docs[0].findtext("f:date/f:min", namespaces=NS) == "2025-02-01T00:00:00+00:00"


def test_iter_orders_yields_malformed_orders_and_sends_filters(rsps, client):
    add_auth(rsps)
    broken = samples.order_xml("BBBBBBBBBBBBB", created_at="not a date")
    rsps.add(
        responses.POST,
        f"{URL}/orders_query",
        body=samples.orders_page([samples.order_xml("AAAAAAAAAAAAA"), broken], total_paging=2, total=3),
    )
    rsps.add(
        responses.POST,
        f"{URL}/orders_query",
        body=samples.orders_page([samples.order_xml("CCCCCCCCCCCCC")], page=2, total_paging=2, total=3),
    )
    since = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    orders = list(
        client.iter_orders(date_type="UpdatedAt", since=since, until=NOW, states=["Created", "ToShip"])
    )
    assert [type(o) for o in orders] == [Order, MalformedOrder, Order]
    assert [o.order_id for o in orders] == ["AAAAAAAAAAAAA", "BBBBBBBBBBBBB", "CCCCCCCCCCCCC"]
    doc = sent(calls_to(rsps, "orders_query")[0])
    assert doc.find("f:date", NS).get("type") == "UpdatedAt"
    assert doc.findtext("f:date/f:max", namespaces=NS) == "2025-03-01T12:00:00+00:00"
    assert [s.text for s in doc.findall("f:states/f:state", NS)] == ["Created", "ToShip"]
    assert doc.findtext("f:sort_by", namespaces=NS) == "ASC"


def test_failing_page_propagates_after_retries(rsps, client, sleeps):
    add_auth(rsps)
    rsps.add(
        responses.POST,
        f"{URL}/orders_query",
        body=samples.orders_page([samples.order_xml("AAAAAAAAAAAAA")], total_paging=2, total=2),
    )
    rsps.add(responses.POST, f"{URL}/orders_query", status=503)
    got = []
    with pytest.raises(Unavailable):
        for order in client.iter_orders():
            got.append(order.order_id)
    assert got == ["AAAAAAAAAAAAA"]
    assert len(calls_to(rsps, "orders_query")) == 1 + 4  # page 1, then page 2 tried 1 + 3 retries


def test_truncated_page_raises_bad_response(rsps, client):
    add_auth(rsps)
    body = samples.orders_page([samples.order_xml("AAAAAAAAAAAAA")])
    rsps.add(responses.POST, f"{URL}/orders_query", body=body[:200])
    with pytest.raises(BadResponse):
        client.orders_query_page()


# ---------------------------------------------------------------- limits, writes
def test_limits_are_checked_before_any_request(rsps, client):
    with pytest.raises(ValueError, match="at most 10000"):
        client.offers_update([OfferUpdate(sku=f"S{n}") for n in range(10_001)])
    with pytest.raises(ValueError, match="at most 25"):
        client.orders_update(
            [OrderUpdate(f"{n:013d}", "accept_order", [LineUpdate("Accepted")]) for n in range(26)]
        )
    assert len(rsps.calls) == 0


def test_invalid_offer_costs_no_update_request(rsps, client):
    add_auth(rsps)
    with pytest.raises(ValueError, match="quantity"):
        client.offers_update([OfferUpdate(sku="S1", quantity=10_000)])
    assert calls_to(rsps, "offers_update") == []


def test_offers_update_then_batch_status(rsps, client):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/offers_update", body=samples.OFFERS_UPDATE_OK)
    rsps.add(responses.POST, f"{URL}/batch_status", body=samples.BATCH_STATUS_WARNING)
    batch_id = client.offers_update(
        [
            OfferUpdate(sku="SKU-1", price="9.5", quantity=4),
            OfferUpdate(sku="SKU-2", product_reference="9780000000002", quantity=0),
        ]
    )
    status = client.batch_status(batch_id)
    offers = sent(calls_to(rsps, "offers_update")[0]).findall("f:offer", NS)
    assert [o.findtext("f:offer_reference", namespaces=NS) for o in offers] == ["SKU-1", "SKU-2"]
    assert offers[0].findtext("f:price", namespaces=NS) == "9.50"
    assert sent(calls_to(rsps, "batch_status")[0]).findtext("f:batch_id", namespaces=NS) == batch_id
    assert status.status == "WARNING"
    assert [(o.offer_seller_id, o.status) for o in status.offers] == [("SKU-1", "OK"), ("SKU-2", "ERROR")]


def test_orders_update_results(rsps, client):
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/orders_update", body=samples.ORDERS_UPDATE_MIXED)
    results = client.orders_update(
        [
            OrderUpdate(
                "1A2B3C4D5E6F7", "accept_order", [LineUpdate("Accepted", 1), LineUpdate("Refused", 2)]
            ),
            OrderUpdate(
                "7F6E5D4C3B2A1",
                "update",
                [LineUpdate("Shipped", 3, tracking_number="TRK1", tracking_company="LAPOSTE")],
            ),
        ]
    )
    assert [(r.order_id, r.ok) for r in results] == [("1A2B3C4D5E6F7", True), ("7F6E5D4C3B2A1", False)]
    detail = sent(calls_to(rsps, "orders_update")[0]).findall("f:order", NS)[1].find("f:order_detail", NS)
    assert detail.findtext("f:tracking_number", namespaces=NS) == "TRK1"


def test_logs_never_contain_key_or_token(rsps, client, caplog):
    caplog.set_level(logging.DEBUG)
    add_auth(rsps)
    rsps.add(responses.POST, f"{URL}/carriers_query", status=503)
    rsps.add(responses.POST, f"{URL}/carriers_query", body=samples.CARRIERS)
    client.carriers_query()
    text = caplog.text
    assert "carriers_query" in text and "503" in text  # something useful was logged
    assert KEY not in text and samples.TOKEN not in text
    assert KEY not in repr(client)


class _RefusingFnac:
    """offers_update refuses (ERR_096) any call carrying a bad SKU; optionally goes down after some calls."""

    def __init__(self, bad, down_after=None):
        self.bad, self.down_after, self.calls = set(bad), down_after, []

    def offers_update(self, offers):
        from fnac_connector.marketplace.errors import Rejected, Unavailable

        self.calls.append([o.sku for o in offers])
        if self.down_after is not None and len(self.calls) > self.down_after:
            raise Unavailable("down")
        if self.bad & {o.sku for o in offers}:
            raise Rejected("XML Validation failed: nope", code="ERR_096")
        return f"batch-{len(self.calls)}"


def test_offers_update_isolating_splits_until_the_offending_offers_are_alone():
    from fnac_connector.marketplace.fnac.client import offers_update_isolating
    from fnac_connector.marketplace.fnac.types import OfferUpdate

    fake = _RefusingFnac({"S2", "S7"})
    sent = offers_update_isolating(fake, [OfferUpdate(sku=f"S{i}", quantity=1) for i in range(8)])
    assert set(sent.refused) == {"S2", "S7"} and sent.refused["S2"].code == "ERR_096"
    assert sorted(o.sku for _, chunk in sent.batches for o in chunk) == ["S0", "S1", "S3", "S4", "S5", "S6"]
    assert sent.calls == len(fake.calls) and sent.error is None and not sent.unsent


def test_offers_update_isolating_raises_a_first_failure_and_returns_a_later_one():
    from fnac_connector.marketplace.errors import Rejected, Unavailable
    from fnac_connector.marketplace.fnac.client import offers_update_isolating
    from fnac_connector.marketplace.fnac.types import OfferUpdate

    offers = [OfferUpdate(sku=f"S{i}", quantity=1) for i in range(4)]
    with pytest.raises(Unavailable):
        offers_update_isolating(_RefusingFnac(set(), down_after=0), offers)

    class _Auth(_RefusingFnac):
        def offers_update(self, offers):
            raise Rejected("other", code="ERR_097X")

    with pytest.raises(Rejected):
        offers_update_isolating(_Auth(set()), offers)
    sent = offers_update_isolating(_RefusingFnac({"S3"}, down_after=2), offers)  # whole refused, S0+S1 sent, down
    assert [chunk for _, chunk in sent.batches] == [offers[:2]]
    assert isinstance(sent.error, Unavailable) and sent.unsent == offers[2:] and not sent.refused
