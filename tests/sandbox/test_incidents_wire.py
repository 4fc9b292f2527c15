"""Issue 15, the sandbox's incidents (buyer claims) over plain HTTP: answers valid against the response XSD, the
filters, and incidents_update's state rules (each refusal changes nothing)."""

from __future__ import annotations

import pytest

from .wire import NS, signed_in, texts


@pytest.fixture
def market(make_srv):
    server = make_srv(seed=5)
    order_id = server.add_order(state="Created", lines=[{"sku": "SKU-A", "quantity": 1},
                                                        {"sku": "SKU-B", "quantity": 2}])
    server.set_order_state(order_id, "Shipped")
    return server, order_id


def _refund(order_id: str, detail_ids, *, incident_id: str = "", reason: str = "damaged_article") -> str:
    attr = f' incident_id="{incident_id}"' if incident_id else ""
    lines = "".join(f"<order_detail><order_detail_id>{i}</order_detail_id>"
                    + (f"<refund_reason>{reason}</refund_reason>" if reason else "") + "</order_detail>"
                    for i in detail_ids)
    return f'<order{attr} order_id="{order_id}" action="refund">{lines}</order>'


def test_query_answers_fnac_shaped_incidents_and_filters(market):
    server, order_id = market
    a = server.state.orders[order_id].lines[0].order_detail_id
    waiting = server.open_incident(order_id, order_detail_ids=[a], type=3)
    server.open_incident(order_id, order_detail_ids=[a + 1], type=2, waiting=False)
    fnac = signed_in(server)
    root = fnac.call("incidents_query", "<paging>1</paging>", attrs='results_count="10"')
    assert root.get("status") == "OK" and texts(root, "f:nb_total_result") == ["2"]
    root = fnac.call("incidents_query", "<paging>1</paging><waiting_for_seller_answer>TRUE</waiting_for_seller_answer>")
    assert [el.get("id") for el in root.iterfind("f:incident", {"f": NS})] == [waiting]
    assert texts(root, "f:incident/f:header/f:status") == ["OPENED"]
    assert texts(root, "f:incident/f:order_details_incident/f:order_detail_incident/f:type") == ["3"]
    root = fnac.call("incidents_query", f"<paging>1</paging><orders><order>{order_id}</order></orders><types>"
                                        "<type>2</type></types>")
    assert texts(root, "f:nb_total_result") == ["1"]


def test_update_state_rules(market):
    server, order_id = market
    order = server.state.orders[order_id]
    a, b = (line.order_detail_id for line in order.lines)
    incident = server.open_incident(order_id, order_detail_ids=[a])
    fnac = signed_in(server)
    # a line outside the incident, no reason, an unknown incident: each refused, nothing changed
    root = fnac.call("incidents_update", _refund(order_id, [b], incident_id=incident))
    assert root.get("status") == "ERROR" and texts(root, "f:order/f:order_detail/f:error") != []
    root = fnac.call("incidents_update", _refund(order_id, [a], incident_id=incident, reason=""), validate=False)
    assert root.get("status") == "ERROR"
    root = fnac.call("incidents_update", _refund(order_id, [a], incident_id="00000000-0000-4000-8000-000000000000"),
                     validate=False)
    assert [el.get("code") for el in root.iterfind("f:order/f:error", {"f": NS})] == ["ERR_119"]
    assert [line.state for line in order.lines] == ["Shipped", "Shipped"]
    # the refund itself: line Refunded, incident closed as refunded
    root = fnac.call("incidents_update", _refund(order_id, [a], incident_id=incident))
    assert root.get("status") == "OK" and texts(root, "f:order/f:incident_status") == ["CLOSED"]
    assert order.lines[0].state == "Refunded" and server.incident(incident).closed_status == 10
    # again: the incident is closed
    root = fnac.call("incidents_update", _refund(order_id, [a], incident_id=incident), validate=False)
    assert [el.get("code") for el in root.iterfind("f:order/f:error", {"f": NS})] == ["ERR_120"]
    refunds = fnac.call("incidents_query", "<paging>1</paging>")
    assert texts(refunds, "f:incident/f:order_details_incident/f:order_detail_incident/f:refunds/f:refund/"
                          "f:product_amount") != []


def test_refund_in_the_wrong_order_state_is_err_109(market):
    server, order_id = market
    a = server.state.orders[order_id].lines[0].order_detail_id
    incident = server.open_incident(order_id, order_detail_ids=[a])
    server.set_order_state(order_id, "Cancelled")
    root = signed_in(server).call("incidents_update", _refund(order_id, [a], incident_id=incident), validate=False)
    assert [el.get("code") for el in root.iterfind("f:order/f:error", {"f": NS})] == ["ERR_109"]


def test_an_invalid_body_is_refused_whole(market):
    server, order_id = market
    fnac = signed_in(server)
    root = fnac.call("incidents_update", f'<order order_id="{order_id}" action="close"><order_detail/></order>',
                     validate=False)
    assert root.get("status") == "ERROR" and [e.get("code") for e in root.iterfind("f:error", {"f": NS})] == [
        "ERR_096"]
