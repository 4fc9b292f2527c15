"""FNAC XML on the sandbox's side of the wire: parsing and validating requests against the per-service XSDs
(the vendored copy in ``fnac_connector/marketplace/fnac/xsd``) and building answers with lxml.

Every answer is ``<service>_response`` in the mp-dialog namespace with a ``status`` attribute. Offers and orders
are cached per object as a serialized fragment (``offer.xml_cache``, ``order.xml_cache``, built here with lxml,
without namespace); :func:`response` puts them back into the answer's tree in the mp-dialog namespace.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from pathlib import Path

from lxml import etree

from fnac_connector.marketplace.fnac.limits import INVALID_REQUEST
from fnac_connector.marketplace.fnac.types import NAMESPACE

from .clock import parse

XSD_DIR = Path(__file__).resolve().parent.parent / "fnac_connector" / "marketplace" / "fnac" / "xsd"
DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
MAX_RESULTS_COUNT = 1000

SERVICE_XSD = {
    "auth": "AuthenticationService.xsd",
    "offers_query": "OffersQueryService.xsd",
    "offers_update": "OffersUpdateService.xsd",
    "batch_status": "BatchStatusService.xsd",
    "orders_query": "OrdersQueryService.xsd",
    "orders_update": "OrdersUpdateService.xsd",
    "carriers_query": "CarriersQueryService.xsd",
    "incidents_query": "IncidentsQueryService.xsd",
    "incidents_update": "IncidentsUpdateService.xsd",
    "pricing_query": "PricingQueryService.xsd",
    "messages_query": "MessagesQueryService.xsd",
    "messages_update": "MessagesUpdateService.xsd",
    "client_order_comments_query": "ClientOrderCommentsQueryService.xsd",
    "client_order_comments_update": "ClientOrderCommentsUpdateService.xsd",
}
# Elements the sandbox adds to answers although the 2018 response XSDs do not list them (the live API does).
EXTRA_RESPONSE_ELEMENTS = {
    "orders_query": ("updated_at", "tracking_company", "nb_products_to_take_back"),
}

_SCHEMAS: dict[str, tuple[etree.XMLSchema, threading.Lock]] = {}
_SCHEMAS_LOCK = threading.Lock()
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, load_dtd=False)
_FRAGMENT_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, load_dtd=False)


def schema_for(service: str) -> tuple[etree.XMLSchema, threading.Lock]:
    """The request/response schema of a service (loaded once; use it under the returned lock)."""
    with _SCHEMAS_LOCK:
        if service not in _SCHEMAS:
            doc = etree.parse(str(XSD_DIR / SERVICE_XSD[service]))
            _SCHEMAS[service] = (etree.XMLSchema(doc), threading.Lock())
        return _SCHEMAS[service]


# ---------------------------------------------------------------- reading
def q(tag: str) -> str:
    return f"{{{NAMESPACE}}}{tag}"


def local(el) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def text(parent, tag: str) -> str | None:
    el = parent.find(q(tag))
    if el is None:
        return None
    return (el.text or "").strip()


class RequestRejected(Exception):  # noqa: N818 - a control-flow signal carrying the answer
    def __init__(self, body: bytes) -> None:
        super().__init__("rejected")
        self.body = body


def invalid(service: str, message: str) -> RequestRejected:
    """The whole call refused the way FNAC refuses a body that does not validate (recorded: status ERROR,
    ``ERR_096 XML Validation failed: ...``, no batch id, nothing applied)."""
    return RequestRejected(response(service, "ERROR", [error(INVALID_REQUEST, f"XML Validation failed: {message}")]))


def parse_request(service: str, body: bytes) -> etree._Element:
    """The request's root, validated against the service's XSD; anything wrong (not well-formed, wrong root,
    any XSD error, even one confined to one offer) raises RequestRejected with the whole-call refusal."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise invalid(service, f"XML not well-formed: {exc}")
    if root.tag != q(service):
        raise invalid(service, f"Expected root element <{service}> in namespace {NAMESPACE}, got {root.tag}")
    schema, lock = schema_for(service)
    with lock:
        valid = schema.validate(root)
        problems = [f"{e.message} line: {e.line}" for e in schema.error_log] if not valid else []
    if problems:
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        raise invalid(service, f"{'; '.join(problems[:5])}{more}")
    return root


def paging(root) -> tuple[int, int]:
    """(results per page, page) of a query, FNAC's defaults and bounds."""
    try:
        size = int(root.get("results_count") or 100)
    except ValueError:
        size = 100
    size = max(1, min(size, MAX_RESULTS_COUNT))
    page_text = text(root, "paging")
    try:
        page = int(page_text) if page_text else 1
    except ValueError:
        page = 1
    return size, max(page, 1)


def date_range(el, service: str):
    try:
        lo, hi = text(el, "min"), text(el, "max")
        return (parse(lo) if lo else None), (parse(hi) if hi else None)
    except ValueError as exc:
        raise invalid(service, f"Invalid date: {exc}")


# ---------------------------------------------------------------- building
_NO_TEXT = object()


def element(tag: str, value=_NO_TEXT, **attrs) -> etree._Element:
    """A namespace-free element (fragments and children); ``value`` becomes its text (``str(value)``)."""
    el = etree.Element(tag, {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if value is not _NO_TEXT:
        el.text = str(value)
    return el


def sub(parent, tag: str, value=_NO_TEXT, **attrs) -> etree._Element:
    el = etree.SubElement(parent, tag, {k.rstrip("_"): str(v) for k, v in attrs.items()})
    if value is not _NO_TEXT:
        el.text = str(value)
    return el


def subs(parent, pairs: Iterable[tuple[str, object]]) -> None:
    for tag, value in pairs:
        sub(parent, tag, value)


def error(code: str, message: str, severity: str = "ERROR") -> etree._Element:
    return element("error", message, severity=severity, code=code)


def page_header(page: int, size: int, total: int) -> list[etree._Element]:
    return [element("page", page), element("total_paging", math.ceil(total / size)),
            element("nb_total_per_page", size), element("nb_total_result", total)]


def fragment(el: etree._Element) -> str:
    """The cached text of a namespace-free element (an offer or an order of a query answer)."""
    return etree.tostring(el, encoding="unicode")


def response(service: str, status: str, children: Iterable[etree._Element] = (),
             fragments: Iterable[str] = ()) -> bytes:
    """``<service>_response status=...>`` with ``children`` then the cached ``fragments``, every element in the
    mp-dialog namespace."""
    wrapper = etree.fromstring(f'<w xmlns="{NAMESPACE}">{"".join(fragments)}</w>', _FRAGMENT_PARSER)
    root = etree.Element(q(f"{service}_response"), {"status": status}, nsmap={None: NAMESPACE})
    for child in children:
        root.append(child)
        _qualify(child)
    root.extend(list(wrapper))
    return DECLARATION + etree.tostring(root, encoding="utf-8", xml_declaration=False)


def _qualify(el: etree._Element) -> None:
    """Move a namespace-free subtree (already in the answer) into the mp-dialog namespace declared on the root."""
    for node in el.iter():
        if isinstance(node.tag, str) and not node.tag.startswith("{"):
            node.tag = q(node.tag)
