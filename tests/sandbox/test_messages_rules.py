"""The sandbox's messages and order comments services, over plain HTTP: FNAC's recorded shape, XSD refusals,
state rules, paging and filters, the reply-refusal knob, buyers writing over simulated time."""

from __future__ import annotations

import datetime as dt

from .wire import NS, signed_in, texts


def _message(srv, **kwargs):
    order_id = kwargs.pop("referer", None) or next(iter(srv.state.orders))
    return srv.add_message(referer=order_id, **kwargs)


def test_messages_query_answers_the_recorded_shape(srv):
    m = _message(srv, subject="Nouvelle réclamation", description="Colis & <abîmé>")
    root = signed_in(srv).call("messages_query", "<paging>1</paging>", validate=False)
    assert root.get("status") == "OK"
    assert [c.tag.rsplit("}", 1)[1] for c in root][:4] == ["page", "total_paging", "nb_total_per_page",
                                                           "nb_total_result"]
    el = root.find(f"{{{NS}}}message")
    assert (el.get("state"), el.get("archived")) == ("UNREAD", "FALSE")
    assert el.find(f"{{{NS}}}message_referer").get("type") == "ORDER"
    assert el.find(f"{{{NS}}}message_from").get("type") == "CLIENT"
    assert el.findtext(f"{{{NS}}}message_id") == m.message_id
    assert el.findtext(f"{{{NS}}}message_description") == "Colis & <abîmé>"


def test_a_request_off_the_xsd_is_refused_whole(srv):
    client = signed_in(srv)
    r = client.post("messages_query", f'<messages_query {client.header()}><paging>1</paging>'
                                      '<date type="UPDATED_AT"><min>2024-01-01T00:00:00+01:00</min></date>'
                                      '</messages_query>')
    assert b'status="ERROR"' in r.content and b"ERR_096" in r.content
    m = _message(srv)
    root = client.call("messages_update", f'<message action="reply" id="{m.message_id}">'
                                          "<message_subject>hello</message_subject></message>", validate=False)
    assert root.get("status") == "ERROR" and texts(root, "f:error")[0].startswith("XML Validation failed")
    assert m.replies == 0


def test_paging_and_filters(srv):
    now = srv.clock.now()
    ids = [_message(srv, created_at=now - dt.timedelta(hours=h)).message_id for h in range(5)]
    client = signed_in(srv)
    root = client.call("messages_query", "<paging>2</paging><sort_by type=\"ASC\">CREATED_AT</sort_by>",
                       attrs='results_count="2"', validate=False)
    assert texts(root, "f:total_paging") == ["3"] and texts(root, "f:nb_total_result") == ["5"]
    assert texts(root, "f:message/f:message_id") == [ids[2], ids[1]]
    since = (now - dt.timedelta(hours=1, minutes=30)).isoformat()
    root = client.call("messages_query", f'<date type="UpdatedAt"><min>{since}</min></date>', validate=False)
    assert set(texts(root, "f:message/f:message_id")) == set(ids[:2])
    root = client.call("messages_query", f"<message_id>{ids[3]}</message_id>", validate=False)
    assert texts(root, "f:message/f:message_id") == [ids[3]]


def test_reply_read_archive_rules_and_the_refusal_knob(srv):
    m = _message(srv)
    client = signed_in(srv)

    def update(inner):
        return client.call("messages_update", inner)

    root = update(f'<message action="reply" id="{m.message_id}"><message_to>CALLCENTER</message_to>'
                  "<message_subject>order_information</message_subject>"
                  "<message_description>x</message_description></message>")
    assert texts(root, "f:message/f:error") == ["message_to CALLCENTER is allowed only on an order in incident"]
    srv.refuse_replies([m.message_id])
    reply = (f'<message action="reply" id="{m.message_id}"><message_to>CLIENT</message_to>'
             "<message_subject>order_information</message_subject>"
             "<message_description>Bonjour</message_description></message>")
    root = update(reply)
    assert root.get("status") == "ERROR" and root.find(f"{{{NS}}}message/{{{NS}}}error").get("code") == "ERR_142"
    assert m.replies == 0 and m.answer == ""
    srv.refuse_replies([])
    assert update(reply).get("status") == "OK"
    assert (m.replies, m.answer, m.state) == (1, "Bonjour", "READ")
    root = client.call("messages_query", f"<message_id>{m.message_id}</message_id>", validate=False)
    assert texts(root, "f:message/f:answer") == ["Bonjour"]
    update(f'<message action="mark_as_unread" id="{m.message_id}"/><message action="archive" id="{m.message_id}"/>')
    assert (m.state, m.archived) == ("UNREAD", True)
    root = update('<message action="archive" id="00000000-0000-0000-0000-000000000000"/>')
    assert root.find(f"{{{NS}}}message/{{{NS}}}error").get("code") == "ERR_140"


def test_comments_query_and_update(srv):
    order_id = next(iter(srv.state.orders))
    c = srv.add_comment(order_id=order_id, rate=3, comment="Correct")
    client = signed_in(srv)
    root = client.call("client_order_comments_query", '<rate mode="LessThan" value="4"/>')
    assert texts(root, "f:client_order_comment/f:client_order_comment_id") == [c.comment_id]
    assert client.call("client_order_comments_query", '<rate mode="GreaterThan" value="3"/>').find(
        f"{{{NS}}}client_order_comment") is None
    ok = client.call("client_order_comments_update", f'<comment id="{c.comment_id}"><comment_reply>Merci'
                                                     "</comment_reply></comment>")
    assert ok.get("status") == "OK" and c.reply == "Merci"
    again = client.call("client_order_comments_update", f'<comment id="{c.comment_id}"><comment_reply>Encore'
                                                        "</comment_reply></comment>")
    assert again.find(f"{{{NS}}}comment/{{{NS}}}error").get("code") == "ERR_143" and c.reply == "Merci"
    unknown = client.call("client_order_comments_update", '<comment id="8D7472DB-7EAF-CE05-A960-FC12B812FA14">'
                                                          "<comment_reply>Merci</comment_reply></comment>")
    assert unknown.get("status") == "ERROR"
    assert texts(unknown, "f:comment/f:error") == ["[ClientOrderComment Update] Comment not found"]


def test_buyers_write_over_simulated_time(srv):
    events = srv.tick(4 * 3600)
    assert events["new_messages"]
    assert set(events["new_messages"]) <= set(srv.state.messages)
    assert all(srv.state.messages[i].referer in srv.state.orders for i in events["new_messages"])
