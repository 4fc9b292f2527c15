"""Replies sent exactly once over real HTTP against the sandbox: success, FNAC's refusal, a worker killed after the
call left, a timeout after FNAC applied it; read/unread and archive/unarchive; order comment replies."""

from __future__ import annotations

import datetime as dt

import pytest

from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.fnac.client import FnacClient
from inbox.models import Message, OrderComment, SendState
from inbox.services import comment_reply, comments_sync, message_reply, messages_mark, replies_resume
from tests.inbox.conftest import ORDER_A, requests_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def incoming(inbox_store, sandbox, buyer_message, sync_messages):
    message_id = buyer_message(ORDER_A, hours_ago=0.1, description="Où est mon colis ?")
    sync_messages()
    sandbox.clear_requests()
    return Message.objects.get(fnac_message_id=message_id)


def _landed(sandbox, message: Message):
    with sandbox.state.lock:
        m = sandbox.state.messages[message.fnac_message_id]
        return m.replies, m.answer


def test_a_reply_is_sent_once_and_stops_the_clock(incoming, sandbox, superuser):
    outgoing = message_reply(message=incoming, subject_code="shipping_information", body="Il part demain.",
                             user=superuser)
    assert outgoing.send_state == SendState.SENT and outgoing.send_attempts == 1
    assert (outgoing.direction, outgoing.reply_to_id, outgoing.subject) == ("out", incoming.pk, "About the shipping")
    incoming.refresh_from_db()
    assert not incoming.awaiting_reply and incoming.answered_at is not None
    assert _landed(sandbox, incoming) == (1, "Il part demain.")
    [sent] = requests_of(sandbox, "messages_update", "reply")
    assert b"<message_subject>shipping_information</message_subject>" in sent.body
    assert b"<message_to>CLIENT</message_to>" in sent.body


def test_a_reply_refused_by_fnac_is_marked_refused_and_moves_nothing(incoming, sandbox, superuser):
    sandbox.refuse_replies([incoming.fnac_message_id])
    with pytest.raises(MarketplaceFailure, match="FNAC refused the reply: ERR_142"):
        message_reply(message=incoming, subject_code="order_information", body="Bonjour", user=superuser)
    outgoing = Message.objects.get(reply_to=incoming)
    assert outgoing.send_state == SendState.REFUSED and "ERR_142" in outgoing.send_error
    incoming.refresh_from_db()
    assert incoming.awaiting_reply and incoming.answered_at is None  # still waits for an answer
    assert _landed(sandbox, incoming) == (0, "")
    # the seller may write again once FNAC accepts it
    sandbox.refuse_replies([])
    assert message_reply(message=incoming, subject_code="order_information", body="Bonjour",
                         user=superuser).send_state == SendState.SENT


class KilledAfterSend:
    """The worker dies right after FNAC received the reply (before it could record the answer)."""

    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def messages_update(self, updates):
        self.real.messages_update(updates)
        raise SystemExit("worker killed")


def test_a_worker_killed_mid_reply_does_not_reply_twice(incoming, sandbox, superuser):
    from stores.clients import fnac_client_for

    with pytest.raises(SystemExit):
        message_reply(message=incoming, subject_code="order_information", body="Réponse unique",
                      user=superuser, client=KilledAfterSend(fnac_client_for(incoming.store)))
    outgoing = Message.objects.get(reply_to=incoming)
    assert outgoing.send_state == SendState.PENDING and outgoing.send_attempts == 1  # "maybe sent"
    # a second click meanwhile makes no second intent
    with pytest.raises(Conflict):
        message_reply(message=incoming, subject_code="order_information", body="Réponse unique", user=superuser)
    counts = replies_resume(older_than_seconds=0)
    outgoing.refresh_from_db()
    assert counts["sent"] == 1 and outgoing.send_state == SendState.SENT
    assert outgoing.send_attempts == 1  # asked FNAC, did not send again
    assert len(requests_of(sandbox, "messages_update", "reply")) == 1
    assert _landed(sandbox, incoming) == (1, "Réponse unique")
    replies_resume(older_than_seconds=0)  # and again: nothing more
    assert len(requests_of(sandbox, "messages_update", "reply")) == 1


def test_a_timeout_after_fnac_got_the_reply_does_not_reply_twice(incoming, sandbox, superuser, settings):
    store = incoming.store
    client = FnacClient(base_url=store.fnac_base_url, partner_id=store.partner_id, shop_id=store.shop_id,
                        key=store.fnac_key, timeout=(2, 0.5), max_retries=0)
    client.auth()
    sandbox.set_faults(1.0, ["slow"])  # FNAC applies it, the answer comes after the client gave up
    outgoing = message_reply(message=incoming, subject_code="order_information", body="Une seule fois",
                             user=superuser, client=client)
    sandbox.set_faults(0.0)
    assert outgoing.send_state == SendState.UNKNOWN and "outcome is unknown" in outgoing.send_error
    assert _landed(sandbox, incoming) == (1, "Une seule fois")
    replies_resume()
    outgoing.refresh_from_db()
    assert outgoing.send_state == SendState.SENT
    assert len(requests_of(sandbox, "messages_update", "reply")) == 1
    assert _landed(sandbox, incoming)[0] == 1


def test_an_intent_whose_worker_died_before_sending_is_sent_by_the_resume_job(incoming, sandbox, superuser):
    from inbox.replies import reply_record

    outgoing = reply_record(message=incoming, subject_code="other_question", body="Envoyée plus tard",
                            user=superuser)
    Message.objects.filter(pk=outgoing.pk).update(updated_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    replies_resume()
    outgoing.refresh_from_db()
    assert outgoing.send_state == SendState.SENT
    assert _landed(sandbox, incoming) == (1, "Envoyée plus tard")
    assert not requests_of(sandbox, "messages_query")  # never sent before: nothing to check first


@pytest.mark.parametrize("subject, body, words", [
    ("", "Bonjour", "Choose a subject"), ("order_information", "   ", "empty"),
    ("order_information", "x" * 4001, "at most 4000")])
def test_bad_replies_are_refused_before_anything_is_written(incoming, sandbox, superuser, subject, body, words):
    with pytest.raises(InvalidInput, match=words):
        message_reply(message=incoming, subject_code=subject, body=body, user=superuser)
    assert not Message.objects.filter(reply_to=incoming).exists()
    assert not requests_of(sandbox, "messages_update")


def test_read_unread_archive_unarchive_on_fnac_then_here(incoming, sandbox):
    def remote():
        with sandbox.state.lock:
            m = sandbox.state.messages[incoming.fnac_message_id]
            return m.state, m.archived

    assert messages_mark(messages=[incoming], mark="read") == 1
    incoming.refresh_from_db()
    assert incoming.is_read and remote() == ("READ", False)
    messages_mark(messages=[incoming], mark="unread")
    incoming.refresh_from_db()
    assert not incoming.is_read and remote() == ("UNREAD", False)
    messages_mark(messages=[incoming], mark="archive")
    incoming.refresh_from_db()
    assert incoming.archived and not incoming.awaiting_reply and remote() == ("UNREAD", True)
    messages_mark(messages=[incoming], mark="unarchive")
    incoming.refresh_from_db()
    assert not incoming.archived and incoming.awaiting_reply and remote() == ("UNREAD", False)


def test_a_mark_fnac_refuses_changes_nothing_here(incoming, sandbox):
    with sandbox.state.lock:
        del sandbox.state.messages[incoming.fnac_message_id]  # FNAC no longer knows it
    with pytest.raises(MarketplaceFailure, match="ERR_140"):
        messages_mark(messages=[incoming], mark="archive")
    incoming.refresh_from_db()
    assert not incoming.archived and incoming.awaiting_reply


def test_order_comments_import_and_reply_once(inbox_store, sandbox, superuser):
    comment_id = sandbox.add_comment(order_id=ORDER_A, rate=2, comment="Colis abîmé").comment_id
    run = comments_sync(store=inbox_store, trigger="test")
    assert run.counts["created"] == 1
    comment = OrderComment.objects.get(fnac_comment_id=comment_id)
    assert (comment.rate, comment.comment, comment.order.marketplace_order_id) == (2, "Colis abîmé", ORDER_A)
    with pytest.raises(InvalidInput, match="at most 255"):
        comment_reply(comment=comment, text="x" * 256, user=superuser)
    comment = comment_reply(comment=comment, text="Désolé, nous vous renvoyons l'article.", user=superuser)
    assert comment.reply_state == SendState.SENT and comment.reply.startswith("Désolé")
    assert sandbox.state.comments[comment_id].replies == 1
    with pytest.raises(Conflict):
        comment_reply(comment=comment, text="Encore", user=superuser)
    assert len(requests_of(sandbox, "client_order_comments_update")) == 1


def test_a_comment_fnac_does_not_know_is_refused_with_its_words(inbox_store, sandbox, superuser):
    comment_id = sandbox.add_comment(order_id=ORDER_A).comment_id
    comments_sync(store=inbox_store, trigger="test")
    del sandbox.state.comments[comment_id]
    comment = OrderComment.objects.get(fnac_comment_id=comment_id)
    with pytest.raises(MarketplaceFailure, match="Comment not found"):
        comment_reply(comment=comment, text="Merci", user=superuser)
    comment.refresh_from_db()
    assert comment.reply_state == SendState.REFUSED and comment.reply == ""
