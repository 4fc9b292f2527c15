"""orders_query filters and orders_update state rules of the sandbox."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from fnac_sandbox.server import SandboxServer

from .wire import Fnac, order_xml, q, signed_in, texts


@pytest.fixture
def osrv():
    with SandboxServer(port=0, seed=5, offers=30) as server:
        yield server


@pytest.fixture
def client(osrv):
    return signed_in(osrv)


def _update(client, *orders):
    return client.call("orders_update", "".join(orders))


def _order_result(root, order_id):
    for el in root.findall(q("order")):
        if el.findtext(q("order_id")) == order_id:
            return el
    raise AssertionError(f"{order_id} not in answer")


def _line_results(order_el):
    return {int(d.findtext(q("order_detail_id"))): d for d in order_el.findall(q("order_detail"))}


def _ids(order):
    return [line.order_detail_id for line in order.lines]


# ---------------------------------------------------------------- orders_query
def test_orders_query_paging_and_fields(osrv, client):
    osrv.seed_orders(45)
    root = client.call("orders_query", "<paging>1</paging>", 'results_count="20"')
    assert (
        root.findtext(q("page")),
        root.findtext(q("total_paging")),
        root.findtext(q("nb_total_result")),
    ) == ("1", "3", "45")
    orders = root.findall(q("order"))
    assert len(orders) == 20
    order = orders[0]
    oid = order.findtext(q("order_id"))
    assert len(oid) == 13 and oid.isalnum() and oid.upper() == oid
    assert order.findtext(q("created_at"))[-6:] in ("+01:00", "+02:00")
    assert order.findtext(q("updated_at"))
    assert order.find(q("shipping_address")).findtext(q("country")) == "FRA"
    line = order.find(q("order_detail"))
    assert int(line.findtext(q("order_detail_id"))) > 0
    assert line.findtext(q("shipping_method")) in {"20", "21", "22", "50", "51", "52", "53", "54", "55"}
    all_ids = set()
    for page in (1, 2, 3):
        all_ids.update(
            texts(
                client.call("orders_query", f"<paging>{page}</paging>", 'results_count="20"'),
                "f:order/f:order_id",
            )
        )
    assert all_ids == set(osrv.state.orders)


def test_orders_query_default_page_size_and_sort(osrv, client):
    osrv.seed_orders(120)
    root = client.call("orders_query")
    assert len(root.findall(q("order"))) == 100
    created = texts(root, "f:order/f:created_at")
    assert created == sorted(created, reverse=True)  # default DESC
    root = client.call("orders_query", "<sort_by>ASC</sort_by>")
    created = texts(root, "f:order/f:created_at")
    assert created == sorted(created)


def test_orders_query_state_filters(osrv, client):
    osrv.seed_orders(40, states={"Created": 1, "ToShip": 1, "Shipped": 1})
    expected = {s: sum(1 for o in osrv.state.orders.values() if o.state == s) for s in ("Created", "ToShip")}
    root = client.call("orders_query", "<state>Created</state>")
    assert set(texts(root, "f:order/f:state")) == {"Created"}
    assert root.findtext(q("nb_total_result")) == str(expected["Created"])
    root = client.call("orders_query", "<states><state>Created</state><state>ToShip</state></states>")
    assert root.findtext(q("nb_total_result")) == str(expected["Created"] + expected["ToShip"])
    assert set(texts(root, "f:order/f:state")) == {"Created", "ToShip"}


def test_orders_query_ids(osrv, client):
    orders = osrv.seed_orders(10)
    a, b = orders[2].order_id, orders[7].order_id
    root = client.call(
        "orders_query",
        f"<orders_fnac_id><order_fnac_id>{a}</order_fnac_id>"
        f"<order_fnac_id>{b}</order_fnac_id></orders_fnac_id>",
    )
    assert sorted(texts(root, "f:order/f:order_id")) == sorted([a, b])
    root = client.call("orders_query", f"<order_fnac_id>{a}</order_fnac_id>")
    assert texts(root, "f:order/f:order_id") == [a]


def test_orders_query_dates(osrv, client):
    osrv.seed_orders(60, days=30)
    now = osrv.clock.now()
    week_ago = (now - dt.timedelta(days=7)).isoformat()
    expected = sum(1 for o in osrv.state.orders.values() if o.created_at >= now - dt.timedelta(days=7))
    root = client.call("orders_query", f'<date type="CreatedAt"><min>{week_ago}</min></date>')
    assert root.findtext(q("nb_total_result")) == str(expected)
    root = client.call("orders_query", f'<date type="CreatedAt"><max>{week_ago}</max></date>')
    assert root.findtext(q("nb_total_result")) == str(60 - expected)
    # UpdatedAt finds an order changed by the buyer side after a point in time
    osrv.tick(5)
    since = osrv.clock.now().isoformat()
    target = next(o for o in osrv.state.orders.values() if o.state == "Shipped" or o.state == "Received")
    osrv.tick(5)
    osrv.set_order_state(target.order_id, "Received")
    root = client.call("orders_query", f'<date type="UpdatedAt"><min>{since}</min></date>')
    assert target.order_id in texts(root, "f:order/f:order_id")


def test_orders_query_sku_filter_and_unknown_skus(make_srv):
    server = make_srv(seed=9, offers=50, orders=600)
    lines = [li for o in server.state.orders.values() for li in o.lines]
    unknown = [li for li in lines if li.sku.startswith("UNKNOWN-")]
    assert unknown and len(unknown) < len(lines) * 0.1
    client = Fnac(server)
    sku = lines[0].sku
    root = client.call("orders_query", f"<offer_seller_id>{sku}</offer_seller_id>", 'results_count="1000"')
    expected = sum(1 for o in server.state.orders.values() if any(li.sku == sku for li in o.lines))
    assert root.findtext(q("nb_total_result")) == str(expected)


# ---------------------------------------------------------------- orders_update: happy path
def test_full_lifecycle(osrv, client):
    oid = osrv.add_order(lines=["SKU-000001", "SKU-000002"])
    order = osrv.state.orders[oid]
    first, second = _ids(order)
    root = _update(
        client,
        order_xml(
            oid, "accept_order", [{"id": first, "action": "Accepted"}, {"id": second, "action": "Accepted"}]
        ),
    )
    res = _order_result(root, oid)
    assert root.get("status") == "OK"
    assert (res.findtext(q("status")), res.findtext(q("state"))) == ("OK", "Accepted")
    assert {d.findtext(q("state")) for d in _line_results(res).values()} == {"Accepted"}
    # payment happens on the FNAC side
    osrv.set_order_state(oid, "ToShip")
    assert {li.state for li in order.lines} == {"ToShip"}
    # partial shipment keeps the order ToShip
    root = _update(
        client,
        order_xml(
            oid,
            "update",
            [{"id": first, "action": "Shipped", "tracking_number": "8R123", "tracking_company": "SOCOLISSIMO"}],
        ),
    )
    res = _order_result(root, oid)
    assert (res.findtext(q("status")), res.findtext(q("state"))) == ("OK", "ToShip")
    assert order.line(first).tracking_number == "8R123"
    root = _update(
        client,
        order_xml(
            oid,
            "confirm_to_send",
            [{"id": second, "action": "Shipped", "tracking_number": "XY1", "tracking_company": "ups"}],
        ),
    )
    assert _order_result(root, oid).findtext(q("state")) == "Shipped"
    assert order.line(second).tracking_company == "ups"  # kept as sent (free text, like FNAC)
    # the tracking shows in orders_query
    line = client.call("orders_query", f"<order_fnac_id>{oid}</order_fnac_id>").find(
        f"{q('order')}/{q('order_detail')}"
    )
    assert line.findtext(q("tracking_number")) in ("8R123", "XY1")
    # tracking update on a shipped line
    root = _update(
        client, order_xml(oid, "update", [{"id": second, "action": "Updated", "tracking_number": "XY2"}])
    )
    assert _order_result(root, oid).findtext(q("status")) == "OK"
    assert order.line(second).tracking_number == "XY2"
    # buyer receives, seller refunds everything
    osrv.set_order_state(oid, "Received")
    root = _update(
        client,
        order_xml(
            oid, "refund_order", [{"id": first, "action": "Refunded", "refund_reason": "returned_article"}]
        ),
    )
    assert _order_result(root, oid).findtext(q("state")) == "Received"
    root = _update(
        client,
        order_xml(
            oid, "refund_order", [{"id": second, "action": "Refunded", "refund_reason": "damaged_article"}]
        ),
    )
    assert _order_result(root, oid).findtext(q("state")) == "Refunded"


def test_accept_all_orders_and_refuse(osrv, client):
    a = osrv.add_order(lines=["SKU-000001", "SKU-000002"])
    b = osrv.add_order(lines=["SKU-000003"])
    root = _update(
        client,
        order_xml(a, "accept_all_orders", [{"action": "Accepted"}]),
        order_xml(b, "accept_all_orders", [{"action": "Refused"}]),
    )
    assert _order_result(root, a).findtext(q("state")) == "Accepted"
    assert _order_result(root, b).findtext(q("state")) == "Refused"
    assert len(_line_results(_order_result(root, a))) == 2
    assert osrv.state.orders[b].lines[0].state == "Refused"


def test_partial_refusal(osrv, client):
    oid = osrv.add_order(lines=["SKU-000001", "SKU-000002"])
    first, second = _ids(osrv.state.orders[oid])
    root = _update(
        client,
        order_xml(
            oid, "accept_order", [{"id": first, "action": "Accepted"}, {"id": second, "action": "Refused"}]
        ),
    )
    assert _order_result(root, oid).findtext(q("state")) == "Accepted"
    osrv.set_order_state(oid, "ToShip")
    assert [li.state for li in osrv.state.orders[oid].lines] == ["ToShip", "Refused"]
    root = _update(
        client,
        order_xml(
            oid,
            "confirm_all_to_send",
            [{"action": "Shipped", "tracking_number": "T1", "tracking_company": "DPD"}],
        ),
    )
    assert _order_result(root, oid).findtext(q("state")) == "Shipped"


def test_accept_order_one_line_keeps_created(osrv, client):
    oid = osrv.add_order(lines=["SKU-000001", "SKU-000002"])
    first, _second = _ids(osrv.state.orders[oid])
    root = _update(client, order_xml(oid, "accept_order", [{"id": first, "action": "Accepted"}]))
    assert _order_result(root, oid).findtext(q("state")) == "Created"


def test_buyer_cancellation_and_updated_at(osrv, client):
    oid = osrv.add_order(state="ToShip", lines=["SKU-000004"])
    before = osrv.state.orders[oid].updated_at
    osrv.tick(2)
    osrv.set_order_state(oid, "Cancelled")
    order = osrv.state.orders[oid]
    assert order.state == "Cancelled" and order.lines[0].state == "Cancelled"
    assert order.updated_at > before
    root = _update(
        client,
        order_xml(oid, "confirm_to_send", [{"id": order.lines[0].order_detail_id, "action": "Shipped"}]),
    )
    assert _order_result(root, oid).find(q("error")).get("code") == "ERR_112"


# ---------------------------------------------------------------- orders_update: refusals
def test_illegal_order_actions(osrv, client):
    created = osrv.add_order(lines=["SKU-000001"])
    to_ship = osrv.add_order(state="ToShip", lines=["SKU-000002"])
    accepted = osrv.add_order(state="Accepted", lines=["SKU-000003"])
    root = _update(
        client,
        order_xml(
            created, "confirm_to_send", [{"id": _ids(osrv.state.orders[created])[0], "action": "Shipped"}]
        ),
        order_xml(
            to_ship, "accept_order", [{"id": _ids(osrv.state.orders[to_ship])[0], "action": "Accepted"}]
        ),
        order_xml(
            accepted,
            "refund_order",
            [{"id": _ids(osrv.state.orders[accepted])[0], "action": "Refunded", "refund_reason": "no_stock"}],
        ),
        order_xml("ZZZZZZZZZZZZZ", "accept_order", [{"id": 1, "action": "Accepted"}]),
        order_xml(to_ship, "receive_all_order", [{"action": "Received"}]),
    )
    assert root.get("status") == "ERROR"
    results = root.findall(q("order"))
    codes = [r.find(q("error")).get("code") for r in results]
    assert codes == ["ERR_112", "ERR_112", "ERR_109", "ERR_111", "ERR_116"]  # ERR_109: refund in the wrong state
    assert all(r.findtext(q("status")) == "ERROR" for r in results)
    assert osrv.state.orders[created].state == "Created"
    assert osrv.state.orders[to_ship].state == "ToShip"


def test_illegal_lines(osrv, client):
    oid = osrv.add_order(state="ToShip", lines=["SKU-000001", "SKU-000002", "SKU-000003"])
    a, b, c = _ids(osrv.state.orders[oid])
    root = _update(
        client,
        order_xml(
            oid,
            "update",
            [
                {"id": a, "action": "Shipped", "tracking_number": "1", "tracking_company": "Track Inc."},
                {"id": 999999, "action": "Shipped"},
                {"id": b, "action": "Accepted"},
                {"id": c, "action": "Shipped", "tracking_number": "2", "tracking_company": "La Poste"},
            ],
        ),
    )
    res = _order_result(root, oid)
    assert res.findtext(q("status")) == "WARNING"
    assert res.findtext(q("state")) == "ToShip"
    lines = _line_results(res)
    # free text in tracking_company is taken, as FNAC's sandbox took "Track Inc." (recorded), and kept as sent
    assert lines[a].findtext(q("status")) == "OK" and lines[a].find(q("error")) is None
    assert lines[999999].find(q("error")).get("code") == "ERR_113"
    assert lines[b].find(q("error")).get("code") == "ERR_114"
    assert lines[c].findtext(q("status")) == "OK" and lines[c].findtext(q("state")) == "Shipped"
    order = osrv.state.orders[oid]
    assert [li.state for li in order.lines] == ["Shipped", "ToShip", "Shipped"]
    assert [li.tracking_company for li in order.lines] == ["Track Inc.", "", "La Poste"]


def test_refund_rules(osrv, client):
    oid = osrv.add_order(state="Shipped", lines=["SKU-000001", "SKU-000002"])
    a, b = _ids(osrv.state.orders[oid])
    root = _update(
        client,
        order_xml(oid, "refund_order", [{"id": a, "action": "Refunded"}, {"id": b, "action": "Shipped"}]),
    )
    lines = _line_results(_order_result(root, oid))
    assert lines[a].find(q("error")).get("code") == "ERR_117"
    assert lines[b].find(q("error")).get("code") == "ERR_114"
    assert _order_result(root, oid).findtext(q("status")) == "ERROR"
    root = _update(
        client, order_xml(oid, "refund_order", [{"id": a, "action": "Refunded", "refund_reason": "other"}])
    )
    assert _order_result(root, oid).findtext(q("state")) == "Shipped"
    root = _update(
        client, order_xml(oid, "refund_order", [{"id": a, "action": "Refunded", "refund_reason": "other"}])
    )
    assert _line_results(_order_result(root, oid))[a].find(q("error")).get("code") == "ERR_109"


def test_more_than_25_orders_is_error(osrv, client):
    ids = [osrv.add_order(lines=["SKU-000001"]) for _ in range(26)]
    root = _update(client, *[order_xml(i, "accept_all_orders", [{"action": "Accepted"}]) for i in ids])
    assert root.get("status") == "ERROR"
    assert root.find(q("error")).get("code") == "ERR_105"
    assert all(osrv.state.orders[i].state == "Created" for i in ids)
    root = _update(client, *[order_xml(i, "accept_all_orders", [{"action": "Accepted"}]) for i in ids[:25]])
    assert root.get("status") == "OK"


def test_invalid_orders_update_is_refused_whole(osrv, client):
    oid = osrv.add_order(lines=["SKU-000001"])
    r = client.post(
        "orders_update",
        f"<orders_update {client.header()}>"
        + order_xml(oid, "ship_it", [{"action": "Shipped"}])
        + "</orders_update>",
    )
    root = etree.fromstring(r.content)
    assert root.get("status") == "ERROR" and root.find(q("error")).get("code") == "ERR_096"
    assert osrv.state.orders[oid].state == "Created"


@pytest.mark.parametrize("bad_id", ["SHORT", "FOURTEENCHARS1"])
def test_orders_update_with_an_order_id_not_13_characters_is_refused_whole(osrv, client, bad_id):
    """order_id_restriction (common.xsd) is exactly 13 characters: the whole call is refused, the good order
    in it is not accepted either."""
    oid = osrv.add_order(lines=["SKU-000001"])
    root = _update(client, order_xml(oid, "accept_all_orders", [{"action": "Accepted"}]),
                   order_xml(bad_id, "accept_all_orders", [{"action": "Accepted"}]))
    assert root.get("status") == "ERROR" and root.find(q("error")).get("code") == "ERR_096"
    assert root.find(q("order")) is None
    assert osrv.state.orders[oid].state == "Created"


def test_refuse_control_refuses_any_orders_update_carrying_the_order(osrv, client):
    a, b = osrv.add_order(lines=["SKU-000001"]), osrv.add_order(lines=["SKU-000001"])
    osrv.refuse(order_ids=[b])
    root = _update(client, order_xml(a, "accept_all_orders", [{"action": "Accepted"}]),
                   order_xml(b, "accept_all_orders", [{"action": "Accepted"}]))
    assert root.get("status") == "ERROR" and root.find(q("error")).get("code") == "ERR_096"
    assert b in root.findtext(q("error"))
    assert osrv.state.orders[a].state == osrv.state.orders[b].state == "Created"
    root = _update(client, order_xml(a, "accept_all_orders", [{"action": "Accepted"}]))
    assert root.get("status") == "OK" and osrv.state.orders[a].state == "Accepted"


# ---------------------------------------------------------------- simulation
def test_tick_brings_orders_and_payments(osrv, client):
    oid = osrv.add_order(lines=["SKU-000001"])
    _update(client, order_xml(oid, "accept_all_orders", [{"action": "Accepted"}]))
    since = osrv.clock.now().isoformat()
    stock_before = sum(o.quantity for o in osrv.state.offers.values())
    events = osrv.tick(3600)
    assert oid in events["paid"]
    assert osrv.state.orders[oid].state == "ToShip"
    assert len(events["new_orders"]) > 10
    assert all(osrv.state.orders[i].state == "Created" for i in events["new_orders"])
    assert sum(o.quantity for o in osrv.state.offers.values()) <= stock_before
    root = client.call(
        "orders_query", f'<date type="UpdatedAt"><min>{since}</min></date>', 'results_count="1000"'
    )
    found = set(texts(root, "f:order/f:order_id"))
    assert oid in found and set(events["new_orders"]) <= found


def test_tick_delivers_shipped_orders(osrv):
    ids = [osrv.add_order(state="Shipped", lines=["SKU-000001"]) for _ in range(20)]
    osrv.tick(6 * 3600)
    states = {osrv.state.orders[i].state for i in ids}
    assert states <= {"Received", "NotReceived"} and "Received" in states


def test_set_order_state_rejects_unknowns(osrv):
    with pytest.raises(KeyError):
        osrv.set_order_state("NOPENOPENOPE1", "ToShip")
    oid = osrv.add_order()
    with pytest.raises(ValueError):
        osrv.set_order_state(oid, "Teleported")


# ---------------------------------------------------------------- size
def test_20k_orders_fetchable(make_srv):
    server = make_srv(orders=20_000)
    client = Fnac(server)
    client.auth()
    seen = 0
    page = 1
    while True:
        r = client.post(
            "orders_query",
            f'<orders_query {client.header()} results_count="1000"><paging>{page}</paging></orders_query>',
        )
        root = etree.fromstring(r.content)
        seen += len(root.findall(q("order")))
        if page >= int(root.findtext(q("total_paging"))):
            break
        page += 1
    assert seen == 20_000


def test_order_lines_carry_nb_products_to_take_back(osrv, client):
    """The live API sends nb_products_to_take_back on every line (not in the 2018 XSD)."""
    oid = osrv.add_order(lines=[{"sku": "SKU-000001", "nb_products_to_take_back": 1},
                                {"sku": "SKU-000002", "nb_products_to_take_back": 0}])
    root = client.call("orders_query", f"<order_fnac_id>{oid}</order_fnac_id>")
    assert texts(root, "f:order/f:order_detail/f:nb_products_to_take_back") == ["1", "0"]


def test_an_expedition_country_in_orders_update_sinks_the_whole_call(osrv, client):
    """FNAC's OrdersUpdateService.xsd has no expedition_country_code (issue 12 asked for it on acceptance): a body
    carrying one does not validate, so the call is refused whole (ERR_096) and nothing is accepted. This is why the
    connector does not send it (docs/orders.md)."""
    oid = osrv.add_order(state="Created", lines=["SKU-000001"])
    (line_id,) = _ids(osrv.state.orders[oid])
    for body in (
        f'<order order_id="{oid}" action="accept_order" expedition_country_code="FR">'
        f"<order_detail><order_detail_id>{line_id}</order_detail_id><action>Accepted</action></order_detail></order>",
        f'<order order_id="{oid}" action="accept_order"><order_detail><order_detail_id>{line_id}</order_detail_id>'
        "<action>Accepted</action><expedition_country_code>FRA</expedition_country_code></order_detail></order>",
    ):
        root = _update(client, body)
        assert root.get("status") == "ERROR" and root.find(q("error")).get("code") == "ERR_096"
        assert root.find(q("order")) is None
    assert osrv.state.orders[oid].state == "Created"
    root = _update(client, order_xml(oid, "accept_order", [{"id": line_id, "action": "Accepted"}]))
    assert _order_result(root, oid).findtext(q("state")) == "Accepted"  # the same acceptance without it goes

