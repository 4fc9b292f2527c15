"""The FNAC Marketplace XML API of the sandbox: one handler per service, wire format straight from the XSDs.

Every request is parsed (no entities, no network) and validated against its per-service request XSD (the
vendored copy in ``fnac_connector/marketplace/fnac/xsd``). Every answer is ``<service>_response`` in the
mp-dialog namespace with a ``status`` attribute, HTTP 200, like FNAC.

Sandbox rules worth knowing (also in the README of the report):

* Unknown products: an ``offers_update`` product_reference is unknown (``ERR_026 Product not found``) when it
  is not in the sandbox catalogue AND (it starts with ``000`` OR, for Ean/Isbn, it is not 8-14 digits, an
  ISBN-10 may end with X). Every other reference is accepted (FNAC's catalogue is huge) and joins the
  catalogue. Products created by a Mirakl P41 import join the catalogue too, so ``000...`` EANs become known
  once imported.
* offers_update XSD errors confined to one ``offer`` (price out of 0.90..20000, quantity > 9999, description >
  255 chars, missing offer_reference...) fail that offer only, inside the batch; any other XSD error is FATAL.
* orders_update: per-order status OK (every line applied), WARNING (some lines applied) or ERROR (nothing);
  the root status is OK when every order is OK, ERROR when every order is ERROR, else WARNING.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import threading
import time
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from lxml import etree

from fnac_connector.marketplace.fnac.limits import (
    AUTH_FAILED,
    ERROR_CODES,
    MAX_OFFERS_PER_UPDATE,
    MAX_ORDERS_PER_UPDATE,
    MAX_PRICE,
    MIN_PRICE,
    PRODUCT_NOT_FOUND,
)
from fnac_connector.marketplace.fnac.types import NAMESPACE

from .clock import fmt, parse
from .state import Batch, Offer, Order, Product, money

if TYPE_CHECKING:
    from .server import SandboxServer

XSD_DIR = Path(__file__).resolve().parent.parent / "marketplace" / "fnac" / "xsd"
API_VERSION = "2.6.0-sandbox"
AUTH_ERROR = AUTH_FAILED

# the codes the sandbox answers with; their meaning is in fnac_connector.marketplace.fnac.limits
SANDBOX_ERROR_CODES = {code: ERROR_CODES[code].meaning for code in (
    "ERR_001", "ERR_026", "ERR_097", "ERR_101", "ERR_102", "ERR_103", "ERR_104", "ERR_105", "ERR_106", "ERR_107",
    "ERR_108", "ERR_110", "ERR_111", "ERR_112", "ERR_113", "ERR_114", "ERR_115", "ERR_116", "ERR_117", "ERR_118")}

SERVICE_XSD = {
    "auth": "AuthenticationService.xsd",
    "offers_query": "OffersQueryService.xsd",
    "offers_update": "OffersUpdateService.xsd",
    "batch_status": "BatchStatusService.xsd",
    "orders_query": "OrdersQueryService.xsd",
    "orders_update": "OrdersUpdateService.xsd",
    "carriers_query": "CarriersQueryService.xsd",
}
NOT_IMPLEMENTED = (
    "batch_query",
    "client_order_comments_query",
    "client_order_comments_update",
    "incidents_query",
    "incidents_update",
    "messages_query",
    "messages_update",
    "pricing_query",
    "prices_query",
    "sales_periods_query",
    "shop_invoices_query",
)
# Elements the sandbox adds to answers although the 2018 response XSDs do not list them (the live API does).
EXTRA_RESPONSE_ELEMENTS = {
    "offers_query": ("ean",),
    "orders_query": ("updated_at", "tracking_company"),
}

MAX_RESULTS_COUNT = 1000
_OFFER_PATH = re.compile(r"^/\*/\*\[(\d+)\](?:/|$)")
_SCHEMAS: dict[str, tuple[etree.XMLSchema, threading.Lock]] = {}
_SCHEMAS_LOCK = threading.Lock()


def schema_for(service: str) -> tuple[etree.XMLSchema, threading.Lock]:
    """The request/response schema of a service (loaded once; use it under the returned lock)."""
    with _SCHEMAS_LOCK:
        if service not in _SCHEMAS:
            doc = etree.parse(str(XSD_DIR / SERVICE_XSD[service]))
            _SCHEMAS[service] = (etree.XMLSchema(doc), threading.Lock())
        return _SCHEMAS[service]


def _q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def _local(el) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text(parent, tag: str) -> str | None:
    el = parent.find(_q(tag))
    if el is None:
        return None
    return (el.text or "").strip()


def _e(tag: str, value) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _err(code: str, message: str, severity: str = "ERROR") -> str:
    return f'<error severity="{severity}" code="{code}">{escape(message)}</error>'


def response(service: str, status: str, inner: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<{service}_response xmlns="{NAMESPACE}" status="{status}">'
        f"{inner}</{service}_response>"
    ).encode()


class RequestRejected(Exception):  # noqa: N818 - a control-flow signal carrying the answer
    def __init__(self, body: bytes) -> None:
        super().__init__("rejected")
        self.body = body


def _carrier_index(carriers) -> dict[str, str]:
    index = {}
    for code, name in carriers:
        index[code.upper()] = code
        index[name.upper()] = code
    return index


class FnacApi:
    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.store = server.state
        self._carriers = _carrier_index(self.store.carriers)

    # ---------------------------------------------------------------- entry point
    def handle(self, service: str, body: bytes) -> bytes:
        if service in NOT_IMPLEMENTED:
            return response(
                service, "ERROR", _err("ERR_102", f"Service {service} is not implemented by the sandbox")
            )
        if service not in SERVICE_XSD:
            safe = service if re.fullmatch(r"[a-z_]{1,60}", service or "") else "unknown"
            return response(safe, "FATAL", _err("ERR_101", f"Unknown service {service!r}", "FATAL"))
        try:
            root, offer_errors = self._parse(service, body)
            if service != "auth" and not self._token_ok(root):
                return self.auth_failure(service)
            self.server.process_pending()
            handler = getattr(self, f"_{service}")
            if service == "offers_update":
                return handler(root, offer_errors)
            return handler(root)
        except RequestRejected as rejected:
            return rejected.body

    def auth_failure(self, service: str) -> bytes:
        return response(
            service,
            "FATAL",
            _err(
                AUTH_ERROR,
                "Authentication failed: the token is invalid or has expired, authenticate again",
                "FATAL",
            ),
        )

    # ---------------------------------------------------------------- parsing / validation
    def _parse(self, service: str, body: bytes):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, load_dtd=False)
        try:
            root = etree.fromstring(body, parser)
        except etree.XMLSyntaxError as exc:
            raise RequestRejected(
                response(service, "FATAL", _err("ERR_001", f"XML not well-formed: {exc}", "FATAL"))
            )
        if root.tag != _q(service):
            raise RequestRejected(
                response(
                    service,
                    "FATAL",
                    _err(
                        "ERR_001",
                        f"Expected root element <{service}> in namespace {NAMESPACE}, got {root.tag}",
                        "FATAL",
                    ),
                )
            )
        schema, lock = schema_for(service)
        with lock:
            valid = schema.validate(root)
            log = [(e.path, e.message) for e in schema.error_log] if not valid else []
        offer_errors: dict[int, list[str]] = {}
        if log:
            fatal = []
            for path, message in log:
                match = _OFFER_PATH.match(path or "") if service == "offers_update" else None
                if match:
                    offer_errors.setdefault(int(match.group(1)), []).append(message)
                else:
                    fatal.append(message)
            if fatal:
                text = "; ".join(fatal[:5]) + (f" (+{len(fatal) - 5} more)" if len(fatal) > 5 else "")
                raise RequestRejected(
                    response(service, "FATAL", _err("ERR_001", f"Invalid request: {text}", "FATAL"))
                )
        return root, offer_errors

    def _token_ok(self, root) -> bool:
        creds = self.server.credentials
        if root.get("partner_id", "").lower() != creds.partner_id.lower():
            return False
        if root.get("shop_id", "").lower() != creds.shop_id.lower():
            return False
        token = root.get("token", "")
        with self.store.lock:
            expiry = self.store.tokens.get(token)
        return expiry is not None and expiry > time.time()

    # ---------------------------------------------------------------- auth
    def _auth(self, root) -> bytes:
        creds = self.server.credentials
        ok = (
            (_text(root, "partner_id") or "").lower() == creds.partner_id.lower()
            and (_text(root, "shop_id") or "").lower() == creds.shop_id.lower()
            and (_text(root, "key") or "") == creds.key
        )
        if not ok:
            return response(
                "auth", "ERROR", _err(AUTH_ERROR, "Authentication failed: unknown partner_id, shop_id or key")
            )
        token = str(uuid.uuid4())
        ttl = self.server.token_ttl
        now_real = time.time()
        with self.store.lock:
            for old in [t for t, exp in self.store.tokens.items() if exp <= now_real]:
                del self.store.tokens[old]
            self.store.tokens[token] = now_real + ttl
        validity = self.server.clock.now() + dt.timedelta(seconds=ttl)
        return response(
            "auth", "OK", _e("token", token) + _e("validity", fmt(validity)) + _e("version", API_VERSION)
        )

    # ---------------------------------------------------------------- paging helpers
    @staticmethod
    def _paging(root) -> tuple[int, int]:
        try:
            size = int(root.get("results_count") or 100)
        except ValueError:
            size = 100
        size = max(1, min(size, MAX_RESULTS_COUNT))
        paging = _text(root, "paging")
        try:
            page = int(paging) if paging else 1
        except ValueError:
            page = 1
        return size, max(page, 1)

    @staticmethod
    def _date_range(el, service: str):
        try:
            lo = _text(el, "min")
            hi = _text(el, "max")
            return (parse(lo) if lo else None), (parse(hi) if hi else None)
        except ValueError as exc:
            raise RequestRejected(
                response(service, "FATAL", _err("ERR_001", f"Invalid date: {exc}", "FATAL"))
            )

    @staticmethod
    def _page_header(page: int, size: int, total: int) -> str:
        return (
            _e("page", page)
            + _e("total_paging", math.ceil(total / size))
            + _e("nb_total_per_page", size)
            + _e("nb_total_result", total)
        )

    # ---------------------------------------------------------------- offers_query
    def _offers_query(self, root) -> bytes:
        size, page = self._paging(root)
        key: list = []
        preds = []
        multi: dict[str, set] = {}
        for el in root:
            name = _local(el)
            if name == "date":
                kind = el.get("type")
                lo, hi = self._date_range(el, "offers_query")
                attr = "created_at" if kind == "Created" else "modified_at"
                key.append(("date", attr, lo, hi))
                preds.append(
                    lambda o, a=attr, lo=lo, hi=hi: (
                        (lo is None or getattr(o, a) >= lo) and (hi is None or getattr(o, a) <= hi)
                    )
                )
            elif name == "quantity":
                mode, value = el.get("mode", "Equals"), int(el.get("value", "0"))
                key.append(("qty", mode, value))
                cmp = {
                    "Equals": lambda q, v: q == v,
                    "LessThan": lambda q, v: q < v,
                    "GreaterThan": lambda q, v: q > v,
                    "LessThanOrEquals": lambda q, v: q <= v,
                    "GreaterThanOrEquals": lambda q, v: q >= v,
                }[mode]
                preds.append(lambda o, c=cmp, v=value: c(o.quantity, v))
            elif name in ("product_fnac_id", "offer_fnac_id", "offer_seller_id"):
                multi.setdefault(name, set()).add((el.text or "").strip())
        attr_of = {
            "product_fnac_id": "product_fnac_id",
            "offer_fnac_id": "offer_fnac_id",
            "offer_seller_id": "sku",
        }
        for name, values in sorted(multi.items()):
            key.append((name, tuple(sorted(values))))
            if name == "offer_fnac_id":
                values = {v.upper() for v in values}
                preds.append(lambda o, vs=values: o.offer_fnac_id.upper() in vs)
            else:
                preds.append(lambda o, a=attr_of[name], vs=values: getattr(o, a) in vs)
        predicate = (lambda o: all(p(o) for p in preds)) if preds else None
        with self.store.lock:
            offers = self.store.sorted_offers(tuple(key), predicate)
            total = len(offers)
            chunk = offers[(page - 1) * size : page * size]
            parts = [self._offer_xml(o) for o in chunk]
        return response("offers_query", "OK", self._page_header(page, size, total) + "".join(parts))

    @staticmethod
    def _offer_xml(offer: Offer) -> str:
        if offer.xml_cache is None:
            extra = ""
            if offer.time_to_ship is not None:
                extra += _e("time_to_ship", offer.time_to_ship)
            offer.xml_cache = (
                "<offer>"
                + _e("product_name", offer.product_name)
                + _e("product_fnac_id", offer.product_fnac_id)
                + _e("offer_fnac_id", offer.offer_fnac_id)
                + _e("offer_seller_id", offer.sku)
                + _e("price", offer.price)
                + _e("fee_excluding_taxes", offer.fee_excluding_taxes)
                + _e("fee_including_all_taxes", offer.fee_including_all_taxes)
                + _e("product_state", offer.product_state)
                + _e("quantity", offer.quantity)
                + _e("description", offer.description)
                + _e("internal_comment", offer.internal_comment)
                + _e("product_url", offer.product_url)
                + _e("image", offer.image)
                + _e("nb_messages", 0)
                + extra
                + _e("ean", offer.ean)
                + "</offer>"
            )
        return offer.xml_cache

    # ---------------------------------------------------------------- offers_update / batch_status
    def _offers_update(self, root, offer_errors: dict[int, list[str]]) -> bytes:
        children = [el for el in root if _local(el) == "offer"]
        if len(children) > MAX_OFFERS_PER_UPDATE:
            return response(
                "offers_update",
                "ERROR",
                _err("ERR_103", f"Too many offers in one call: {len(children)} > {MAX_OFFERS_PER_UPDATE}"),
            )
        items = []
        for index, el in enumerate(children, start=1):
            item = self._offer_item(el)
            if index in offer_errors:
                item["xsd_errors"] = offer_errors[index]
            items.append(item)
        delay = self.server.batch_delay
        now_mono = time.monotonic()
        batch = Batch(
            batch_id=str(uuid.uuid4()), created_mono=now_mono, due_mono=now_mono + delay, items=items
        )
        with self.store.lock:
            self.store.batches[batch.batch_id] = batch
            if delay <= 0:
                self.apply_batch(batch)
            else:
                self.store.pending_batches.append(batch)
        return response("offers_update", "OK", _e("batch_id", batch.batch_id))

    @staticmethod
    def _offer_item(el) -> dict:
        item: dict = {"pictures": []}
        for child in el:
            name = _local(child)
            text = (child.text or "").strip()
            if name == "offer_reference":
                item["sku"] = text
                item["sku_type"] = child.get("type", "SellerSku")
            elif name == "product_reference":
                item["reference"] = text
                item["reference_type"] = child.get("type", "Ean")
            elif name == "pictures":
                item["pictures"] = [
                    (p.text or "").strip() for p in sorted(child, key=_local) if (p.text or "").strip()
                ]
            elif name in (
                "price",
                "product_state",
                "quantity",
                "description",
                "internal_comment",
                "treatment",
                "logistic_type_id",
                "time_to_ship",
                "showcase",
            ):
                item[name] = child.text or ""
        return item

    def apply_batch(self, batch: Batch) -> None:
        """Apply a due batch (caller holds the store lock)."""
        now = self.server.clock.now()
        results = []
        for item in batch.items:
            results.append(self._apply_offer(item, now))
        batch.results = results
        statuses = {r["status"] for r in results}
        batch.status = "OK" if statuses <= {"OK"} else "ERROR" if statuses == {"ERROR"} else "WARNING"
        batch.done = True
        batch.applied_at = now
        self.store.offers_changed()

    def _known_product(self, ref_type: str, value: str) -> Product | None:
        value = value.strip()
        products = self.store.products
        if ref_type == "FnacId":
            for product in products.values():
                if product.product_fnac_id == value:
                    return product
        elif value in products:
            return products[value]
        if not value or value.startswith("000"):
            return None
        if ref_type in ("Ean", "Isbn") and not (
            re.fullmatch(r"\d{8,14}", value) or re.fullmatch(r"\d{9}[\dX]", value)
        ):
            return None
        digest = int(hashlib.sha1(value.encode()).hexdigest(), 16)
        return Product(
            ean=value,
            product_fnac_id=str(10_000_000 + digest % 89_999_999),
            name=f"Produit {value}",
            source="implicit",
            image=f"https://static.sandbox.invalid/images/{value}.jpg",
        )

    def _apply_offer(self, item: dict, now: dt.datetime) -> dict:
        sku = item.get("sku", "")
        result = {"status": "ERROR", "sku": sku, "offer_fnac_id": "", "product_fnac_id": "", "errors": []}

        def fail(code: str, message: str) -> dict:
            result["errors"].append((code, message))
            return result

        if item.get("xsd_errors"):
            for message in item["xsd_errors"]:
                code = (
                    "ERR_105"
                    if re.search(r"\}(price|instead_of_price|adherent_price)'", message)
                    else "ERR_104"
                )
                result["errors"].append((code, message))
            return result
        store = self.store
        if item.get("sku_type") == "FnacId":
            existing = [o for o in store.all_offers() if o.offer_fnac_id.upper() == sku.upper()]
            if not existing:
                return fail("ERR_107", f"Offer {sku} not found")
            sku = existing[0].sku
            result["sku"] = sku
        else:
            existing = store.offers_with_sku(sku)
        if (item.get("treatment") or "").strip() == "delete":
            if not existing:
                return fail("ERR_107", f"Offer {sku} not found, nothing to delete")
            store.offers.pop(sku, None)
            store.duplicate_offers = [o for o in store.duplicate_offers if o.sku != sku]
            result.update(
                status="OK",
                offer_fnac_id=existing[0].offer_fnac_id,
                product_fnac_id=existing[0].product_fnac_id,
            )
            return result
        price = None
        if item.get("price") not in (None, ""):
            try:
                price = Decimal(item["price"].strip())
            except InvalidOperation:
                return fail("ERR_105", f"Invalid price {item['price']!r}")
            if not MIN_PRICE <= price <= MAX_PRICE:
                return fail("ERR_105", f"Price {price} out of range ({MIN_PRICE} to {MAX_PRICE})")
        product = None
        if item.get("reference"):
            product = self._known_product(item.get("reference_type", "Ean"), item["reference"])
            if product is None:
                return fail(
                    PRODUCT_NOT_FOUND,
                    f"Product not found: {item.get('reference_type', 'Ean')} "
                    f"{item['reference']} is unknown to the catalogue",
                )
        if not existing:
            if product is None:
                return fail(
                    "ERR_106", f"Offer {sku} does not exist: a product_reference is required to create it"
                )
            if price is None:
                return fail("ERR_108", f"Offer {sku} does not exist: a price is required to create it")
            if product.source == "implicit":
                store.products.setdefault(product.ean, product)
            offer = Offer(
                sku=sku,
                offer_fnac_id=str(uuid.uuid4()).upper(),
                product_fnac_id=product.product_fnac_id,
                ean=product.ean,
                product_name=product.name,
                price=money(price),
                quantity=1,
                product_state="11",
                created_at=now,
                modified_at=now,
                product_url=f"https://www.fnac.com/a{product.product_fnac_id}/sandbox",
                image=product.image,
            )
            store.offers[sku] = offer
            existing = [offer]
        elif product is not None and product.source == "implicit":
            store.products.setdefault(product.ean, product)
        for offer in existing:
            if price is not None:
                offer.price = money(price)
            if item.get("quantity") not in (None, ""):
                offer.quantity = int(item["quantity"])
            if item.get("product_state"):
                offer.product_state = item["product_state"].strip()
            if "description" in item:
                offer.description = item["description"]
            if "internal_comment" in item:
                offer.internal_comment = item["internal_comment"]
            if item.get("pictures"):
                offer.pictures = list(item["pictures"])
                offer.image = offer.pictures[0]
            if item.get("logistic_type_id"):
                offer.logistic_type_id = item["logistic_type_id"]
            if item.get("time_to_ship"):
                offer.time_to_ship = int(item["time_to_ship"])
            if item.get("showcase"):
                offer.showcase = int(item["showcase"])
            offer.changed(now)
        result.update(
            status="OK", offer_fnac_id=existing[0].offer_fnac_id, product_fnac_id=existing[0].product_fnac_id
        )
        return result

    def _batch_status(self, root) -> bytes:
        batch_id = _text(root, "batch_id") or ""
        with self.store.lock:
            batch = self.store.batches.get(batch_id)
            if batch is None:
                return response("batch_status", "ERROR", _err("ERR_110", f"Unknown batch_id {batch_id}"))
            if not batch.done:
                elapsed = time.monotonic() - batch.created_mono
                status = "ACTIVE" if elapsed < (batch.due_mono - batch.created_mono) / 2 else "RUNNING"
                return response("batch_status", status, _e("batch_id", batch.batch_id))
            parts = [_e("batch_id", batch.batch_id)]
            for r in batch.results:
                inner = ""
                if r["product_fnac_id"]:
                    inner += _e("product_fnac_id", r["product_fnac_id"])
                if r["offer_fnac_id"]:
                    inner += _e("offer_fnac_id", r["offer_fnac_id"])
                inner += _e("offer_seller_id", r["sku"])
                inner += "".join(_err(code, msg) for code, msg in r["errors"])
                parts.append(f'<offer status="{r["status"]}">{inner}</offer>')
            return response("batch_status", batch.status, "".join(parts))

    # ---------------------------------------------------------------- orders_query
    def _orders_query(self, root) -> bytes:
        size, page = self._paging(root)
        key: list = []
        preds = []
        states: set[str] = set()
        ids: set[str] = set()
        multi: dict[str, set] = {}
        descending = True
        for el in root:
            name = _local(el)
            if name == "date":
                kind = el.get("type", "CreatedAt")
                lo, hi = self._date_range(el, "orders_query")
                key.append(("date", kind, lo, hi))

                def by_date(o, k=kind, lo=lo, hi=hi):
                    value = o.date_of(k)
                    return value is not None and (lo is None or value >= lo) and (hi is None or value <= hi)

                preds.append(by_date)
            elif name == "state":
                states.add((el.text or "").strip())
            elif name == "states":
                states.update((s.text or "").strip() for s in el)
            elif name == "sort_by":
                descending = (el.text or "").strip() != "ASC"
            elif name == "order_fnac_id":
                ids.add((el.text or "").strip())
            elif name == "orders_fnac_id":
                ids.update((s.text or "").strip() for s in el)
            elif name in ("product_fnac_id", "offer_fnac_id", "offer_seller_id"):
                multi.setdefault(name, set()).add((el.text or "").strip())
        if states:
            key.append(("states", tuple(sorted(states))))
            preds.append(lambda o, s=frozenset(states): o.state in s)
        if ids:
            key.append(("ids", tuple(sorted(ids))))
            preds.append(lambda o, s=frozenset(ids): o.order_id in s)
        line_attr = {
            "product_fnac_id": "product_fnac_id",
            "offer_fnac_id": "offer_fnac_id",
            "offer_seller_id": "sku",
        }
        for name, values in sorted(multi.items()):
            key.append((name, tuple(sorted(values))))
            preds.append(
                lambda o, a=line_attr[name], vs=frozenset(values): any(getattr(li, a) in vs for li in o.lines)
            )
        predicate = (lambda o: all(p(o) for p in preds)) if preds else None
        with self.store.lock:
            if ids and len(key) == 1:  # only ids: direct look-up, no sort of the whole book
                orders = sorted(
                    (self.store.orders[i] for i in ids if i in self.store.orders),
                    key=lambda o: (o.created_at, o.order_id),
                    reverse=descending,
                )
            else:
                orders = self.store.sorted_orders(tuple(key), predicate, descending)
            total = len(orders)
            chunk = orders[(page - 1) * size : page * size]
            parts = [self._order_xml(o) for o in chunk]
        return response("orders_query", "OK", self._page_header(page, size, total) + "".join(parts))

    @staticmethod
    def _address_xml(tag: str, a) -> str:
        inner = _e("firstname", a.firstname) + _e("lastname", a.lastname)
        if a.company:
            inner += _e("company", a.company)
        inner += _e("address1", a.address1) + _e("address2", a.address2) + _e("address3", a.address3)
        inner += _e("zipcode", a.zipcode) + _e("city", a.city) + _e("country", a.country)
        inner += _e("phone", a.phone) + _e("mobile", a.mobile)
        return f"<{tag}>{inner}</{tag}>"

    def _order_xml(self, order: Order) -> str:
        if order.xml_cache is not None:
            return order.xml_cache
        parts = [
            "<order>",
            _e("shop_id", order.shop_id),
            _e("client_id", order.client_id),
            _e("client_firstname", order.client_firstname),
            _e("client_lastname", order.client_lastname),
            _e("client_email", order.client_email),
            _e("order_id", order.order_id),
            _e("client_culture", "fr_FR"),
            _e("state", order.state),
            _e("created_at", fmt(order.created_at)),
            _e("updated_at", fmt(order.updated_at)),
            _e("fees", order.fees),
            _e("vat_rate", order.vat_rate),
            _e("nb_messages", 0),
            _e("delivery_note", order.delivery_note),
            self._address_xml("shipping_address", order.shipping_address),
            self._address_xml("billing_address", order.billing_address),
        ]
        for line in order.lines:
            parts.append("<order_detail>")
            parts += [
                _e("order_detail_id", line.order_detail_id),
                _e("state", line.state),
                _e("product_fnac_id", line.product_fnac_id),
                _e("product_name", line.product_name),
                _e("offer_fnac_id", line.offer_fnac_id),
                _e("offer_seller_id", line.sku),
                _e("price", line.price),
                _e("fees", line.fees),
                _e("product_state", line.product_state),
                _e("quantity", line.quantity),
                _e("created_at", fmt(line.created_at or order.created_at)),
            ]
            if line.debited_at:
                parts.append(_e("debited_at", fmt(line.debited_at)))
            parts.append(_e("received_at", fmt(line.received_at)))
            if line.refused_at:
                parts.append(_e("refused_at", fmt(line.refused_at)))
            parts += [_e("product_url", line.product_url), _e("image", line.image)]
            if line.tracking_number:
                parts.append(_e("tracking_number", line.tracking_number))
            if line.tracking_company:
                parts.append(_e("tracking_company", line.tracking_company))
            parts += [
                _e("shipping_price", line.shipping_price),
                _e("shipping_method", line.shipping_method),
                "</order_detail>",
            ]
        parts.append("</order>")
        order.xml_cache = "".join(parts)
        return order.xml_cache

    # ---------------------------------------------------------------- orders_update
    def _orders_update(self, root) -> bytes:
        children = [el for el in root if _local(el) == "order"]
        if len(children) > MAX_ORDERS_PER_UPDATE:
            return response(
                "orders_update",
                "ERROR",
                _err("ERR_103", f"Too many orders in one call: {len(children)} > {MAX_ORDERS_PER_UPDATE}"),
            )
        results = []
        with self.store.lock:
            now = self.server.clock.now()
            for el in children:
                details = []
                for d in el:
                    if _local(d) != "order_detail":
                        continue
                    raw_id = _text(d, "order_detail_id")
                    details.append(
                        {
                            "order_detail_id": int(raw_id) if raw_id else None,
                            "action": _text(d, "action") or "",
                            "tracking_number": _text(d, "tracking_number"),
                            "tracking_company": _text(d, "tracking_company"),
                            "refund_reason": _text(d, "refund_reason"),
                        }
                    )
                results.append(self.update_order(el.get("order_id", ""), el.get("action", ""), details, now))
        statuses = {r["status"] for r in results}
        root_status = "OK" if statuses <= {"OK"} else "ERROR" if statuses == {"ERROR"} else "WARNING"
        parts = []
        for r in results:
            inner = _e("status", r["status"]) + _e("order_id", r["order_id"])
            if r["state"]:
                inner += _e("state", r["state"])
            inner += "".join(_err(c, m) for c, m in r["errors"])
            for line_id, status, state, errors in r["lines"]:
                line_inner = _e("order_detail_id", line_id) + _e("status", status)
                if state:
                    line_inner += _e("state", state)
                line_inner += "".join(_err(c, m) for c, m in errors)
                inner += f"<order_detail>{line_inner}</order_detail>"
            parts.append(f"<order>{inner}</order>")
        return response("orders_update", root_status, "".join(parts))

    ORDER_ACTION_STATES = {
        "accept_order": ("Created",),
        "accept_all_orders": ("Created",),
        "confirm_to_send": ("ToShip",),
        "confirm_all_to_send": ("ToShip",),
        "update": ("ToShip", "Shipped"),
        "update_all": ("ToShip", "Shipped"),
        "refund_order": ("ToShip", "Shipped", "NotReceived", "Received"),
    }
    REFUNDABLE_LINES = ("ToShip", "Shipped", "NotReceived", "Received")

    def _eligible(self, action: str, line_action: str, line) -> bool:
        if action in ("accept_order", "accept_all_orders"):
            return line.state == "ToAccept"
        if action == "refund_order":
            return line.state in self.REFUNDABLE_LINES
        if line_action == "Updated":
            return line.state == "Shipped"
        return line.state == "ToShip"

    def update_order(self, order_id: str, action: str, details: list[dict], now: dt.datetime) -> dict:
        """Apply one ``order`` of an orders_update (caller holds the store lock)."""
        order = self.store.orders.get(order_id)
        result = {"order_id": order_id, "status": "ERROR", "state": "", "errors": [], "lines": []}
        if order is None:
            result["errors"].append(("ERR_111", f"Order {order_id} not found"))
            return result
        result["state"] = order.state
        if action == "receive_all_order":
            result["errors"].append(
                ("ERR_116", "receive_all_order is done by the buyer or FNAC, not by the seller")
            )
            return result
        allowed = self.ORDER_ACTION_STATES.get(action, ())
        if order.state not in allowed:
            result["errors"].append(
                (
                    "ERR_112",
                    f"Action {action} is not allowed on an order in state {order.state}"
                    f" (allowed in: {', '.join(allowed)})",
                )
            )
            return result
        targets = []
        for d in details:
            if d["order_detail_id"] is None or action in (
                "accept_all_orders",
                "confirm_all_to_send",
                "update_all",
            ):
                targets += [(line, d) for line in order.lines if self._eligible(action, d["action"], line)]
            else:
                line = order.line(d["order_detail_id"])
                if line is None:
                    result["lines"].append(
                        (
                            d["order_detail_id"],
                            "ERROR",
                            "",
                            [
                                (
                                    "ERR_113",
                                    f"order_detail_id {d['order_detail_id']} not found in order {order_id}",
                                )
                            ],
                        )
                    )
                else:
                    targets.append((line, d))
        if not targets and not result["lines"]:
            result["errors"].append(("ERR_118", f"No line of order {order_id} is eligible for {action}"))
            return result
        applied = 0
        for line, d in targets:
            error = self._apply_line(action, line, d, now)
            if error:
                result["lines"].append((line.order_detail_id, "ERROR", line.state, [error]))
            else:
                applied += 1
                result["lines"].append((line.order_detail_id, "OK", line.state, []))
        if applied:
            self._recompute(order, now)
            order.changed(now)
            for line in order.lines:
                line.refused_at = line.refused_at or (now if line.state == "Refused" else None)
            self.store.orders_changed()
        errors = len(result["lines"]) - applied
        result["status"] = "OK" if not errors else "ERROR" if not applied else "WARNING"
        result["state"] = order.state
        return result

    def _apply_line(self, action: str, line, d: dict, now: dt.datetime):
        line_action = d["action"]

        def bad(message: str):
            return ("ERR_114", message)

        if line_action == "Received":
            return ("ERR_116", "Line action Received is done by the buyer or FNAC, not by the seller")
        if action in ("accept_order", "accept_all_orders"):
            if line_action not in ("Accepted", "Refused"):
                return bad(f"Line action {line_action} not allowed with {action} (use Accepted or Refused)")
            if line.state != "ToAccept":
                return bad(f"Line {line.order_detail_id} is {line.state}, not ToAccept")
            line.state = line_action
            return None
        if action == "refund_order":
            if line_action != "Refunded":
                return bad(f"Line action {line_action} not allowed with refund_order (use Refunded)")
            if line.state not in self.REFUNDABLE_LINES:
                return bad(f"Line {line.order_detail_id} is {line.state} and cannot be refunded")
            if not d.get("refund_reason"):
                return ("ERR_117", "refund_reason is required to refund a line")
            line.state = "Refunded"
            line.refund_reason = d["refund_reason"]
            return None
        # confirm_to_send / confirm_all_to_send / update / update_all
        allowed = ("Shipped",) if action.startswith("confirm") else ("Shipped", "Updated")
        if line_action not in allowed:
            return bad(f"Line action {line_action} not allowed with {action} (use {' or '.join(allowed)})")
        if line_action == "Shipped" and line.state != "ToShip":
            return bad(f"Line {line.order_detail_id} is {line.state}, not ToShip")
        if line_action == "Updated" and line.state != "Shipped":
            return bad(f"Line {line.order_detail_id} is {line.state}, only a Shipped line can be Updated")
        company = d.get("tracking_company")
        if company:
            code = self._carriers.get(company.upper())
            if code is None:
                return ("ERR_115", f"Unknown carrier {company!r} (see carriers_query)")
            line.tracking_company = code
        if d.get("tracking_number"):
            line.tracking_number = d["tracking_number"]
        line.state = "Shipped"
        return None

    @staticmethod
    def _recompute(order: Order, now: dt.datetime) -> None:
        states = [line.state for line in order.lines]
        if order.state == "Created":
            if "ToAccept" not in states:
                if all(s == "Refused" for s in states):
                    order.state, order.refused_at = "Refused", now
                else:
                    order.state, order.accepted_at = "Accepted", now
            return
        active = [s for s in states if s not in ("Refused", "Cancelled", "Refunded")]
        if not active:
            if "Refunded" in states:
                order.state, order.refunded_at = "Refunded", now
        elif order.state == "ToShip" and all(s == "Shipped" for s in active):
            order.state, order.shipped_at = "Shipped", now

    # ---------------------------------------------------------------- carriers_query
    def _carriers_query(self, root) -> bytes:
        inner = "".join(
            f'<carrier global="1" code="{code}">{_e("name", name)}</carrier>'
            for code, name in self.store.carriers
        )
        return response("carriers_query", "OK", inner)
