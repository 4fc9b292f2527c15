"""The shared transport: Retry-After, backoff bounds, read/write retry rules, error mapping."""

from __future__ import annotations

import datetime as dt
import random
import socket
import threading

import pytest
import requests
import responses
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ProtocolError

from fnac_connector.marketplace.errors import AuthError, RateLimited, Rejected, Unavailable
from fnac_connector.marketplace.http import HttpTransport, parse_retry_after, request_not_sent

URL = "https://api.example.test/thing"


def transport(sleeps, **kw) -> HttpTransport:
    options = {
        "service": "test",
        "sleep": sleeps.append,
        "max_retries": 3,
        "backoff": 1.0,
        "rng": random.Random(1),
    }
    options.update(kw)
    return HttpTransport(**options)


def refused() -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, URL, NewConnectionError(None, "Connection refused")))


# ---------------------------------------------------------------- Retry-After
def test_retry_after_in_seconds_and_http_date():
    now = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("Sat, 01 Mar 2025 12:00:45 GMT", now=now) == 45.0
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now=now) == 0.0  # in the past
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_http_date_retry_after_is_slept(rsps, sleeps):
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    rsps.add(
        responses.GET, URL, status=503, headers={"Retry-After": when.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    )
    rsps.add(responses.GET, URL, body="ok")
    assert transport(sleeps).request("GET", URL, operation="op").text == "ok"
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 20


def test_too_long_retry_after_is_not_waited_for(rsps, sleeps):
    rsps.add(responses.GET, URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as info:
        transport(sleeps, max_retry_after=120).request("GET", URL, operation="op")
    assert info.value.retry_after == 3600.0
    assert sleeps == [] and len(rsps.calls) == 1


# ---------------------------------------------------------------- backoff
def test_backoff_grows_exponentially_with_jitter_and_is_capped(rsps, sleeps):
    rsps.add(responses.GET, URL, status=502)
    with pytest.raises(Unavailable) as info:
        transport(sleeps, max_retries=5, max_backoff=4.0).request("GET", URL, operation="op")
    assert info.value.status_code == 502
    assert len(rsps.calls) == 6
    bounds = [(0.5, 1), (1, 2), (2, 4), (2, 4), (2, 4)]  # 1, 2, 4, then capped at 4, each in [d/2, d]
    assert len(sleeps) == 5
    for delay, (low, high) in zip(sleeps, bounds, strict=True):
        assert low <= delay <= high


def test_no_retries_when_max_retries_is_zero(rsps, sleeps):
    rsps.add(responses.GET, URL, status=503)
    with pytest.raises(Unavailable):
        transport(sleeps, max_retries=0).request("GET", URL, operation="op")
    assert len(rsps.calls) == 1 and sleeps == []


# ---------------------------------------------------------------- reads vs writes
# failures after the request went out: a read may retry them, a write may have landed
SENT_THEN_LOST = [
    requests.ReadTimeout("read timed out"),
    requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))),
    requests.exceptions.ChunkedEncodingError("incomplete read"),
]


@pytest.mark.parametrize("failure", SENT_THEN_LOST)
def test_reads_retry_on_timeouts_and_dropped_connections(rsps, sleeps, failure):
    rsps.add(responses.GET, URL, body=failure)
    rsps.add(responses.GET, URL, body="ok")
    assert transport(sleeps).request("GET", URL, operation="op").text == "ok"
    assert len(rsps.calls) == 2 and len(sleeps) == 1


def test_reads_give_up_with_unavailable(rsps, sleeps):
    rsps.add(responses.GET, URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable, match="4 attempts"):
        transport(sleeps).request("GET", URL, operation="op")
    assert len(rsps.calls) == 4


@pytest.mark.parametrize("failure", SENT_THEN_LOST)
def test_writes_never_retry_when_the_request_may_have_landed(rsps, sleeps, failure):
    rsps.add(responses.POST, URL, body=failure)
    with pytest.raises(Unavailable, match="outcome is unknown"):
        transport(sleeps).request("POST", URL, operation="op", write=True, data=b"x")
    assert len(rsps.calls) == 1 and sleeps == []


@pytest.mark.parametrize(
    "failure",
    [
        refused(),
        requests.ConnectTimeout("connect timed out"),
        requests.ConnectionError(MaxRetryError(None, URL, ConnectTimeoutError(None, "timed out"))),
    ],
)
def test_writes_retry_when_the_request_never_left(rsps, sleeps, failure):
    rsps.add(responses.POST, URL, body=failure)
    rsps.add(responses.POST, URL, body="done")
    assert transport(sleeps).request("POST", URL, operation="op", write=True, data=b"x").text == "done"
    assert len(rsps.calls) == 2


def test_request_not_sent_classification():
    assert request_not_sent(refused())
    assert request_not_sent(requests.ConnectTimeout("x"))
    assert not request_not_sent(requests.ReadTimeout("x"))
    assert not request_not_sent(requests.ConnectionError(ProtocolError("Connection aborted.")))
    assert not request_not_sent(requests.exceptions.ChunkedEncodingError("x"))


@pytest.mark.parametrize(("status", "retried"), [(429, True), (503, True), (502, False), (504, False)])
def test_write_statuses(rsps, sleeps, status, retried):
    rsps.add(responses.POST, URL, status=status)
    if retried:
        rsps.add(responses.POST, URL, body="done")
        assert transport(sleeps).request("POST", URL, operation="op", write=True).text == "done"
        assert len(rsps.calls) == 2
    else:
        with pytest.raises(Unavailable, match="outcome is unknown"):
            transport(sleeps).request("POST", URL, operation="op", write=True)
        assert len(rsps.calls) == 1


# ---------------------------------------------------------------- mapping and headers
@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthError), (403, AuthError), (404, Rejected), (422, Rejected)],
)
def test_final_statuses_are_typed_and_not_retried(rsps, sleeps, status, error):
    rsps.add(responses.GET, URL, status=status)
    with pytest.raises(error) as info:
        transport(sleeps).request("GET", URL, operation="op")
    assert info.value.status_code == status
    assert len(rsps.calls) == 1 and sleeps == []


def test_500_is_retried_on_reads_but_not_on_writes(rsps, sleeps):
    rsps.add(responses.GET, URL, status=500)
    rsps.add(responses.GET, URL, status=200, body="ok")
    assert transport(sleeps).request("GET", URL, operation="op").text == "ok"
    assert len(rsps.calls) == 2 and len(sleeps) == 1
    rsps.add(responses.POST, URL, status=500)
    with pytest.raises(Unavailable) as info:
        transport(sleeps).request("POST", URL, operation="op", write=True)
    assert info.value.status_code == 500
    assert len([c for c in rsps.calls if c.request.method == "POST"]) == 1


def test_timeout_and_default_headers_are_sent(sleeps):
    seen = {}

    class Session(requests.Session):
        def request(self, method, url, **kw):
            seen.update(kw, method=method, url=url)
            response = requests.Response()
            response.status_code = 200
            return response

    t = transport(sleeps, session=Session(), timeout=(3, 33), headers={"Authorization": "k"})
    t.request("GET", URL, operation="op", headers={"Accept": "text/csv"})
    assert seen["timeout"] == (3, 33)
    assert seen["headers"] == {"Authorization": "k", "Accept": "text/csv"}


# ---------------------------------------------------------------- real sockets on loopback
@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dropping_server():
    """Reads each request, then closes the connection without answering."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    received = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            received.append(conn.recv(65536))
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/x", received
    server.close()


def test_real_refused_connection_is_retried_even_for_a_write(sleeps, closed_port):
    with pytest.raises(Unavailable, match="3 attempts"):
        transport(sleeps, max_retries=2, timeout=(1, 1)).request(
            "POST", f"http://127.0.0.1:{closed_port}/x", operation="op", write=True, data=b"x"
        )
    assert len(sleeps) == 2


def test_real_dropped_connection_after_sending_is_not_retried_for_a_write(sleeps, dropping_server):
    url, received = dropping_server
    with pytest.raises(Unavailable, match="outcome is unknown"):
        transport(sleeps, timeout=(1, 2)).request("POST", url, operation="op", write=True, data=b"payload")
    assert len(received) == 1 and received[0].startswith(b"POST /x")
    assert sleeps == []
