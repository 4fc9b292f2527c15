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
import random
import re
import sys
import threading
import time
import traceback
import uuid
from dataclasses import asdict

from fnac_connector.marketplace.fnac.limits import ORDER_ID_LENGTH

from .clock import SimClock, fmt
from .context import (
    DEFAULT_KEY,
    DEFAULT_MIRAKL_KEY,
    DEFAULT_PARTNER_ID,
    DEFAULT_SHOP_ID,
    MIRAKL_SHOP_ID,
    SandboxCredentials,
)
from .faults import FaultInjector
from .fnac_api import FnacApi
from .fnac_incidents import seed_claims
from .mirakl_api import IMPORT_OUTCOMES, MiraklApi
from .redact import mask_body, mask_query
from .seed import Seeder
from .simulation import SimulationProfile, Simulator, force_state
from .state import Order, Store
from .transport import RecordedRequest, SandboxHandler, SandboxHTTPServer, jsonable

__all__ = ["DEFAULT_KEY", "DEFAULT_MIRAKL_KEY", "DEFAULT_PARTNER_ID", "DEFAULT_SHOP_ID", "RecordedRequest",
           "SandboxCredentials", "SandboxServer"]


_SHOP_ATTR = re.compile(rb"""\bshop_id\s*=\s*["']([^"']+)["']""")
_SHOP_ELEM = re.compile(rb"<shop_id>([^<]+)</shop_id>")


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
        batch_jitter: float = 0.0,
        credentials: SandboxCredentials | None = None,
        simulate_interval: float = 3.0,
        simulation: SimulationProfile | None = None,
    ) -> None:
        self.host = host
        self._port = port
        self.seed = seed
        self.token_ttl = token_ttl
        self.batch_delay = batch_delay
        if not 0 <= batch_jitter < 1:
            raise ValueError(f"batch_jitter must be in [0, 1): a fraction of batch_delay, got {batch_jitter}")
        self.batch_jitter = batch_jitter
        self._batch_rng = random.Random(f"{seed}:batches")  # same seed, same batch durations
        self._batch_rng_lock = threading.Lock()
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
        self._httpd: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sim_thread: threading.Thread | None = None
        self._stop = threading.Event()
        # more shops served on this server's port (``add_shops``), by lower-case shop_id and by Mirakl key; each is
        # a whole marketplace of its own (offers, orders, batches, tokens, request log), none started on its own
        self.shops: dict[str, SandboxServer] = {}
        self._shops_by_mirakl_key: dict[str, SandboxServer] = {}
        self._shops_lock = threading.Lock()
        self._front: SandboxServer | None = None  # the server a registered shop is reached through
        if offers:
            self.seed_offers(offers)
        if orders:
            self.seed_orders(orders)

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> SandboxServer:
        if self._httpd is not None:
            return self
        self._stop.clear()
        self._httpd = SandboxHTTPServer((self.host, self._port), SandboxHandler, self)
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
        if self._front is not None:
            return self._front.port
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
        orders = self.seeder.seed_orders(n, days=days, states=states)
        with self.state.lock:  # buyers have opened claims on some of the shipped ones (issue 15)
            rng = random.Random(f"{self.seed}:claims:{len(self.state.incidents)}")
            seed_claims(self.state.incidents, orders, rng=rng, now=self.clock.now())
        return orders

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
        if order_id is not None and len(order_id) != ORDER_ID_LENGTH:
            raise ValueError(f"order_id must be {ORDER_ID_LENGTH} characters (FNAC's order_id_restriction)")
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

    def open_incident(self, order_id: str, *, order_detail_ids=None, type: int = 1, waiting: bool = True,
                      opened_by: str = "client", message: str | None = None) -> str:
        """A buyer claim (FNAC incident) on some lines of an order (default: its first line); returns its id."""
        with self.state.lock:
            order = self.state.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            incident = self.fnac.incidents.open_incident(order, now=self.clock.now(), order_detail_ids=order_detail_ids,
                                                         type=type, waiting=waiting, opened_by=opened_by,
                                                         message=message)
            return incident.incident_id

    def incident(self, incident_id: str):
        with self.state.lock:
            return self.state.incidents[incident_id]

    def order_json(self, order_id: str) -> dict:
        with self.state.lock:
            order = self.state.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            data = asdict(order)
            data.pop("xml_cache", None)
            return json.loads(json.dumps(data, default=jsonable))

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
                sim_now = now + self.clock.offset_seconds  # imports follow the simulated clock (/sandbox/tick)
                for imp in self.state.pending_imports:
                    if imp.due_mono <= sim_now:
                        self.mirakl.apply_import(imp)
                    else:
                        keep_imports.append(imp)
                self.state.pending_imports = keep_imports

    # ---------------------------------------------------------------- after-sale conversations (fnac_messages)
    def add_message(self, **kwargs):
        """One message (default: a buyer's, unread, on order ``referer``); see MessagesApi.add_message."""
        return self.fnac.messages.add_message(**kwargs)

    def seed_messages(self, n: int, **kwargs) -> list[str]:
        return self.fnac.messages.seed_messages(n, **kwargs)

    def add_comment(self, **kwargs):
        return self.fnac.messages.add_comment(**kwargs)

    def refuse_replies(self, message_ids) -> None:
        """From now on a reply to one of ``message_ids`` is refused (ERR_142, nothing applied); [] stops it."""
        self.fnac.messages.refuse_replies(message_ids)

    # ---------------------------------------------------------------- knobs
    def set_faults(self, rate: float, kinds=None) -> None:
        """The fault rate of this shop and of every shop registered on it."""
        self.faults.set(rate, kinds)
        for shop in self.shop_list():
            shop.faults.set(rate, kinds)

    def refuse(self, *, skus=(), order_ids=()) -> None:
        """From now on, refuse whole (ERR_096, nothing applied) every offers_update carrying one of ``skus`` and
        every orders_update carrying one of ``order_ids``, the way FNAC refuses a call it cannot validate; empty
        lists stop refusing."""
        with self.state.lock:
            self.state.refused_skus = {str(s) for s in skus}
            self.state.refused_order_ids = {str(o) for o in order_ids}

    def set_import_outcome(self, status: str) -> None:
        """Terminal status of the next Mirakl imports whose file transforms: COMPLETE (default), SENT, CANCELLED
        or FAILED (the operator's side; TRANSFORMATION_FAILED comes from the file itself)."""
        if status not in IMPORT_OUTCOMES:
            raise ValueError(f"import_outcome must be one of {', '.join(IMPORT_OUTCOMES)}")
        with self.state.lock:
            self.state.import_outcome = status

    def set_competitors(self, ean: str, offers: list[dict] | None) -> None:
        """Pin the other sellers' offers pricing_query shows for ``ean`` ([{type, state, price, shipping,
        seller}]); None goes back to the seeded offers that move over simulated time (fnac_pricing)."""
        self.fnac.pricing.set_competitors(ean, offers)

    def expire_tokens(self) -> None:
        with self.state.lock:
            for token in self.state.tokens:
                self.state.tokens[token] = 0.0

    def tick(self, seconds: float) -> dict:
        """Time passes for this shop and for every shop registered on it (their events are not returned)."""
        self.process_pending()
        events = self.simulator.tick(seconds)
        for shop in self.shop_list():
            shop.tick(seconds)
        return events

    # ---------------------------------------------------------------- many shops on one server
    def add_shops(self, count: int, *, offers: int = 0, orders: int = 0,
                  new_order_every: float | None = None) -> list[SandboxServer]:
        """Register ``count`` more shops served on this server's port, each with its own credentials (derived from
        the seed and the shop's number, so a rerun gives the same), catalogue of ``offers`` offers and ``orders``
        orders, and the same batch timing and token lifetime. FNAC serves every seller on one URL and tells them
        apart by the partner_id/shop_id of each call; so does the sandbox (``shop_for_fnac``); Mirakl calls by
        their API key (``shop_for_mirakl``). ``new_order_every`` (seconds) sets each shop's order stream on ticks."""
        if not 1 <= count <= 10_000:
            raise ValueError(f"count must be between 1 and 10000 shops, got {count}")
        if offers < 0 or orders < 0:
            raise ValueError("offers and orders must be >= 0")
        profile = SimulationProfile(new_order_every=float(new_order_every)) if new_order_every else None
        if profile is not None and profile.new_order_every <= 0:
            raise ValueError("new_order_every must be > 0 seconds")
        added = []
        with self._shops_lock:
            first = len(self.shops) + 1
            for number in range(first, first + count):
                def ident(what: str, number=number) -> str:
                    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fnac-sandbox:{self.seed}:{what}:{number}"))

                shop = SandboxServer(
                    host=self.host, seed=self.seed * 100_000 + number, token_ttl=self.token_ttl,
                    batch_delay=self.batch_delay, batch_jitter=self.batch_jitter, import_delay=self.import_delay,
                    credentials=SandboxCredentials(partner_id=ident("partner"), shop_id=ident("shop"),
                                                   key=ident("key"), mirakl_key=ident("mirakl")),
                    simulation=profile, offers=offers, orders=orders)
                shop._front = self
                shop.mirakl_shop_id = MIRAKL_SHOP_ID + number
                shop.faults.set(self.faults.rate, self.faults.kinds)
                self.shops[shop.credentials.shop_id.lower()] = shop
                self._shops_by_mirakl_key[shop.credentials.mirakl_key] = shop
                added.append(shop)
        return added

    def shop_list(self) -> list[SandboxServer]:
        with self._shops_lock:
            return list(self.shops.values())

    def shop(self, shop_id: str) -> SandboxServer:
        """A registered shop by its shop_id (KeyError when there is none); this server for its own shop_id."""
        if shop_id.lower() == self.credentials.shop_id.lower():
            return self
        with self._shops_lock:
            return self.shops[shop_id.lower()]

    def shop_for_fnac(self, body: bytes) -> SandboxServer:
        """The shop an FNAC call is for: the ``shop_id`` attribute of its root (or the ``<shop_id>`` of ``auth``).
        Anything else goes to this server's own shop, whose authentication then refuses it as FNAC would."""
        if not self.shops:
            return self
        head = body[:4096]
        found = _SHOP_ATTR.search(head) or _SHOP_ELEM.search(head)
        if found is None:
            return self
        with self._shops_lock:
            return self.shops.get(found.group(1).decode("utf-8", "replace").strip().lower(), self)

    def shop_for_mirakl(self, authorization: str | None) -> SandboxServer:
        if not self.shops or not authorization:
            return self
        with self._shops_lock:
            return self._shops_by_mirakl_key.get(authorization.strip(), self)

    def shop_json(self) -> dict:
        return {"credentials": asdict(self.credentials), "mirakl_shop_id": self.mirakl_shop_id,
                **self.state.counts(), "requests": len(self._requests), "last_seq": self._seq}

    def reset(self) -> None:
        """Empty the marketplace (offers, orders, batches, imports, products, tokens, request log) and restart
        every random generator and the clock, so seeding again gives the same data."""
        with self.state.lock:
            self.state.reset()
            self.clock.reset()
            self.seeder.reseed()
            self.faults.reseed()
            self.simulator.reseed()
        with self._shops_lock:  # the shops registered with add_shops are gone too
            self.shops.clear()
            self._shops_by_mirakl_key.clear()
        self.clear_requests()

    def batch_duration(self) -> float:
        """Seconds the next offers_update batch takes from ACTIVE to its final status: ``batch_delay`` spread by
        ``batch_jitter`` (0.5: anywhere from half to one and a half times it), drawn from the seed."""
        if self.batch_delay <= 0:
            return 0.0
        with self._batch_rng_lock:
            spread = self._batch_rng.uniform(-self.batch_jitter, self.batch_jitter) if self.batch_jitter else 0.0
        return self.batch_delay * (1 + spread)

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
            "batch_jitter": self.batch_jitter,
            "import_delay": self.import_delay,
            "simulate": self.simulate,
            "requests": len(self._requests),
            "last_seq": self._seq,
            "shops": len(self.shops),
        }
