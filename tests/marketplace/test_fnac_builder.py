"""Every request the builder makes is valid against FNAC's per-service XSD; bad input never leaves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from fnac_connector.marketplace.fnac import builder
from fnac_connector.marketplace.fnac.builder import DateFilter, RequestHeader
from fnac_connector.marketplace.fnac.types import NAMESPACE, LineUpdate, OfferUpdate, OrderUpdate

REPO_ROOT = Path(__file__).resolve().parents[2]
XSD_DIR = REPO_ROOT.parent / "shared" / "fnac-api" / "xsd"
NS = {"f": NAMESPACE}

PARTNER = "11111111-2222-3333-4444-555555555555"
SHOP = "66666666-7777-8888-9999-aaaaaaaaaaaa"
TOKEN = "bbbbbbbb-cccc-dddd-eeee-ffffffffffff"
HEADER = RequestHeader(partner_id=PARTNER, shop_id=SHOP, token=TOKEN)
PARIS = dt.timezone(dt.timedelta(hours=2))
ORDER_A = "1A2B3C4D5E6F7"
ORDER_B = "7F6E5D4C3B2A1"


@cache
def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / name)))


def assert_valid(body: bytes, xsd: str) -> etree._Element:
    if not XSD_DIR.is_dir():
        pytest.skip(f"official FNAC XSDs not found at {XSD_DIR} (the shared folder beside the repo)")
    doc = etree.fromstring(body)
    schema = _schema(xsd)
    assert schema.validate(doc), f"{xsd}: {schema.error_log}"
    return doc


def assert_header(doc: etree._Element) -> None:
    assert doc.get("partner_id") == PARTNER
    assert doc.get("shop_id") == SHOP
    assert doc.get("token") == TOKEN


def child_names(element: etree._Element) -> list[str]:
    return [etree.QName(child).localname for child in element]


# ---------------------------------------------------------------- valid requests
def test_auth_is_valid_and_carries_no_header_attributes():
    body = builder.build_auth(partner_id=PARTNER, shop_id=SHOP, key="secret-key-value")
    doc = assert_valid(body, "AuthenticationService.xsd")
    assert etree.QName(doc).localname == "auth"
    assert etree.QName(doc).namespace == NAMESPACE
    assert doc.get("token") is None
    assert child_names(doc) == ["partner_id", "shop_id", "key"]
    assert doc.findtext("f:key", namespaces=NS) == "secret-key-value"


def test_offers_query_with_every_filter_is_valid():
    since = dt.datetime(2024, 5, 1, 8, 30, 15, 123456, tzinfo=PARIS)
    until = dt.datetime(2024, 5, 2, tzinfo=dt.UTC)
    body = builder.build_offers_query(
        HEADER,
        page=3,
        results_count=50,
        dates=[DateFilter("Modified", since, until), DateFilter("Created", since)],
        offer_seller_ids=["SKU-1", "SKU-2"],
        quantity=("GreaterThan", 0),
    )
    doc = assert_valid(body, "OffersQueryService.xsd")
    assert_header(doc)
    assert doc.get("results_count") == "50"
    assert child_names(doc)[0] == "paging"
    assert doc.findtext("f:paging", namespaces=NS) == "3"
    date = doc.find("f:date", NS)
    assert date.get("type") == "Modified"
    assert date.findtext("f:min", namespaces=NS) == "2024-05-01T08:30:15+02:00"
    assert date.findtext("f:max", namespaces=NS) == "2024-05-02T00:00:00+00:00"
    assert [e.text for e in doc.findall("f:offer_seller_id", NS)] == ["SKU-1", "SKU-2"]
    assert doc.find("f:quantity", NS).attrib == {"mode": "GreaterThan", "value": "0"}


def test_minimal_offers_query_is_valid():
    doc = assert_valid(builder.build_offers_query(HEADER), "OffersQueryService.xsd")
    assert child_names(doc) == ["paging"]
    assert doc.get("results_count") == "100"


def test_offers_update_full_offer_is_valid_and_in_xsd_order():
    offer = OfferUpdate(
        sku="SKU-1",
        product_reference="9780262033848",
        price=Decimal("19.9"),
        product_state="11",
        quantity=12,
        description="Brand new, sealed",
        internal_comment="shelf B3",
        pictures=["https://img/1.jpg", "https://img/2.jpg"],
        logistic_type_id="101",
        time_to_ship=2,
    )
    delete = OfferUpdate(sku="SKU-2", treatment="delete")
    body = builder.build_offers_update(HEADER, [offer, delete])
    doc = assert_valid(body, "OffersUpdateService.xsd")
    assert_header(doc)
    first, second = doc.findall("f:offer", NS)
    assert child_names(first) == [
        "product_reference",
        "offer_reference",
        "price",
        "product_state",
        "quantity",
        "description",
        "internal_comment",
        "pictures",
        "logistic_type_id",
        "time_to_ship",
    ]
    assert first.find("f:product_reference", NS).get("type") == "Ean"
    assert first.find("f:offer_reference", NS).get("type") == "SellerSku"
    assert first.findtext("f:offer_reference", namespaces=NS) == "SKU-1"
    assert first.findtext("f:price", namespaces=NS) == "19.90"
    assert child_names(first.find("f:pictures", NS)) == ["picture_1", "picture_2"]
    assert child_names(second) == ["offer_reference", "treatment"]
    assert second.findtext("f:treatment", namespaces=NS) == "delete"


@pytest.mark.parametrize(
    ("price", "sent"), [(Decimal("0.90"), "0.90"), (20000, "20000.00"), ("12.345", "12.35"), (7.1, "7.10")]
)
def test_offers_update_price_has_two_decimals(price, sent):
    doc = assert_valid(
        builder.build_offers_update(HEADER, [OfferUpdate(sku="S", price=price)]), "OffersUpdateService.xsd"
    )
    assert doc.findtext("f:offer/f:price", namespaces=NS) == sent


def test_batch_status_is_valid():
    doc = assert_valid(builder.build_batch_status(HEADER, "BATCH-42"), "BatchStatusService.xsd")
    assert_header(doc)
    assert doc.findtext("f:batch_id", namespaces=NS) == "BATCH-42"


def test_orders_query_with_several_states_and_ids_is_valid():
    since = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    body = builder.build_orders_query(
        HEADER,
        page=2,
        results_count=25,
        date_type="UpdatedAt",
        date_min=since,
        date_max=since + dt.timedelta(days=1),
        states=["Created", "ToShip"],
        sort_by="DESC",
        order_ids=[ORDER_A, ORDER_B],
    )
    doc = assert_valid(body, "OrdersQueryService.xsd")
    assert_header(doc)
    assert doc.get("results_count") == "25"
    assert child_names(doc) == ["paging", "date", "states", "sort_by", "orders_fnac_id"]
    assert doc.find("f:date", NS).get("type") == "UpdatedAt"
    assert [e.text for e in doc.findall("f:states/f:state", NS)] == ["Created", "ToShip"]
    assert [e.text for e in doc.findall("f:orders_fnac_id/f:order_fnac_id", NS)] == [ORDER_A, ORDER_B]


def test_orders_query_with_one_state_uses_state_element():
    body = builder.build_orders_query(HEADER, states=["ToShip"], sort_by="ASC")
    doc = assert_valid(body, "OrdersQueryService.xsd")
    assert child_names(doc) == ["paging", "state", "sort_by"]


def test_orders_update_is_valid_with_lines_in_xsd_order():
    updates = [
        OrderUpdate(
            order_id=ORDER_A,
            action="accept_order",
            lines=[
                LineUpdate(action="Accepted", order_detail_id=1),
                LineUpdate(action="Refused", order_detail_id=2),
            ],
        ),
        OrderUpdate(
            order_id=ORDER_B,
            action="update",
            lines=[
                LineUpdate(
                    action="Shipped",
                    order_detail_id=3,
                    tracking_number="6A12345678901",
                    tracking_company="COLISSIMO",
                )
            ],
        ),
        OrderUpdate(
            order_id="1111111111111",
            action="refund_order",
            lines=[LineUpdate(action="Refunded", order_detail_id=4, refund_reason="no_stock")],
        ),
        OrderUpdate(
            order_id="2222222222222", action="confirm_all_to_send", lines=[LineUpdate(action="Shipped")]
        ),
    ]
    doc = assert_valid(builder.build_orders_update(HEADER, updates), "OrdersUpdateService.xsd")
    assert_header(doc)
    orders = doc.findall("f:order", NS)
    assert [(o.get("order_id"), o.get("action")) for o in orders] == [
        (ORDER_A, "accept_order"),
        (ORDER_B, "update"),
        ("1111111111111", "refund_order"),
        ("2222222222222", "confirm_all_to_send"),
    ]
    shipped = orders[1].find("f:order_detail", NS)
    assert child_names(shipped) == ["order_detail_id", "action", "tracking_number", "tracking_company"]
    assert child_names(orders[2].find("f:order_detail", NS)) == ["order_detail_id", "action", "refund_reason"]
    assert child_names(orders[3].find("f:order_detail", NS)) == ["action"]


def test_orders_update_accepts_exactly_25_orders():
    updates = [
        OrderUpdate(
            order_id=f"{n:013d}",
            action="accept_order",
            lines=[LineUpdate(action="Accepted", order_detail_id=1)],
        )
        for n in range(25)
    ]
    doc = assert_valid(builder.build_orders_update(HEADER, updates), "OrdersUpdateService.xsd")
    assert len(doc.findall("f:order", NS)) == 25


def test_carriers_query_is_valid():
    doc = assert_valid(builder.build_carriers_query(HEADER), "CarriersQueryService.xsd")
    assert_header(doc)
    assert doc.findtext("f:query", namespaces=NS) == "all"


# ---------------------------------------------------------------- refusals before sending
def _line_update(**kw) -> OrderUpdate:
    return OrderUpdate(
        order_id=ORDER_A, action="update", lines=[LineUpdate(action="Shipped", order_detail_id=1, **kw)]
    )


def test_orders_update_refuses_more_than_25_orders():
    updates = [
        OrderUpdate(order_id=f"{n:013d}", action="accept_order", lines=[LineUpdate(action="Accepted")])
        for n in range(26)
    ]
    with pytest.raises(ValueError, match="at most 25 orders"):
        builder.build_orders_update(HEADER, updates)


def test_orders_update_refuses_a_too_long_tracking_number():
    with pytest.raises(ValueError, match="tracking_number is 33 characters long"):
        builder.build_orders_update(HEADER, [_line_update(tracking_number="X" * 33)])
    # 32 is the limit and is valid
    assert_valid(
        builder.build_orders_update(HEADER, [_line_update(tracking_number="X" * 32)]),
        "OrdersUpdateService.xsd",
    )


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"tracking_company": "C" * 101}, "tracking_company"),
        ({"refund_reason": "changed_my_mind"}, "refund_reason"),
    ],
)
def test_orders_update_refuses_bad_line_values(kw, message):
    with pytest.raises(ValueError, match=message):
        builder.build_orders_update(HEADER, [_line_update(**kw)])


def test_orders_update_refuses_unknown_actions_and_bad_ids():
    with pytest.raises(ValueError, match="action"):
        builder.build_orders_update(
            HEADER, [OrderUpdate(order_id=ORDER_A, action="ship", lines=[LineUpdate(action="Shipped")])]
        )
    with pytest.raises(ValueError, match="line action"):
        builder.build_orders_update(
            HEADER, [OrderUpdate(order_id=ORDER_A, action="update", lines=[LineUpdate(action="Sent")])]
        )
    with pytest.raises(ValueError, match="order id"):
        builder.build_orders_update(
            HEADER, [OrderUpdate(order_id="X" * 14, action="update", lines=[LineUpdate(action="Shipped")])]
        )
    with pytest.raises(ValueError, match="at least one order_detail"):
        builder.build_orders_update(HEADER, [OrderUpdate(order_id=ORDER_A, action="update", lines=[])])


@pytest.mark.parametrize("quantity", [-1, 10_000, 1.5, True, "3"])
def test_offers_update_refuses_bad_quantity(quantity):
    with pytest.raises(ValueError, match="quantity must be an integer in 0..9999"):
        builder.build_offers_update(HEADER, [OfferUpdate(sku="S", quantity=quantity)])


@pytest.mark.parametrize("price", [Decimal("0.89"), Decimal("0"), Decimal("20000.01"), -5, "abc", "NaN"])
def test_offers_update_refuses_bad_price(price):
    with pytest.raises(ValueError, match="price"):
        builder.build_offers_update(HEADER, [OfferUpdate(sku="S", price=price)])


def test_offers_update_refuses_bad_offer_values():
    with pytest.raises(ValueError, match="description is 256 characters long"):
        builder.build_offers_update(HEADER, [OfferUpdate(sku="S", description="d" * 256)])
    with pytest.raises(ValueError, match="at most 4"):
        builder.build_offers_update(HEADER, [OfferUpdate(sku="S", pictures=["u"] * 5)])
    with pytest.raises(ValueError, match="product_state"):
        builder.build_offers_update(HEADER, [OfferUpdate(sku="S", product_state="12")])
    with pytest.raises(ValueError, match="sku"):
        builder.build_offers_update(HEADER, [OfferUpdate(sku="")])
    with pytest.raises(ValueError, match="product_reference_type"):
        builder.build_offers_update(
            HEADER, [OfferUpdate(sku="S", product_reference="1", product_reference_type="Upc")]
        )


def test_offers_update_refuses_more_than_10000_offers_and_empty_batches():
    with pytest.raises(ValueError, match="at most 10000 offers"):
        builder.build_offers_update(HEADER, [OfferUpdate(sku=f"S{n}") for n in range(10_001)])
    with pytest.raises(ValueError, match="at least one offer"):
        builder.build_offers_update(HEADER, [])


def test_queries_refuse_naive_dates_bad_types_and_too_many_ids():
    with pytest.raises(ValueError, match="timezone-aware"):
        builder.build_orders_query(HEADER, date_min=dt.datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="orders date type"):
        builder.build_orders_query(
            HEADER, date_type="Created", date_min=dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
        )
    with pytest.raises(ValueError, match="order state filter"):
        builder.build_orders_query(HEADER, states=["Shipping"])
    with pytest.raises(ValueError, match="at most 50 order ids"):
        builder.build_orders_query(HEADER, order_ids=[f"{n:013d}" for n in range(51)])
    with pytest.raises(ValueError, match="offers date type"):
        builder.build_offers_query(
            HEADER, dates=[DateFilter("UpdatedAt", dt.datetime(2024, 1, 1, tzinfo=dt.UTC))]
        )
    with pytest.raises(ValueError, match="results_count"):
        builder.build_offers_query(HEADER, results_count=0)
