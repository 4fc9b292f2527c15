"""pricing_query on the wire: the request is valid against FNAC's XSD, the answer (both recorded shapes) is read,
and the sandbox refuses what FNAC refuses."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import requests
from lxml import etree

from fnac_connector.marketplace.fnac.builder import RequestHeader
from fnac_connector.marketplace.fnac.limits import PRODUCT_NOT_FOUND, TOO_MANY_ELEMENTS
from fnac_connector.marketplace.fnac.pricing import build_pricing_query, parse_pricing_query

XSD = (Path(__file__).resolve().parents[2] / "fnac_connector" / "marketplace" / "fnac" / "xsd"
       / "PricingQueryService.xsd")
U = "3f8e2b1a-9c7d-4a6e-b5f4-2d1c0b9a8e71"
HEADER = RequestHeader(partner_id=U, shop_id=U, token=U)

# the answer fnapy recorded from FNAC's sandbox (alexandriagroup/fnapy, developer docs): summary prices only
RECORDED = b"""<?xml version="1.0" encoding="utf-8"?>
<pricing_query_response xmlns="http://www.fnac.com/schemas/mp-dialog.xsd" status="OK">
  <pricing_product>
    <product_reference type="Ean">0886971942323</product_reference>
    <ean>0886971942323</ean>
    <product_url><![CDATA[http://www4.rec1.fnac.dev/Shelf/Article4.aspx?prid=2066124]]></product_url>
    <seller_price>14</seller_price><seller_shipping>2.39</seller_shipping>
    <seller_offer_sku>4F1A-28E-8BE</seller_offer_sku><seller_offer_state>2</seller_offer_state>
    <new_price>0.90</new_price><new_shipping>2.39</new_shipping>
    <refurbished_price/><refurbished_shipping/>
    <used_price>2.90</used_price><used_shipping>2.39</used_shipping>
  </pricing_product>
</pricing_query_response>"""


def test_request_is_valid_against_fnac_xsd():
    if not XSD.exists():
        pytest.skip("the vendored FNAC XSDs are absent")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    body = build_pricing_query(HEADER, ["0886971942323", "9782070612758"])
    root = etree.fromstring(body)
    assert schema.validate(root), schema.error_log
    assert root.get("sellers") == "others"  # our own offer is never in the competitor list
    assert [r.text for r in root] == ["0886971942323", "9782070612758"]


@pytest.mark.parametrize("refs, message", [
    ([str(4006381333931)] * 11, "at most 10"),
    ([], "at least one"),
    (["4006381333931 "], "digits and capital letters"),
])
def test_builder_refuses_before_sending(refs, message):
    with pytest.raises(ValueError, match=message):
        build_pricing_query(HEADER, refs)


def test_recorded_answer_is_read_with_our_offer_and_summary_prices():
    [product] = parse_pricing_query(RECORDED)
    assert product.ok and product.seller_price == Decimal("14") and product.seller_offer_state == "2"
    used = product.competitors("2")  # used - very good: compared with the used summary price only
    assert [(o.price, o.total) for o in used] == [(Decimal("2.90"), Decimal("5.29"))]
    assert [o.price for o in product.competitors("11")] == [Decimal("0.90")]
    assert product.competitors("10") == []


def test_detailed_entries_win_over_summary_and_errors_are_per_product():
    body = b"""<pricing_query_response xmlns="http://www.fnac.com/schemas/mp-dialog.xsd" status="WARNING">
      <pricing_product><product_reference type="Ean">3760000000001</product_reference><product_name>A</product_name>
        <new_price>9.00</new_price><new_shipping>0</new_shipping>
        <pricing type="professional"><seller>X</seller><price>10.00</price><shipping_price>1.00</shipping_price>
          <offer_status>11</offer_status></pricing>
        <pricing type="fnac"><price>8.00</price><shipping_price/><offer_status>10</offer_status></pricing>
        <pricing type="not professional"><price>oops</price><shipping_price>0</shipping_price>
          <offer_status>11</offer_status></pricing>
      </pricing_product>
      <pricing_product><product_reference type="Ean">0001234567895</product_reference><product_name/>
        <error severity="ERROR" code="ERR_026">Product not found</error></pricing_product>
    </pricing_query_response>"""
    first, second = parse_pricing_query(body)
    assert [(o.seller_type, o.total) for o in first.competitors("11")] == [("professional", Decimal("11.00"))]
    assert [o.seller_type for o in first.competitors("10")] == ["fnac"]
    assert not second.ok and second.errors[0].code == "ERR_026"


def _post(sandbox, body: bytes) -> etree._Element:
    return etree.fromstring(requests.post(f"{sandbox.fnac_url}/pricing_query", data=body, timeout=5).content)


def _token(sandbox) -> RequestHeader:
    from fnac_connector.marketplace.fnac import FnacClient

    c = sandbox.credentials
    client = FnacClient(base_url=sandbox.fnac_url, partner_id=c.partner_id, shop_id=c.shop_id, key=c.key)
    return RequestHeader(partner_id=c.partner_id, shop_id=c.shop_id, token=client.auth().token)


def test_sandbox_refuses_more_than_ten_references_whole(sandbox):
    header = _token(sandbox)
    body = build_pricing_query(header, ["4006381333931"] * 10).replace(
        b"</pricing_query>", b'<product_reference type="Ean">4006381333931</product_reference></pricing_query>')
    root = _post(sandbox, body)
    assert root.get("status") == "ERROR"
    assert [e.get("code") for e in root if etree.QName(e).localname == "error"] == [TOO_MANY_ELEMENTS]
    assert not [e for e in root if etree.QName(e).localname == "pricing_product"]


def test_sandbox_answers_invalid_and_unknown_eans_per_product(sandbox):
    from fnac_connector.marketplace.fnac import FnacClient

    offer = sandbox.seed_offers(1)[0]
    c = sandbox.credentials
    client = FnacClient(base_url=sandbox.fnac_url, partner_id=c.partner_id, shop_id=c.shop_id, key=c.key)
    good, bad, unknown = client.pricing_query([offer.ean, "1234567890123", "0001234567895"])
    assert good.ok and good.seller_offer_sku == offer.sku and 2 <= len(good.offers) - 1 <= 6
    assert all(o.seller != "Your shop (sandbox)" for o in good.offers)  # sellers="others"
    assert not bad.ok and bad.errors[0].code == "ERR_121"
    assert not unknown.ok and unknown.errors[0].code == PRODUCT_NOT_FOUND


def test_sandbox_competitor_prices_move_over_simulated_time(sandbox):
    from fnac_connector.marketplace.fnac import FnacClient

    offer = sandbox.seed_offers(1)[0]
    c = sandbox.credentials
    client = FnacClient(base_url=sandbox.fnac_url, partner_id=c.partner_id, shop_id=c.shop_id, key=c.key)
    before = [o.price for o in client.pricing_query([offer.ean])[0].offers]
    assert before == [o.price for o in client.pricing_query([offer.ean])[0].offers]  # stable within the hour
    sandbox.tick(3 * 3600)
    after = [o.price for o in client.pricing_query([offer.ean])[0].offers]
    assert len(after) == len(before) and after != before


def test_sandbox_includes_our_offer_unless_others_are_asked(sandbox):
    from fnac_connector.marketplace.fnac import FnacClient

    offer = sandbox.seed_offers(1)[0]
    c = sandbox.credentials
    client = FnacClient(base_url=sandbox.fnac_url, partner_id=c.partner_id, shop_id=c.shop_id, key=c.key)
    everyone = client.pricing_query([offer.ean], sellers="all")[0]
    others = client.pricing_query([offer.ean])[0]
    assert [o for o in everyone.offers if o.seller == "Your shop (sandbox)"]
    assert not [o for o in others.offers if o.seller == "Your shop (sandbox)"]
