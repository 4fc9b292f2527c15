"""Plain-HTTP helpers for the sandbox tests: requests + lxml, never the connector's clients."""

from __future__ import annotations

import copy

import requests
from lxml import etree

from fnac_sandbox.fnac_api import EXTRA_RESPONSE_ELEMENTS, schema_for

NS = "http://www.fnac.com/schemas/mp-dialog.xsd"


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def assert_valid_response(service: str, body: bytes) -> None:
    """The answer validates against the service's response XSD once the newer elements are stripped."""
    root = etree.fromstring(body)
    assert root.tag == q(f"{service}_response")
    stripped = copy.deepcopy(root)
    extras = EXTRA_RESPONSE_ELEMENTS.get(service, ())
    for el in list(stripped.iter()):
        if isinstance(el.tag, str) and el.tag.rsplit("}", 1)[-1] in extras:
            el.getparent().remove(el)
    schema, lock = schema_for(service)
    with lock:
        ok = schema.validate(stripped)
        errors = [e.message for e in schema.error_log]
    assert ok, errors[:5]


class Fnac:
    def __init__(self, server, session: requests.Session | None = None) -> None:
        self.server = server
        self.session = session or requests.Session()
        self.token = None

    def post(self, service: str, xml: str | bytes, timeout: float = 30) -> requests.Response:
        data = xml.encode() if isinstance(xml, str) else xml
        return self.session.post(
            self.server.fnac_url + service, data=data, headers={"Content-Type": "text/xml"}, timeout=timeout
        )

    def auth(self, key: str | None = None) -> etree._Element:
        c = self.server.credentials
        r = self.post(
            "auth",
            f'<auth xmlns="{NS}"><partner_id>{c.partner_id}</partner_id>'
            f"<shop_id>{c.shop_id}</shop_id><key>{key or c.key}</key></auth>",
        )
        assert r.status_code == 200
        root = etree.fromstring(r.content)
        if root.get("status") == "OK":
            self.token = root.findtext(q("token"))
        return root

    def header(self, token: str | None = None) -> str:
        c = self.server.credentials
        return f'xmlns="{NS}" partner_id="{c.partner_id}" shop_id="{c.shop_id}" token="{token or self.token}"'

    def call(self, service: str, inner: str = "", attrs: str = "", validate: bool = True) -> etree._Element:
        if self.token is None:
            self.auth()
        r = self.post(service, f"<{service} {self.header()} {attrs}>{inner}</{service}>")
        assert r.status_code == 200, r.text
        if validate:
            assert_valid_response(service, r.content)
        return etree.fromstring(r.content)


def signed_in(server) -> Fnac:
    """A client of ``server`` that has authenticated (the token it got is kept for the next calls)."""
    client = Fnac(server)
    client.auth()
    return client


def offers_update_xml(offers: list[dict]) -> str:
    """offers: dicts with sku and optional ean, price, quantity, product_state, description, treatment."""
    parts = []
    for o in offers:
        inner = ""
        if o.get("ean"):
            inner += f'<product_reference type="Ean">{o["ean"]}</product_reference>'
        inner += f'<offer_reference type="SellerSku">{o["sku"]}</offer_reference>'
        for name in ("price", "product_state", "quantity", "description"):
            if name in o:
                inner += f"<{name}>{o[name]}</{name}>"
        if o.get("treatment"):
            inner += f"<treatment>{o['treatment']}</treatment>"
        parts.append(f"<offer>{inner}</offer>")
    return "".join(parts)


def order_xml(order_id: str, action: str, lines: list[dict]) -> str:
    parts = []
    for line in lines:
        inner = ""
        if line.get("id") is not None:
            inner += f"<order_detail_id>{line['id']}</order_detail_id>"
        inner += f"<action>{line['action']}</action>"
        for name in ("tracking_number", "tracking_company", "refund_reason"):
            if line.get(name):
                inner += f"<{name}>{line[name]}</{name}>"
        parts.append(f"<order_detail>{inner}</order_detail>")
    return f'<order order_id="{order_id}" action="{action}">{"".join(parts)}</order>'


def texts(root, path: str) -> list[str]:
    return [el.text or "" for el in root.iterfind(path, {"f": NS})]
