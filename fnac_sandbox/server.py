"""The sandbox marketplace: a real HTTP server speaking FNAC's XML API and Mirakl MCM's JSON API.

    srv = SandboxServer(port=0, seed=1, offers=1000, orders=200).start()
    srv.fnac_url    # http://127.0.0.1:PORT/api.php/   (POST <fnac_url><service>)
    srv.mirakl_url  # http://127.0.0.1:PORT            (Mirakl paths /api/...)
    srv.credentials # SandboxCredentials(partner_id, shop_id, key, mirakl_key)
    srv.stop()

stdlib ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive, Content-Length on every answer), in-memory state, no
Django ORM or settings. Control endpoints under ``/sandbox/`` drive a sandbox running in another process.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .clock import SimClock, fmt, parse
from .faults import FaultInjector
from .fnac_api import FnacApi
from .mirakl_api import MiraklApi, route_name
from .redact import mask_body, mask_query
from .seed import Seeder
from .simulation import SimulationProfile, Simulator, force_state
from .state import Order, Store

DEFAULT_PARTNER_ID = "7d6f3a2e-0b1c-4e5f-8a9b-1c2d3e4f5a60"
DEFAULT_SHOP_ID = "3f8e2b1a-9c7d-4a6e-b5f4-2d1c0b9a8e71"
DEFAULT_KEY = "c0ffee00-5a9d-4b1e-9f3c-7e6d5c4b3a21"
DEFAULT_MIRAKL_KEY = "8b1d4c7e-2f5a-4e3b-a6c9-0d2e5f8a1b34"
MIRAKL_SHOP_ID = 2001


@dataclass(frozen=True)
class SandboxCredentials:
    partner_id: str = DEFAULT_PARTNER_ID
    shop_id: str = DEFAULT_SHOP_ID
    key: str = DEFAULT_KEY
    mirakl_key: str = DEFAULT_MIRAKL_KEY


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
        }
        if with_body:
            out["body"] = self.body.decode("utf-8", "replace")
        return out


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler, sandbox: SandboxServer):
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


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return fmt(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class _Handler(BaseHTTPRequestHandler):
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
            json.dumps(payload, default=_jsonable, ensure_ascii=False).encode(),
            "application/json; charset=utf-8",
        )

    # ---------------------------------------------------------------- routing
    def _dispatch(self, method: str) -> None:
        sandbox: SandboxServer = self.server.sandbox
        body = self._read_body()
        url = urlsplit(self.path)
        path = url.path
        query = dict(parse_qsl(url.query))
        if path == "/sandbox" or path.startswith("/sandbox/"):
            self._control(sandbox, method, path, query, body)
            return
        if path.startswith("/api.php/"):
            api, service = "fnac", path[len("/api.php/") :].strip("/")
        elif path.startswith("/api/"):
            api, service = "mirakl", route_name(method, path)
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
    def _control(self, sandbox: SandboxServer, method: str, path: str, query: dict, body: bytes) -> None:
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
        parts = [p for p in path.split("/") if p][1:]
        try:
            if method == "GET" and parts == ["status"]:
                self._json(200, sandbox.status(), rec)
            elif method == "GET" and parts == ["requests"]:
                since = int(query.get("since", "0") or 0)
                with_body = query.get("body", "1") not in ("0", "false", "no")
                records = [
                    r
                    for r in sandbox.requests
                    if r.seq > since
                    and (not query.get("service") or query["service"] in (r.service, r.path))
                    and (not query.get("api") or r.api == query["api"])
                ]
                self._json(
                    200,
                    {"requests": [r.as_json(with_body) for r in records], "last_seq": sandbox.last_seq},
                    rec,
                )
            elif method == "DELETE" and parts == ["requests"]:
                sandbox.clear_requests()
                self._json(200, {"cleared": True}, rec)
            elif method == "POST" and parts == ["faults"]:
                sandbox.set_faults(float(data.get("rate", 0.0)), data.get("kinds"))
                self._json(200, {"rate": sandbox.faults.rate, "kinds": list(sandbox.faults.kinds)}, rec)
            elif method == "POST" and parts == ["seed"]:
                if data.get("offers"):
                    sandbox.seed_offers(
                        int(data["offers"]), duplicate_skus=int(data.get("duplicate_skus", 0))
                    )
                if data.get("orders"):
                    sandbox.seed_orders(
                        int(data["orders"]), days=float(data.get("days", 120)), states=data.get("states")
                    )
                self._json(200, sandbox.status(), rec)
            elif method == "POST" and parts == ["tick"]:
                events = sandbox.tick(float(data.get("seconds", 60)))
                self._json(
                    200,
                    {
                        "now": fmt(sandbox.clock.now()),
                        "events": {k: len(v) for k, v in events.items()},
                        "detail": events,
                    },
                    rec,
                )
            elif method == "POST" and parts == ["reset"]:
                sandbox.reset()
                self._json(200, sandbox.status(), rec)
            elif method == "POST" and parts == ["expire_tokens"]:
                sandbox.expire_tokens()
                self._json(200, {"expired": True}, rec)
            elif method == "POST" and parts == ["orders"]:
                created_at = parse(data["created_at"]) if data.get("created_at") else None
                order_id = sandbox.add_order(
                    state=data.get("state", "Created"),
                    lines=data.get("lines"),
                    created_at=created_at,
                    order_id=data.get("order_id"),
                    shipping_method=data.get("shipping_method"),
                )
                self._json(201, sandbox.order_json(order_id), rec)
            elif method == "GET" and len(parts) == 2 and parts[0] == "orders":
                self._json(200, sandbox.order_json(parts[1]), rec)
            elif method == "POST" and len(parts) == 3 and parts[0] == "orders" and parts[2] == "state":
                sandbox.set_order_state(parts[1], str(data.get("state", "")))
                self._json(200, sandbox.order_json(parts[1]), rec)
            else:
                self._json(404, {"error": f"unknown control endpoint {method} {path}"}, rec)
        except KeyError as exc:
            self._json(404, {"error": f"not found: {exc.args[0]}"}, rec)
        except (ValueError, TypeError) as exc:
            self._json(400, {"error": str(exc)}, rec)


class SandboxServer:
    """See the module docstring. All public methods are thread safe."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 1,
        offers: int = 0,
        orders: int = 0,
        fault_rate: float = 0.0,
        fault_kinds=None,
        token_ttl: float = 3600,
        batch_delay: float = 0.0,
        import_delay: float = 0.0,
        simulate: bool = False,
        credentials: SandboxCredentials | None = None,
        simulate_interval: float = 3.0,
        simulation: SimulationProfile | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.seed = seed
        self.token_ttl = token_ttl
        self.batch_delay = batch_delay
        self.import_delay = import_delay
        self.simulate = simulate
        self.simulate_interval = simulate_interval
        self.credentials = credentials or SandboxCredentials()
        self.mirakl_shop_id = MIRAKL_SHOP_ID
        self.clock = SimClock()
        self.state = Store()
        self.faults = FaultInjector(seed, fault_rate, fault_kinds)
        self.seeder = Seeder(self.state, self.clock, seed)
        self.seeder.shop_id = self.credentials.shop_id
        self.simulator = Simulator(self, seed, simulation)
        self.fnac = FnacApi(self)
        self.mirakl = MiraklApi(self)
        self._requests: list[RecordedRequest] = []
        self.max_recorded = 100_000  # oldest records are forgotten beyond this
        self._requests_lock = threading.Lock()
        self._seq = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sim_thread: threading.Thread | None = None
        self._stop = threading.Event()
        if offers:
            self.seed_offers(offers)
        if orders:
            self.seed_orders(orders)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._stop.clear()
        self._httpd = _HTTPServer((self.host, self._port), _Handler, self)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="fnac-sandbox-http",
            daemon=True,
        )
        self._thread.start()
        if self.simulate:
            self._sim_thread = threading.Thread(
                target=self._simulate_loop, name="fnac-sandbox-sim", daemon=True
            )
            self._sim_thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.close_connections()
            httpd.server_close()
        for thread in (self._thread, self._sim_thread):
            if thread is not None:
                thread.join(timeout=5)
        self._thread = self._sim_thread = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _simulate_loop(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(self.simulate_interval):
            now = time.monotonic()
            try:
                self.tick(now - last)
            except Exception:
                traceback.print_exc(file=sys.stderr)
            last = now

    # ---------------------------------------------------------------- addresses
    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the sandbox is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def fnac_url(self) -> str:
        return f"{self.base_url}/api.php/"

    @property
    def mirakl_url(self) -> str:
        return self.base_url

    # ---------------------------------------------------------------- request log
    def _record(self, api, service, path, method, body, fault, query) -> RecordedRequest:
        # keys and tokens are masked before they are kept: the log is served to anyone (redact.py)
        body, query = mask_body(body), mask_query(query)
        with self._requests_lock:
            self._seq += 1
            rec = RecordedRequest(
                seq=self._seq,
                api=api,
                service=service,
                path=path,
                method=method,
                body=body,
                at=self.clock.now(),
                fault=fault,
                query=query,
            )
            self._requests.append(rec)
            if len(self._requests) > self.max_recorded:  # a long-running demo must not grow forever
                del self._requests[: len(self._requests) - self.max_recorded]
            return rec

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._requests_lock:
            return list(self._requests)

    @property
    def last_seq(self) -> int:
        return self._seq

    def requests_for(self, service: str) -> list[RecordedRequest]:
        """Requests to a FNAC service (``offers_update``), a Mirakl code (``P41``) or a path."""
        return [r for r in self.requests if service in (r.service, r.path)]

    def clear_requests(self) -> None:
        with self._requests_lock:
            self._requests.clear()

    # ---------------------------------------------------------------- data
    def seed_offers(self, n: int, *, duplicate_skus: int = 0):
        return self.seeder.seed_offers(n, duplicate_skus)

    def seed_orders(self, n: int, *, days: float = 120, states=None) -> list[Order]:
        return self.seeder.seed_orders(n, days=days, states=states)

    def add_order(
        self,
        *,
        state: str = "Created",
        lines=None,
        created_at: dt.datetime | None = None,
        order_id: str | None = None,
        shipping_method: str | None = None,
    ) -> str:
        """Add one order. ``lines``: SKU strings or dicts (sku, quantity, price, product_state...); SKUs of
        seeded offers take the offer's data. ``order_id`` (13 characters) is generated when not given."""
        if order_id is not None and len(order_id) != 13:
            raise ValueError("order_id must be 13 characters (FNAC's order_id_restriction)")
        with self.state.lock:
            if order_id in self.state.orders:
                raise ValueError(f"order {order_id} already exists")
            now = self.clock.now()
            order = self.seeder.make_order(
                created_at or now,
                state,
                lines=lines,
                order_id=order_id,
                shipping_method=shipping_method,
                now=max(now, created_at or now),
            )
            self.state.orders[order.order_id] = order
            self.state.orders_changed()
            return order.order_id

    def set_order_state(self, order_id: str, state: str) -> Order:
        """FNAC/buyer side: pay (ToShip), Received, NotReceived, Cancelled, Refunded... (see force_state)."""
        with self.state.lock:
            order = self.state.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            force_state(order, state, self.clock.now())
            self.state.orders_changed()
            return order

    def order_json(self, order_id: str) -> dict:
        with self.state.lock:
            order = self.state.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            data = asdict(order)
            data.pop("xml_cache", None)
            return json.loads(json.dumps(data, default=_jsonable))

    def process_pending(self) -> None:
        """Apply offers_update batches and Mirakl imports whose delay has passed."""
        now = time.monotonic()
        with self.state.lock:
            if self.state.pending_batches:
                keep = []
                for batch in self.state.pending_batches:
                    if batch.due_mono <= now:
                        self.fnac.apply_batch(batch)
                    else:
                        keep.append(batch)
                self.state.pending_batches = keep
            if self.state.pending_imports:
                keep_imports = []
                for imp in self.state.pending_imports:
                    if imp.due_mono <= now:
                        self.mirakl.apply_import(imp)
                    else:
                        keep_imports.append(imp)
                self.state.pending_imports = keep_imports

    # ---------------------------------------------------------------- knobs
    def set_faults(self, rate: float, kinds=None) -> None:
        self.faults.set(rate, kinds)

    def expire_tokens(self) -> None:
        with self.state.lock:
            for token in self.state.tokens:
                self.state.tokens[token] = 0.0

    def tick(self, seconds: float) -> dict:
        self.process_pending()
        return self.simulator.tick(seconds)

    def reset(self) -> None:
        """Empty the marketplace (offers, orders, batches, imports, products, tokens, request log) and restart
        every random generator and the clock, so seeding again gives the same data."""
        with self.state.lock:
            self.state.reset()
            self.clock.reset()
            self.seeder.reseed()
            self.faults.reseed()
            self.simulator.reseed()
        self.clear_requests()

    def status(self) -> dict:
        counts = self.state.counts()
        return {
            **counts,
            "seed": self.seed,
            "now": fmt(self.clock.now()),
            "fnac_url": self.fnac_url if self._httpd else None,
            "mirakl_url": self.mirakl_url if self._httpd else None,
            "credentials": asdict(self.credentials),
            "mirakl_shop_id": self.mirakl_shop_id,
            "faults": {"rate": self.faults.rate, "kinds": list(self.faults.kinds)},
            "token_ttl": self.token_ttl,
            "batch_delay": self.batch_delay,
            "import_delay": self.import_delay,
            "simulate": self.simulate,
            "requests": len(self._requests),
            "last_seq": self._seq,
        }
