"""Realistic FNAC XML API answers (shapes from FNAC's XSDs and recordings of its sandbox)."""

from __future__ import annotations

NS = 'xmlns="http://www.fnac.com/schemas/mp-dialog.xsd"'
TOKEN = "0d9f0a4e-1c2b-4e5f-9a8b-7c6d5e4f3a2b"
TOKEN_2 = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"


def auth_ok(token: str = TOKEN, validity: str = "2030-01-01T12:00:00+01:00") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<auth_response {NS} status="OK">'
        f"<token>{token}</token><validity>{validity}</validity><version>2.6.0</version>"
        "</auth_response>"
    ).encode()


AUTH_BAD_KEY = (
    f'<?xml version="1.0" encoding="utf-8"?><auth_response {NS} status="ERROR">'
    '<error severity="ERROR" code="ERR_001">Invalid partner_id, shop_id or key</error>'
    "</auth_response>"
).encode()


def error_response(service: str, code: str, message: str, status: str = "ERROR") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><{service}_response {NS} status="{status}">'
        f'<error severity="ERROR" code="{code}">{message}</error></{service}_response>'
    ).encode()


TOKEN_EXPIRED = error_response("orders_query", "ERR_097", "Authentication failed: token is no longer valid")


def offer_xml(sku: str, price: str = "19.90", quantity: str = "5", extra: str = "") -> str:
    return f"""
  <offer>
    <product_name><![CDATA[Le Petit Prince & co]]></product_name>
    <product_fnac_id>1234567</product_fnac_id>
    <offer_fnac_id>A1B2C3D4-{sku}</offer_fnac_id>
    <offer_seller_id>{sku}</offer_seller_id>
    <product_state>11</product_state>
    <price>{price}</price>
    <quantity>{quantity}</quantity>
    <description/>
    <internal_comment></internal_comment>
    <fee_excluding_taxes>2.15</fee_excluding_taxes>
    <fee_including_all_taxes>2.58</fee_including_all_taxes>
    <eco_tax_amount>0.10</eco_tax_amount>
    <product_url>https://www.fnac.com/a1234567</product_url>
    <image>https://static.fnac-static.com/multimedia/1234567.jpg</image>
    <time_to_ship>2</time_to_ship>{extra}
  </offer>"""


def offers_page(
    skus: list[str], *, page: int = 1, total_paging: int = 1, total: int | None = None, namespace: bool = True
) -> bytes:
    total = len(skus) if total is None else total
    ns = NS if namespace else ""
    offers = "".join(offer_xml(sku) for sku in skus)
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<offers_query_response status="OK" {ns}>'
        f"<page>{page}</page><total_paging>{total_paging}</total_paging>"
        f"<nb_total_per_page>{len(skus)}</nb_total_per_page><nb_total_result>{total}</nb_total_result>"
        f"{offers}</offers_query_response>"
    ).encode()


def address_xml(tag: str) -> str:
    return f"""
    <{tag}>
      <firstname>Marie</firstname><lastname>Curie</lastname><company/>
      <address1>12 rue de l'Ecole</address1><address2></address2><address3/>
      <zipcode>75005</zipcode><city>Paris</city><country>FRA</country>
      <phone>0102030405</phone><mobile/><nif/><landmark>unknown extra</landmark>
    </{tag}>"""


def order_xml(
    order_id: str,
    *,
    state: str = "Created",
    created_at: str = "2016-08-25T10:44:25+02:00",
    fees: str = "3.50",
    line_price: str = "12.99",
    line_state: str = "ToAccept",
    omit: tuple[str, ...] = (),
) -> str:
    fields = {
        "order_id": f"<order_id>{order_id}</order_id>",
        "state": f"<state>{state}</state>",
        "created_at": f"<created_at>{created_at}</created_at>",
    }
    for name in omit:
        fields[name] = ""
    return f"""
  <order>
    <shop_id>66666666-7777-8888-9999-aaaaaaaaaaaa</shop_id>
    <client_id>8c7f6e5d-4c3b-2a19-0807-060504030201</client_id>
    <client_firstname>Marie</client_firstname>
    <client_lastname><![CDATA[Curie-Skłodowska]]></client_lastname>
    <client_email>m.curie@example.org</client_email>
    {fields["order_id"]}
    <client_culture>fr-FR</client_culture>
    {fields["state"]}
    {fields["created_at"]}
    <fees>{fees}</fees>
    <vat_rate>20.0</vat_rate>
    <nb_messages>0</nb_messages>
    <delivery_note/>
    <loyalty_points>12</loyalty_points>
    {address_xml("shipping_address")}
    {address_xml("billing_address")}
    <order_detail>
      <order_detail_id>1</order_detail_id>
      <state>{line_state}</state>
      <product_fnac_id>1234567</product_fnac_id>
      <product_name><![CDATA[Le Petit Prince <Poche>]]></product_name>
      <offer_fnac_id>A1B2C3D4</offer_fnac_id>
      <offer_seller_id>SKU-1</offer_seller_id>
      <price>{line_price}</price>
      <fees>1.95</fees>
      <product_state>11</product_state>
      <quantity>2</quantity>
      <created_at>2016-08-25T10:44:25+02:00</created_at>
      <debited_at></debited_at>
      <received_at/>
      <shipping_price>2.99</shipping_price>
      <shipping_method>20</shipping_method>
      <tracking_number/>
      <eco_part>0.02</eco_part>
    </order_detail>
    <order_detail>
      <order_detail_id>2</order_detail_id>
      <state>ToAccept</state>
      <offer_seller_id>SKU-2</offer_seller_id>
      <price>5</price>
      <fees>0.5</fees>
      <quantity>1</quantity>
    </order_detail>
  </order>"""


def orders_page(
    orders: list[str], *, page: int = 1, total_paging: int = 1, total: int | None = None
) -> bytes:
    total = len(orders) if total is None else total
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<orders_query_response status="OK" {NS}>'
        f"<page>{page}</page><total_paging>{total_paging}</total_paging>"
        f"<nb_total_per_page>{len(orders)}</nb_total_per_page><nb_total_result>{total}</nb_total_result>"
        f"{''.join(orders)}</orders_query_response>"
    ).encode()


OFFERS_UPDATE_OK = (
    f'<offers_update_response {NS} status="OK">'
    "<batch_id>4F1A2B3C-0000-1111-2222-333344445555</batch_id></offers_update_response>"
).encode()

BATCH_STATUS_WARNING = f"""<?xml version="1.0" encoding="utf-8"?>
<batch_status_response {NS} status="WARNING">
  <batch_id>4F1A2B3C-0000-1111-2222-333344445555</batch_id>
  <offer status="OK"><product_fnac_id>1234567</product_fnac_id><offer_fnac_id>A1</offer_fnac_id>
    <offer_seller_id>SKU-1</offer_seller_id></offer>
  <offer status="ERROR"><offer_seller_id>SKU-2</offer_seller_id>
    <error severity="ERROR" code="ERR_026">Product not found</error></offer>
  <nb_lines>2</nb_lines>
</batch_status_response>""".encode()

BATCH_STATUS_RUNNING = (
    f'<batch_status_response {NS} status="RUNNING">'
    "<batch_id>4F1A2B3C-0000-1111-2222-333344445555</batch_id></batch_status_response>"
).encode()

ORDERS_UPDATE_MIXED = f"""<?xml version="1.0" encoding="utf-8"?>
<orders_update_response {NS} status="OK">
  <order>
    <status>OK</status><order_id>1A2B3C4D5E6F7</order_id><state>Accepted</state>
    <order_detail><order_detail_id>1</order_detail_id><status>OK</status><state>Accepted</state></order_detail>
    <order_detail><order_detail_id>2</order_detail_id><status>OK</status><state>Refused</state></order_detail>
  </order>
  <order>
    <status>ERROR</status><order_id>7F6E5D4C3B2A1</order_id>
    <error severity="ERROR" code="ERR_103">Order state does not allow this action</error>
    <order_detail><order_detail_id>3</order_detail_id><status>ERROR</status>
      <error severity="ERROR" code="ERR_104">Invalid transition Shipped -&gt; Accepted</error></order_detail>
  </order>
</orders_update_response>""".encode()

CARRIERS = f"""<carriers_query_response {NS} status="OK">
  <carrier global="1" code="LAPOSTE"><name>La Poste - Colissimo</name></carrier>
  <carrier global="0" code="CHRONOPOST"><name><![CDATA[Chronopost]]></name><tracking_url/></carrier>
  <carrier global="1" code="UPS"><name/></carrier>
</carriers_query_response>""".encode()
