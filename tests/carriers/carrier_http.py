"""A fake carrier web for karrio, at the HTTP level.

karrio sends its requests with urllib (not requests), so ``responses`` cannot see them; this fixture replaces the
``urlopen`` karrio calls with a router of (method, URL prefix) -> answer, records every request (URL, headers,
body) and answers with real HTTP semantics: a status >= 400 raises ``HTTPError`` with the body, ``timeout`` raises
``socket.timeout`` as urllib does when the carrier does not answer. The answers' shapes come from karrio's own
test fixtures and the carriers' documentation (see tests/carriers/carrier_shapes.py).
"""

from __future__ import annotations

import email.message
import io
import urllib.error
from dataclasses import dataclass, field

import karrio.core.utils.helpers as karrio_http
import pytest

import fnac_connector.carriers.karrio_adapter  # noqa: F401  (installs its timeout wrapper first)


@dataclass
class Call:
    method: str
    url: str
    headers: dict
    body: bytes
    timeout: float | None

    @property
    def text(self) -> str:
        return (self.body or b"").decode("utf-8", "replace")


@dataclass
class Route:
    method: str
    prefix: str
    answers: list  # each: (status, body bytes|str) or "timeout"; the last one repeats


class _Response(io.BytesIO):
    def __init__(self, body: bytes, status: int):
        super().__init__(body)
        self.status = self.code = status
        self.headers = email.message.Message()

    def getcode(self):
        return self.status

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


@dataclass
class CarrierWeb:
    routes: list[Route] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def add(self, method: str, prefix: str, *answers) -> None:
        self.routes.insert(0, Route(method.upper(), prefix, list(answers)))

    def to(self, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.url.startswith(prefix)]

    def urlopen(self, req, timeout=None, *args, **kwargs):
        method = req.get_method().upper()
        url = req.full_url
        body = req.data or b""
        if isinstance(body, str):
            body = body.encode()
        self.calls.append(Call(method, url, {k.lower(): v for k, v in req.header_items()}, body, timeout))
        for route in self.routes:
            if route.method == method and url.startswith(route.prefix):
                answer = route.answers.pop(0) if len(route.answers) > 1 else route.answers[0]
                break
        else:
            raise AssertionError(f"unexpected carrier call {method} {url}")
        if answer == "timeout":
            raise TimeoutError("timed out")
        if answer == "socket-timeout":
            raise TimeoutError("timed out")
        status, payload = answer
        data = payload.encode("latin-1") if isinstance(payload, str) else payload
        if status >= 400:
            raise urllib.error.HTTPError(url, status, "error", email.message.Message(), io.BytesIO(data))
        return _Response(data, status)


@pytest.fixture
def carrier_web(monkeypatch):
    web = CarrierWeb()
    # karrio's helpers call this module-level name; the adapter's timeout wrapper calls the original through it
    monkeypatch.setattr(fnac_connector.carriers.karrio_adapter, "_plain_urlopen", web.urlopen)
    monkeypatch.setattr(karrio_http, "urlopen", fnac_connector.carriers.karrio_adapter._urlopen_with_timeout)
    return web
