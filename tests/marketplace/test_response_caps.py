"""Unbounded answers (issue 9, item 8): the transport reads at most the size cap of any answer, and a paged
listing stops at the page cap, raising typed errors instead of eating memory or paging for hours."""

from __future__ import annotations

import gzip
import http.server
import json
import re
import threading

import pytest
import responses

from fnac_connector.marketplace.errors import ResponseTooLarge, TooManyPages
from fnac_connector.marketplace.fnac import FnacClient, InMemoryTokenStore
from fnac_connector.marketplace.http import HttpTransport
from fnac_connector.marketplace.mirakl.client import MiraklClient

from . import samples

URL = "https://api.example.test/thing"
FNAC = "https://vendeur.example.test/api.php"
MB = 2**20


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def transport(**kw) -> HttpTransport:
    return HttpTransport(service="test", sleep=lambda _s: None, max_retries=3, **kw)


# ---------------------------------------------------------------- a real server on loopback
class _BigAnswers(http.server.BaseHTTPRequestHandler):
    """/chunked: 32 MB in chunks, no Content-Length; /gzip: 32 MB of zeros gzipped (about 32 KB on the wire);
    /small: 100 KB of JSON. Counts the bytes it managed to write."""

    sent: dict = {}
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * (256 * 1024)
            try:
                for _ in range(128):  # 32 MB
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.sent["chunked"] = self.sent.get("chunked", 0) + len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client hung up: that is the point
            self.close_connection = True
            return
        if self.path == "/gzip":
            body = gzip.compress(b"0" * (32 * MB))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        body = json.dumps({"values": ["v" * 1000] * 100}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def big_server():
    _BigAnswers.sent = {}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _BigAnswers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_streamed_answer_past_the_cap_is_cut_off(big_server):
    t = transport(max_response_bytes=1 * MB)
    with pytest.raises(ResponseTooLarge) as info:
        t.request("GET", big_server + "/chunked", operation="H11")
    assert "answer larger than 1 MB" in str(info.value) and info.value.limit == MB
    assert not info.value.retryable
    # the connection was dropped long before the 32 MB were sent
    assert _BigAnswers.sent.get("chunked", 0) < 16 * MB


def test_a_gzip_bomb_counts_at_its_decoded_size(big_server):
    with pytest.raises(ResponseTooLarge):
        transport(max_response_bytes=1 * MB).request("GET", big_server + "/gzip", operation="VL11")


def test_an_answer_under_the_cap_is_read_whole(big_server):
    response = transport(max_response_bytes=1 * MB).request("GET", big_server + "/small", operation="A01")
    assert len(response.json()["values"]) == 100 and len(response.content) > 100_000


def test_a_declared_length_over_the_cap_is_refused_without_retry(rsps):
    rsps.add(responses.GET, URL, body=b"x" * (2 * MB))
    with pytest.raises(ResponseTooLarge):
        transport(max_response_bytes=1 * MB).request("GET", URL, operation="op")
    assert len(rsps.calls) == 1


# ---------------------------------------------------------------- the clients
def fnac_client(**kw) -> FnacClient:
    return FnacClient(base_url=FNAC + "/", partner_id="P", shop_id="S", key="K", sleep=lambda _s: None,
                      token_store=InMemoryTokenStore(), **kw)


def test_fnac_answer_over_the_cap_is_a_typed_error_and_not_retried(rsps):
    rsps.add(responses.POST, FNAC + "/auth", body=samples.auth_ok())
    rsps.add(responses.POST, FNAC + "/offers_query",
             body=samples.offers_page([f"SKU-{i}" for i in range(400)]))
    with pytest.raises(ResponseTooLarge):
        fnac_client(max_response_bytes=64 * 1024).offers_query_page()
    assert len([c for c in rsps.calls if c.request.url.endswith("/offers_query")]) == 1


def test_mirakl_answer_over_the_cap_is_a_typed_error(rsps):
    rsps.add(responses.GET, "https://mirakl.example.test/api/hierarchies",
             json={"hierarchies": [{"code": f"C{i}", "label": "x" * 100, "level": 1} for i in range(2000)]})
    client = MiraklClient(base_url="https://mirakl.example.test", api_key="k", sleep=lambda _s: None,
                          max_response_bytes=64 * 1024)
    with pytest.raises(ResponseTooLarge):
        client.hierarchies()
    assert len(rsps.calls) == 1


def _endless_paging(rsps, service: str, page_body):
    """FNAC announcing total_paging=999999999 and answering every page."""

    def answer(request):
        page = int(re.search(rb"<paging>(\d+)</paging>", request.body).group(1))
        return 200, {}, page_body(page)

    rsps.add(responses.POST, FNAC + "/auth", body=samples.auth_ok())
    rsps.add_callback(responses.POST, FNAC + f"/{service}", callback=answer)


def _page_requests(rsps, service: str) -> int:
    return len([c for c in rsps.calls if c.request.url.endswith(f"/{service}")])


def test_endless_offer_paging_stops_at_the_page_cap(rsps):
    _endless_paging(rsps, "offers_query", lambda page: samples.offers_page(
        [f"SKU-{page}"], page=page, total_paging=999_999_999, total=999_999_999))
    client = fnac_client(max_pages=5)
    seen = []
    with pytest.raises(TooManyPages) as info:
        for offer in client.iter_offers():
            seen.append(offer.offer_seller_id)
    assert seen == ["SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5"]  # the pages read were handed over
    assert _page_requests(rsps, "offers_query") == 5
    assert info.value.limit == 5 and info.value.announced == 999_999_999
    assert "page cap (5 pages per listing)" in str(info.value)


def test_endless_order_paging_stops_at_the_page_cap(rsps):
    _endless_paging(rsps, "orders_query", lambda page: samples.orders_page(
        [samples.order_xml(f"ORDER{page:09d}")], page=page, total_paging=999_999_999))
    with pytest.raises(TooManyPages):
        list(fnac_client(max_pages=3).iter_orders())
    assert _page_requests(rsps, "orders_query") == 3


def test_a_listing_that_ends_under_the_cap_is_not_an_error(rsps):
    _endless_paging(rsps, "offers_query", lambda page: samples.offers_page(
        [f"SKU-{page}"], page=page, total_paging=3))
    assert [o.offer_seller_id for o in fnac_client(max_pages=3).iter_offers()] == ["SKU-1", "SKU-2", "SKU-3"]
