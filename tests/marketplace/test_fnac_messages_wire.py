"""messages_query/_update and client_order_comments_query/_update: every request valid against FNAC's per-service
XSD, bad input never leaves, FNAC's recorded answers parse."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from fnac_connector.marketplace.errors import Rejected
from fnac_connector.marketplace.fnac import messages as m
from tests.marketplace.test_fnac_builder import HEADER, assert_header, assert_valid, child_names

PARIS = dt.timezone(dt.timedelta(hours=2))
MSG_ID = "6F9EF013-6387-F433-C3F5-4AAEF32AA317"
COMMENT_ID = "8D7472DB-7EAF-CE05-A960-FC12B812FA14"

# recorded by fnapy against FNAC's sandbox (tests/assets/query_messages_response.xml)
RECORDED_MESSAGES = """<?xml version="1.0" encoding="UTF-8"?>
<messages_query_response xmlns="http://www.fnac.com/schemas/mp-dialog.xsd" status="OK">
  <page>1</page>
  <total_paging>1</total_paging>
  <nb_total_per_page>100</nb_total_per_page>
  <nb_total_result>1</nb_total_result>
  <message state="READ" archived="FALSE">
    <message_id><![CDATA[6F9EF013-6387-F433-C3F5-4AAEF32AA317]]></message_id>
    <message_referer type="ORDER"><![CDATA[57BEAFDA828A8]]></message_referer>
    <message_from type="CLIENT"><![CDATA[testfnac]]></message_from>
    <message_subject><![CDATA[Nouvelle réclamation]]></message_subject>
    <message_description><![CDATA[Une réclamation a été ouverte
Description du problèmeIncident test message]]></message_description>
    <created_at><![CDATA[2016-08-29T17:53:51+02:00]]></created_at>
    <updated_at><![CDATA[2016-08-30T13:57:01+02:00]]></updated_at>
  </message>
</messages_query_response>""".encode()

# recorded by fnapy (tests/assets/update_client_order_comments_response.xml)
RECORDED_COMMENT_NOT_FOUND = (b'<?xml version="1.0" encoding="utf-8"?><client_order_comments_update_response '
                              b'xmlns="http://www.fnac.com/schemas/mp-dialog.xsd" status="ERROR"><comment '
                              b'status="ERROR" id="8D7472DB-7EAF-CE05-A960-FC12B812FA14"><error severity="ERROR" '
                              b'code="ERR_128">[ClientOrderComment Update] Comment not found</error></comment>'
                              b'</client_order_comments_update_response>')


def test_messages_query_with_every_filter_is_valid():
    body = m.build_messages_query(
        HEADER, page=2, results_count=50, date_type="UpdatedAt", date_min=dt.datetime(2024, 5, 1, tzinfo=PARIS),
        date_max=dt.datetime(2024, 5, 2, tzinfo=PARIS), message_type="ORDER", archived=False, state="UNREAD",
        message_id=MSG_ID, order_id="57BEAFDA828A8", sort_by=("UPDATED_AT", "ASC"), from_types=("CLIENT", "CALLCENTER"))
    doc = assert_valid(body, "MessagesQueryService.xsd")
    assert_header(doc)
    assert doc.get("results_count") == "50"
    assert child_names(doc) == ["paging", "date", "message_type", "message_archived", "message_state", "message_id",
                                "order_fnac_id", "sort_by", "message_from_types"]
    date = doc.find("{*}date")
    assert date.get("type") == "UpdatedAt" and date.find("{*}min").text == "2024-05-01T00:00:00+02:00"
    sort = doc.find("{*}sort_by")
    assert (sort.text, sort.get("type")) == ("UPDATED_AT", "ASC")


def test_messages_query_minimal_is_valid():
    doc = assert_valid(m.build_messages_query(HEADER, sort_by=None), "MessagesQueryService.xsd")
    assert child_names(doc) == ["paging"]


@pytest.mark.parametrize("kwargs, words", [
    ({"date_type": "UPDATED_AT", "date_min": dt.datetime(2024, 1, 1, tzinfo=PARIS)}, "messages date type"),
    ({"date_min": dt.datetime(2024, 1, 1)}, "timezone-aware"),
    ({"message_id": "not-a-uuid"}, "message_id"),
    ({"state": "SEEN"}, "message_state"),
    ({"sort_by": ("DATE", "ASC")}, "sort_by field"),
    ({"from_types": ("BUYER",)}, "from_type"),
    ({"order_id": " "}, "order_fnac_id"),
    ({"page": 0}, "page"),
])
def test_messages_query_refuses_bad_values(kwargs, words):
    with pytest.raises(ValueError, match=words):
        m.build_messages_query(HEADER, **kwargs)


def test_messages_update_reply_and_marks_are_valid():
    body = m.build_messages_update(HEADER, [
        m.MessageUpdate(MSG_ID, "reply", to="CLIENT", subject="shipping_information",
                        description="Votre colis part demain <b>& merci</b>", message_type="ORDER"),
        m.MessageUpdate(MSG_ID, "mark_as_read"), m.MessageUpdate(MSG_ID, "archive"),
        m.MessageUpdate(MSG_ID, "unarchive"), m.MessageUpdate(MSG_ID, "mark_as_unread")])
    doc = assert_valid(body, "MessagesUpdateService.xsd")
    assert_header(doc)
    first = doc.find("{*}message")
    assert (first.get("action"), first.get("id")) == ("reply", MSG_ID)
    assert first.find("{*}message_description").text == "Votre colis part demain <b>& merci</b>"
    assert b"<![CDATA[Votre colis" in body


@pytest.mark.parametrize("update, words", [
    (m.MessageUpdate(MSG_ID, "reply", to="CLIENT", subject="order_information", description="  "), "empty"),
    (m.MessageUpdate(MSG_ID, "reply", to="CLIENT", description="Bonjour"), "subject"),
    (m.MessageUpdate(MSG_ID, "reply", to="CLIENT", subject="hello", description="Bonjour"), "message_subject"),
    (m.MessageUpdate(MSG_ID, "reply", to="CLIENT", subject="order_information", description="x" * 4001),
     "at most 4000"),
    (m.MessageUpdate(MSG_ID, "delete"), "action"),
    (m.MessageUpdate("", "mark_as_read"), "id is required"),
])
def test_messages_update_refuses_bad_items(update, words):
    with pytest.raises(ValueError, match=words):
        m.build_messages_update(HEADER, [update])


def test_comments_query_and_update_are_valid():
    doc = assert_valid(m.build_client_order_comments_query(
        HEADER, date_type="Modified", date_min=dt.datetime(2024, 5, 1, tzinfo=PARIS), comment_id=COMMENT_ID,
        order_id="57BEAFDA828A8", rate=("LessThan", 3)), "ClientOrderCommentsQueryService.xsd")
    assert child_names(doc) == ["paging", "date", "rate", "client_order_comment_id", "order_fnac_id"]
    doc = assert_valid(m.build_client_order_comments_update(HEADER, [m.CommentReply(COMMENT_ID, "Merci !")]),
                       "ClientOrderCommentsUpdateService.xsd")
    assert doc.find("{*}comment").get("id") == COMMENT_ID


def test_comment_reply_limits():
    with pytest.raises(ValueError, match="at most 255"):
        m.build_client_order_comments_update(HEADER, [m.CommentReply(COMMENT_ID, "x" * 256)])
    with pytest.raises(ValueError, match="comment id"):
        m.build_client_order_comments_update(HEADER, [m.CommentReply("12", "Merci")])
    with pytest.raises(ValueError, match="empty"):
        m.build_client_order_comments_update(HEADER, [m.CommentReply(COMMENT_ID, " ")])


def test_recorded_messages_answer_parses():
    page = m.parse_messages_query(RECORDED_MESSAGES)
    assert (page.page, page.total_paging, page.nb_total_result) == (1, 1, 1)
    [message] = page.messages
    assert message.message_id == MSG_ID
    assert (message.referer_type, message.referer) == ("ORDER", "57BEAFDA828A8")
    assert (message.from_type, message.from_name) == ("CLIENT", "testfnac")
    assert message.subject == "Nouvelle réclamation"
    assert message.description.endswith("Incident test message")
    assert message.state == "READ" and message.archived is False
    assert message.created_at == dt.datetime(2016, 8, 29, 17, 53, 51, tzinfo=PARIS)


def test_a_broken_message_is_kept_in_place_not_raised():
    data = RECORDED_MESSAGES.replace(b"<![CDATA[2016-08-29T17:53:51+02:00]]>", b"yesterday")
    [item] = m.parse_messages_query(data).messages
    assert isinstance(item, m.MalformedMessage)
    assert item.message_id == MSG_ID and "created_at" in item.reason


def test_recorded_comment_not_found_is_a_per_item_result():
    [result] = m.parse_client_order_comments_update(RECORDED_COMMENT_NOT_FOUND)
    assert not result.ok
    assert result.id == COMMENT_ID and result.errors[0].code == "ERR_128"


def test_a_whole_call_refusal_raises():
    body = (b'<messages_update_response xmlns="http://www.fnac.com/schemas/mp-dialog.xsd" status="ERROR">'
            b'<error severity="ERROR" code="ERR_096">XML Validation failed</error></messages_update_response>')
    with pytest.raises(Rejected) as exc:
        m.parse_messages_update(body)
    assert exc.value.code == "ERR_096"
    assert etree.fromstring(body) is not None
