"""FNAC answers become typed results; refusals become typed errors; one bad order never loses a page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from lxml import etree

from fnac_connector.marketplace.errors import AuthError, BadResponse, Rejected
from fnac_connector.marketplace.fnac import parser
from fnac_connector.marketplace.fnac.types import MalformedOrder, Order

from . import samples

PARIS_SUMMER = dt.timezone(dt.timedelta(hours=2))


# ---------------------------------------------------------------- auth
def test_auth_gives_token_and_aware_validity():
    token = parser.parse_auth(samples.auth_ok(validity="2030-01-01T12:00:00+01:00"))
    assert token.token == samples.TOKEN
    assert token.validity == dt.datetime(2030, 1, 1, 11, 0, tzinfo=dt.UTC)
    assert token.validity.tzinfo is not None


def test_auth_refusal_is_auth_error_with_fnac_code_and_message():
    with pytest.raises(AuthError) as info:
        parser.parse_auth(samples.AUTH_BAD_KEY)
    assert info.value.code == "ERR_001"
    assert info.value.message == "Invalid partner_id, shop_id or key"


def test_auth_without_token_is_bad_response():
    body = f'<auth_response {samples.NS} status="OK"><version>2</version></auth_response>'.encode()
    with pytest.raises(BadResponse, match="without token"):
        parser.parse_auth(body)


# ---------------------------------------------------------------- offers
def test_offers_page_is_parsed_with_cdata_empty_and_unknown_elements():
    page = parser.parse_offers_query(
        samples.offers_page(["SKU-1", "SKU-2"], page=2, total_paging=3, total=250)
    )
    assert (page.page, page.total_paging, page.nb_total_per_page, page.nb_total_result) == (2, 3, 2, 250)
    assert [o.offer_seller_id for o in page.offers] == ["SKU-1", "SKU-2"]
    offer = page.offers[0]
    assert offer.product_name == "Le Petit Prince & co"
    assert offer.price == Decimal("19.90")
    assert offer.quantity == 5
    assert offer.description == ""
    assert offer.internal_comment == ""
    assert offer.fee_excluding_taxes == Decimal("2.15")
    assert offer.time_to_ship == 2
    assert offer.product_state == "11"
    assert offer.raw_fields["eco_tax_amount"] == "0.10"  # unknown element kept as a raw field only


def test_offers_page_without_namespace_is_parsed():
    page = parser.parse_offers_query(samples.offers_page(["A"], namespace=False))
    assert [o.offer_seller_id for o in page.offers] == ["A"]


def test_offers_page_reads_from_a_stream():
    import io

    page = parser.parse_offers_query(io.BytesIO(samples.offers_page(["A", "B", "C"])))
    assert [o.offer_seller_id for o in page.offers] == ["A", "B", "C"]


def test_offer_with_unreadable_price_is_kept_with_none():
    body = samples.offers_page(["A"]).replace(b"<price>19.90</price>", b"<price>n/a</price>")
    page = parser.parse_offers_query(body)
    assert page.offers[0].offer_seller_id == "A"
    assert page.offers[0].price is None


def test_empty_offers_page():
    body = (
        f'<offers_query_response {samples.NS} status="OK"><page>1</page><total_paging>0</total_paging>'
        f"<nb_total_result>0</nb_total_result></offers_query_response>"
    )
    page = parser.parse_offers_query(body.encode())
    assert page.offers == [] and page.total_paging == 0 and page.nb_total_result == 0


def test_offers_query_error_is_rejected_with_code_and_all_errors():
    body = (
        f'<offers_query_response {samples.NS} status="FATAL">'
        '<error severity="FATAL" code="ERR_005">Invalid request</error>'
        '<error severity="ERROR" code="ERR_006">paging must be positive</error></offers_query_response>'
    ).encode()
    with pytest.raises(Rejected) as info:
        parser.parse_offers_query(body)
    assert info.value.code == "ERR_005"
    assert info.value.message == "Invalid request"
    assert info.value.errors == [("ERR_005", "Invalid request"), ("ERR_006", "paging must be positive")]
    assert str(info.value) == "ERR_005: Invalid request"


@pytest.mark.parametrize(
    "body",
    [
        samples.offers_page(["A", "B"])[:-60],  # truncated in the middle of the last offer
        b"<html><body>502 Bad Gateway</body></html",
        b"",
        b"not xml at all",
    ],
)
def test_truncated_or_non_xml_offers_body_is_bad_response(body):
    with pytest.raises(BadResponse):
        parser.parse_offers_query(body)


def test_wrong_root_element_is_bad_response():
    with pytest.raises(BadResponse, match="unexpected root"):
        parser.parse_offers_query(b"<html><body>maintenance</body></html>")


# ---------------------------------------------------------------- orders
def test_order_is_fully_parsed():
    page = parser.parse_orders_query(samples.orders_page([samples.order_xml("1A2B3C4D5E6F7")], total=1))
    assert page.nb_total_result == 1
    (order,) = page.orders
    assert isinstance(order, Order)
    assert order.order_id == "1A2B3C4D5E6F7"
    assert order.state == "Created"
    assert order.created_at == dt.datetime(2016, 8, 25, 10, 44, 25, tzinfo=PARIS_SUMMER)
    assert order.client_lastname == "Curie-Skłodowska"
    assert order.fees == Decimal("3.50") and order.vat_rate == Decimal("20.0")
    assert order.delivery_note == ""
    assert order.shipping_address.country == "FRA"
    assert order.shipping_address.company == "" and order.shipping_address.city == "Paris"
    assert order.billing_address.address1 == "12 rue de l'Ecole"
    first, second = order.lines
    assert (first.order_detail_id, first.state, first.offer_seller_id, first.quantity) == (
        1,
        "ToAccept",
        "SKU-1",
        2,
    )
    assert first.product_name == "Le Petit Prince <Poche>"
    assert first.price == Decimal("12.99") and first.fees == Decimal("1.95")
    assert first.shipping_price == Decimal("2.99") and first.shipping_method == "20"
    assert first.debited_at is None and first.received_at is None
    assert (second.order_detail_id, second.price, second.shipping_price) == (2, Decimal("5"), None)
    # the raw fragment is kept for audit and is itself parseable XML of this order only
    raw = etree.fromstring(order.raw_xml.encode())
    assert etree.QName(raw).localname == "order"
    assert raw.findtext("{http://www.fnac.com/schemas/mp-dialog.xsd}order_id") == "1A2B3C4D5E6F7"


def test_unknown_states_are_kept_as_strings():
    page = parser.parse_orders_query(
        samples.orders_page(
            [samples.order_xml("1A2B3C4D5E6F7", state="WaitingForPickup", line_state="InTransit")]
        )
    )
    (order,) = page.orders
    assert order.state == "WaitingForPickup"
    assert order.lines[0].state == "InTransit"


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        (samples.order_xml("BBBBBBBBBBBBB", omit=("state",)), "missing state"),
        (samples.order_xml("BBBBBBBBBBBBB", omit=("created_at",)), "missing created_at"),
        (samples.order_xml("BBBBBBBBBBBBB", created_at="yesterday"), "bad date"),
        (samples.order_xml("BBBBBBBBBBBBB", fees="3,5,0"), "bad number"),
        (samples.order_xml("BBBBBBBBBBBBB", line_price="twelve"), "bad number"),
    ],
)
def test_malformed_order_in_the_middle_is_yielded_and_the_rest_parsed(broken, reason):
    body = samples.orders_page(
        [samples.order_xml("AAAAAAAAAAAAA"), broken, samples.order_xml("CCCCCCCCCCCCC")]
    )
    orders = parser.parse_orders_query(body).orders
    assert [type(o) for o in orders] == [Order, MalformedOrder, Order]
    assert [o.order_id for o in orders] == ["AAAAAAAAAAAAA", "BBBBBBBBBBBBB", "CCCCCCCCCCCCC"]
    malformed = orders[1]
    assert reason in malformed.reason
    assert "<order" in malformed.raw_xml and "BBBBBBBBBBBBB" in malformed.raw_xml
    assert "AAAAAAAAAAAAA" not in malformed.raw_xml  # the fragment of that order only


def test_order_without_id_is_malformed_with_empty_id():
    body = samples.orders_page(
        [samples.order_xml("X", omit=("order_id",)), samples.order_xml("CCCCCCCCCCCCC")]
    )
    first, second = parser.parse_orders_query(body).orders
    assert isinstance(first, MalformedOrder) and first.order_id == "" and "missing order_id" in first.reason
    assert isinstance(second, Order)


def test_naive_and_utc_dates_are_made_aware():
    body = samples.orders_page(
        [
            samples.order_xml("AAAAAAAAAAAAA", created_at="2024-01-15T09:00:00"),
            samples.order_xml("CCCCCCCCCCCCC", created_at="2024-01-15T09:00:00Z"),
        ]
    )
    naive, utc = parser.parse_orders_query(body).orders
    assert naive.created_at == dt.datetime(2024, 1, 15, 8, 0, tzinfo=dt.UTC)  # Paris winter time
    assert utc.created_at == dt.datetime(2024, 1, 15, 9, 0, tzinfo=dt.UTC)


def test_orders_query_token_error_is_auth_error():
    with pytest.raises(AuthError) as info:
        parser.parse_orders_query(samples.TOKEN_EXPIRED)
    assert info.value.code == "ERR_097"


def test_auth_error_recognised_by_message_when_code_is_unknown():
    body = samples.error_response("orders_query", "ERR_999", "Invalid token")
    with pytest.raises(AuthError):
        parser.parse_orders_query(body)


def test_orders_query_truncated_body_is_bad_response():
    body = samples.orders_page([samples.order_xml("AAAAAAAAAAAAA"), samples.order_xml("CCCCCCCCCCCCC")])
    with pytest.raises(BadResponse):
        parser.parse_orders_query(body[: len(body) // 2])


def test_iter_orders_query_yields_every_order_and_fills_paging():
    body = samples.orders_page([samples.order_xml(f"{n:013d}") for n in range(50)])
    paging, orders = parser.iter_orders_query(body)
    seen = [order.order_id for order in orders]
    assert seen == [f"{n:013d}" for n in range(50)]
    assert paging["nb_total_result"] == 50


# ---------------------------------------------------------------- updates, batches, carriers
def test_offers_update_gives_batch_id():
    assert parser.parse_offers_update(samples.OFFERS_UPDATE_OK) == "4F1A2B3C-0000-1111-2222-333344445555"


def test_offers_update_refusal_is_rejected():
    with pytest.raises(Rejected) as info:
        parser.parse_offers_update(samples.error_response("offers_update", "ERR_010", "Too many offers"))
    assert info.value.code == "ERR_010"


def test_batch_status_with_per_offer_results():
    status = parser.parse_batch_status(samples.BATCH_STATUS_WARNING)
    assert status.batch_id == "4F1A2B3C-0000-1111-2222-333344445555"
    assert status.status == "WARNING" and status.is_final
    ok, failed = status.offers
    assert (ok.status, ok.offer_seller_id, ok.offer_fnac_id, ok.errors) == ("OK", "SKU-1", "A1", [])
    assert failed.status == "ERROR" and failed.offer_seller_id == "SKU-2"
    assert [(e.code, e.message) for e in failed.errors] == [("ERR_026", "Product not found")]


def test_batch_status_running_is_not_final():
    status = parser.parse_batch_status(samples.BATCH_STATUS_RUNNING)
    assert status.status == "RUNNING" and not status.is_final and status.offers == []


def test_batch_status_unknown_batch_is_rejected():
    with pytest.raises(Rejected) as info:
        parser.parse_batch_status(samples.error_response("batch_status", "ERR_040", "Unknown batch"))
    assert info.value.code == "ERR_040"


def test_failed_batch_with_offer_results_is_a_result_not_an_error():
    body = samples.BATCH_STATUS_WARNING.replace(b'status="WARNING"', b'status="ERROR"')
    status = parser.parse_batch_status(body)
    assert status.status == "ERROR" and len(status.offers) == 2


def test_orders_update_per_order_and_per_line_results():
    first, second = parser.parse_orders_update(samples.ORDERS_UPDATE_MIXED)
    assert (first.order_id, first.status, first.state) == ("1A2B3C4D5E6F7", "OK", "Accepted")
    assert [(line.order_detail_id, line.status, line.state) for line in first.lines] == [
        (1, "OK", "Accepted"),
        (2, "OK", "Refused"),
    ]
    assert first.ok
    assert second.status == "ERROR" and not second.ok
    assert [e.code for e in second.errors] == ["ERR_103"]
    assert second.lines[0].errors[0].message == "Invalid transition Shipped -> Accepted"


def test_orders_update_whole_call_refused():
    with pytest.raises(Rejected) as info:
        parser.parse_orders_update(samples.error_response("orders_update", "ERR_102", "Too many orders"))
    assert info.value.code == "ERR_102"


def test_carriers():
    carriers = parser.parse_carriers(samples.CARRIERS)
    assert [(c.code, c.name, c.is_global) for c in carriers] == [
        ("LAPOSTE", "La Poste - Colissimo", True),
        ("CHRONOPOST", "Chronopost", False),
        ("UPS", "UPS", True),
    ]


def test_an_ok_batch_without_offer_lines_means_every_offer_went_through():
    """The recorded real answer of a finished batch: status OK and only the batch_id. BatchStatus.results_for is
    the one rule both the listing flow and the stock push read."""
    status = parser.parse_batch_status(
        f'<batch_status_response {samples.NS} status="OK"><batch_id>B1</batch_id></batch_status_response>'.encode())
    results = status.results_for(["A", "B"])
    assert all(r.ok and r.status == "OK" and not r.errors for r in results.values())


def test_a_sku_without_a_line_in_a_batch_that_is_not_ok_did_not_go_through():
    status = parser.parse_batch_status(
        f'<batch_status_response {samples.NS} status="WARNING"><batch_id>B1</batch_id>'
        '<offer status="ERROR"><offer_seller_id>A</offer_seller_id>'
        '<error severity="ERROR" code="ERR_026">Product not found</error></offer>'
        '<offer status="OK"><offer_seller_id>C</offer_seller_id></offer>'
        '</batch_status_response>'.encode())
    results = status.results_for(["A", "B", "C"])
    assert not results["A"].ok and results["A"].message == "ERR_026: Product not found"
    assert not results["B"].ok and "without a result for this offer" in results["B"].message
    assert results["C"].ok
