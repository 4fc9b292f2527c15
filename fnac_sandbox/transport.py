"""The sandbox's HTTP transport: a stdlib ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive, Content-Length on every
answer) routing ``/api.php/<service>`` to the FNAC API, ``/api/...`` to Mirakl and ``/sandbox/...`` to the
control table (``control.ROUTES``), with fault injection and the request log.

The handler reaches the running sandbox as ``self.server.sandbox`` (a ``server.SandboxServer``); this module
does not import the server, which imports it.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import control
from .clock import fmt
from .mirakl_api import route_name


@dataclass
class RecordedRequest:
    seq: int
    api: str  # fnac | mirakl | control
    service: (
        str  # FNAC service name, Mirakl API code (A01, H11, PM11, VL11, P41, P42, P44, P51) or control path
    )
    path: str
    method: str
    body: bytes
    at: dt.datetime  # sandbox (simulated) time
    status: int | None = None  # HTTP status answered; 0 for a dropped connection
    fault: str | None = None
    query: dict = field(default_factory=dict)
    received: float = field(default_factory=time.time)  # real (Unix) time it arrived, for latency measurements

    def as_json(self, with_body: bool = True) -> dict:
        out = {
            "seq": self.seq,
            "api": self.api,
            "service": self.service,
            "path": self.path,
            "method": self.method,
            "at": fmt(self.at),
            "status": self.status,
            "fault": self.fault,
            "query": self.query,
            "received": round(self.received, 3),
        }
        if with_body:
            out["body"] = self.body.decode("utf-8", "replace")
        return out


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, sandbox):
        self.sandbox = sandbox
        self._conns: set = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request, client_address):
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return fmt(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FnacDartySandbox/1.0"
    sys_version = ""
    timeout = 300  # idle keep-alive connections end after this

    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass

    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self):  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self):  # noqa: N802
        self._dispatch("DELETE")

    def do_PATCH(self):  # noqa: N802
        self._dispatch("PATCH")

    # ---------------------------------------------------------------- plumbing
    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self, status: int, body: bytes, ctype: str, headers: dict | None = None, truncate: bool = False
    ):
        payload = body[: len(body) // 2] if truncate else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, status: int, payload, rec: RecordedRequest | None = None):
        if rec is not None:
            rec.status = status
        self._send(
            status,
            json.dumps(payload, default=jsonable, ensure_ascii=False).encode(),
            "application/json; charset=utf-8",
        )

    # ---------------------------------------------------------------- routing
    def _dispatch(self, method: str) -> None:
        sandbox = self.server.sandbox
        body = self._read_body()
        url = urlsplit(self.path)
        path = url.path
        query = dict(parse_qsl(url.query))
        if path == "/sandbox" or path.startswith("/sandbox/"):
            self._control(sandbox, method, path, query, body)
            return
        if path.startswith("/api.php/"):
            api, service = "fnac", path[len("/api.php/") :].strip("/")
            sandbox = sandbox.shop_for_fnac(body)  # one URL for every seller, as FNAC: the call names its shop
        elif path.startswith("/api/"):
            api, service = "mirakl", route_name(method, path)
            sandbox = sandbox.shop_for_mirakl(self.headers.get("Authorization"))
        else:
            self._send(404, b"Not found\n", "text/plain; charset=utf-8")
            return
        fault = sandbox.faults.decide(api, service)
        rec = sandbox._record(api, service, path, method, body, fault, query)
        try:
            self._api(sandbox, api, service, method, path, query, body, fault, rec)
        except Exception:  # a sandbox bug must not look like a network fault
            traceback.print_exc(file=sys.stderr)
            rec.status = 500
            self._send(500, b"sandbox internal error\n", "text/plain; charset=utf-8")

    def _api(self, sandbox, api, service, method, path, query, body, fault, rec: RecordedRequest) -> None:
        xml = "text/xml; charset=utf-8"
        if fault == "drop":
            rec.status = 0
            self.close_connection = True
            return
        if fault == "429":
            rec.status = 429
            if api == "mirakl":
                self._send(
                    429,
                    b'{"message": "Too many requests", "status": 429}',
                    "application/json",
                    {"Retry-After": "1"},
                )
            else:
                self._send(429, b"Too Many Requests\n", "text/plain; charset=utf-8", {"Retry-After": "1"})
            return
        if fault in ("500", "503"):
            status = int(fault)
            rec.status = status
            text = "Internal Server Error" if status == 500 else "Service Unavailable"
            self._send(
                status,
                f"<html><body><h1>{status} {text}</h1></body></html>\n".encode(),
                "text/html; charset=utf-8",
                {"Retry-After": "1"} if status == 503 else None,
            )
            return
        if fault == "expired_token":
            rec.status = 200
            self._send(200, sandbox.fnac.auth_failure(service), xml)
            return
        if api == "fnac":
            if method != "POST":
                rec.status = 405
                self._send(
                    405,
                    b"Method Not Allowed: POST an XML body\n",
                    "text/plain; charset=utf-8",
                    {"Allow": "POST"},
                )
                return
            status, out, ctype, headers = 200, sandbox.fnac.handle(service, body), xml, {}
        else:
            status, out, ctype, headers = sandbox.mirakl.handle(method, path, query, self.headers, body)
        if fault == "slow":
            time.sleep(sandbox.faults.slow_delay())
        rec.status = status
        self._send(status, out, ctype, headers, truncate=(fault == "truncated"))

    # ---------------------------------------------------------------- control endpoints
    def _control(self, sandbox, method: str, path: str, query: dict, body: bytes) -> None:
        parts = [p for p in path.split("/") if p][1:]
        if len(parts) >= 3 and parts[0] == "shops":  # /sandbox/shops/<shop_id>/<endpoint>: that shop's control
            try:
                sandbox = sandbox.shop(parts[1])
            except KeyError:
                self._json(404, {"error": f"no shop {parts[1]} on this sandbox (GET /sandbox/shops lists them)"})
                return
            parts = parts[2:]
        rec = None
        if method != "GET":
            rec = sandbox._record("control", path, path, method, body, None, query)
        try:
            data = json.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("a JSON object is expected")
        except ValueError as exc:
            self._json(400, {"error": f"invalid JSON body: {exc}"}, rec)
            return
        found = control.route(method, parts)
        if found is None:
            self._json(404, {"error": f"unknown control endpoint {method} {path}"}, rec)
            return
        handler, args = found
        try:
            status, payload = handler(sandbox, data, query, args)
        except KeyError as exc:
            self._json(404, {"error": f"not found: {exc.args[0]}"}, rec)
        except (ValueError, TypeError) as exc:
            self._json(400, {"error": str(exc)}, rec)
        else:
            self._json(status, payload, rec)


