"""The FNAC Marketplace XML API of the sandbox: the service router, ``auth`` and ``carriers_query``.

Every request is parsed (no entities, no network) and validated against its per-service request XSD
(``fnac_xml``); every answer is ``<service>_response`` in the mp-dialog namespace with a ``status`` attribute,
HTTP 200, like FNAC. Offers live in ``fnac_offers``, orders and FNAC's order state rules in ``fnac_orders``.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid

from fnac_connector.marketplace.fnac.limits import AUTH_FAILED, ERROR_CODES, NOT_IMPLEMENTED, UNKNOWN_SERVICE

from . import fnac_xml as x
from .clock import fmt
from .context import SandboxContext
from .fnac_incidents import IncidentsApi
from .fnac_messages import MessagesApi
from .fnac_offers import OffersApi
from .fnac_orders import OrdersApi
from .fnac_pricing import PricingApi
from .fnac_xml import EXTRA_RESPONSE_ELEMENTS, SERVICE_XSD, RequestRejected, schema_for
from .state import Batch, Order

__all__ = ["EXTRA_RESPONSE_ELEMENTS", "FnacApi", "SANDBOX_ERROR_CODES", "schema_for"]

API_VERSION = "2.6.0-sandbox"
AUTH_ERROR = AUTH_FAILED

# the codes the sandbox answers with: every one of fnac_connector.marketplace.fnac.limits, where each says
# whether FNAC is known to use it (confirmed) or the sandbox picked it
SANDBOX_ERROR_CODES = {code: e.meaning for code, e in ERROR_CODES.items()}

UNIMPLEMENTED_SERVICES = (
    "batch_query",
    "prices_query",
    "sales_periods_query",
    "shop_invoices_query",
)


class FnacApi:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.state
        self.offers = OffersApi(ctx)
        self.orders = OrdersApi(ctx)
        self.pricing = PricingApi(ctx)
        self.messages = MessagesApi(ctx)
        # service -> handler of the validated request's root
        self.routes = {
            "auth": self._auth,
            "offers_query": self.offers.offers_query,
            "offers_update": self.offers.offers_update,
            "batch_status": self.offers.batch_status,
            "orders_query": self.orders.orders_query,
            "orders_update": self.orders.orders_update,
            "carriers_query": self._carriers_query,
            "pricing_query": self.pricing.pricing_query,
            "messages_query": self.messages.messages_query,
            "messages_update": self.messages.messages_update,
            "client_order_comments_query": self.messages.client_order_comments_query,
            "client_order_comments_update": self.messages.client_order_comments_update,
        }
        self.incidents = IncidentsApi(ctx)
        self.routes.update({"incidents_query": self.incidents.incidents_query,
                            "incidents_update": self.incidents.incidents_update})
        assert set(self.routes) == set(SERVICE_XSD), set(self.routes) ^ set(SERVICE_XSD)

    # ---------------------------------------------------------------- entry point
    def handle(self, service: str, body: bytes) -> bytes:
        if service in UNIMPLEMENTED_SERVICES:
            return x.response(service, "ERROR", [x.error(
                NOT_IMPLEMENTED, f"Service {service} is not implemented by the sandbox")])
        if service not in self.routes:
            safe = service if re.fullmatch(r"[a-z_]{1,60}", service or "") else "unknown"
            return x.response(safe, "FATAL", [x.error(UNKNOWN_SERVICE, f"Unknown service {service!r}", "FATAL")])
        try:
            root = x.parse_request(service, body)
            if service != "auth" and not self._token_ok(root):
                return self.auth_failure(service)
            self.ctx.process_pending()
            return self.routes[service](root)
        except RequestRejected as rejected:
            return rejected.body

    def auth_failure(self, service: str) -> bytes:
        return x.response(service, "FATAL", [x.error(
            AUTH_ERROR, "Authentication failed: the token is invalid or has expired, authenticate again", "FATAL")])

    # ---------------------------------------------------------------- used by the server and the tests
    def apply_batch(self, batch: Batch) -> None:
        self.offers.apply_batch(batch)

    def update_order(self, order_id: str, action: str, details: list[dict], now: dt.datetime) -> dict:
        return self.orders.update_order(order_id, action, details, now)

    def _order_xml(self, order: Order) -> str:
        return self.orders.order_xml(order)

    # ---------------------------------------------------------------- auth
    def _token_ok(self, root) -> bool:
        creds = self.ctx.credentials
        if root.get("partner_id", "").lower() != creds.partner_id.lower():
            return False
        if root.get("shop_id", "").lower() != creds.shop_id.lower():
            return False
        with self.store.lock:
            expiry = self.store.tokens.get(root.get("token", ""))
        return expiry is not None and expiry > time.time()

    def _auth(self, root) -> bytes:
        creds = self.ctx.credentials
        ok = ((x.text(root, "partner_id") or "").lower() == creds.partner_id.lower()
              and (x.text(root, "shop_id") or "").lower() == creds.shop_id.lower()
              and (x.text(root, "key") or "") == creds.key)
        if not ok:
            return x.response("auth", "ERROR", [x.error(AUTH_ERROR, "Authentication failed: unknown partner_id, "
                                                                    "shop_id or key")])
        token = str(uuid.uuid4())
        ttl = self.ctx.token_ttl
        now_real = time.time()
        with self.store.lock:
            for old in [t for t, exp in self.store.tokens.items() if exp <= now_real]:
                del self.store.tokens[old]
            self.store.tokens[token] = now_real + ttl
        validity = self.ctx.clock.now() + dt.timedelta(seconds=ttl)
        return x.response("auth", "OK", [x.element("token", token), x.element("validity", fmt(validity)),
                                         x.element("version", API_VERSION)])

    # ---------------------------------------------------------------- carriers_query
    def _carriers_query(self, root) -> bytes:
        carriers = []
        for code, name in self.store.carriers:
            carrier = x.element("carrier", global_="1", code=code)
            x.sub(carrier, "name", name)
            carriers.append(carrier)
        return x.response("carriers_query", "OK", carriers)
