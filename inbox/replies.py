"""Replies sent exactly once: to buyer messages (messages_update ``reply``) and to order comments
(client_order_comments_update).

1. The intent is recorded first and committed: an outgoing ``Message`` in state ``pending`` (for a comment, its
   ``reply_state``), at most one in flight per message (a database constraint).
2. ``send_attempts`` is raised and committed before the call, so after a worker dies mid-call the row says "maybe
   sent".
3. Before any second attempt (``send_attempts`` > 0, or state ``unknown``) FNAC is asked whether the reply landed
   (messages_query on the message: its ``answer``; comments: the comment's ``reply``); only a reply FNAC does not
   show is sent again.
4. FNAC's refusal marks the intent ``refused`` with FNAC's words and moves nothing else (the buyer's message still
   waits for an answer); a call FNAC certainly never processed (unreachable, 429/503, token refused) marks it
   ``failed`` (the seller may write again); anything else leaves it ``unknown`` for ``replies_resume``.

One lease per reply (stores.syncs.store_lock) keeps two workers from sending the same intent at once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.errors import (
    AuthError,
    BadResponse,
    MarketplaceError,
    OutcomeUnknown,
    Rejected,
    Unavailable,
)
from fnac_connector.marketplace.fnac import messages as wire
from inbox.models import Message, OrderComment, SendState
from stores.clients import fnac_client_for
from stores.syncs import LockBusy, store_lock

log = logging.getLogger(__name__)

RESUME_AFTER_SECONDS = 120  # a pending intent this old lost its worker


def _same(a: str, b: str) -> bool:
    return " ".join((a or "").split()) == " ".join((b or "").split())


def _outcome_unknown(exc: MarketplaceError) -> bool:
    """Did FNAC maybe process the call? (read timeout, cut answer, a 5xx other than "not now")."""
    if isinstance(exc, OutcomeUnknown | BadResponse):
        return True
    return isinstance(exc, Unavailable) and exc.status_code not in (None, 429, 503)


def _describe(exc: MarketplaceError) -> str:
    return str(exc) or exc.__class__.__name__


# ================================================================ message replies
def reply_record(*, message: Message, subject_code: str, body: str, user=None) -> Message:
    """The intent of a reply, committed: an outgoing message in state ``pending``. Refuses (InvalidInput /
    Conflict, nothing written) a reply FNAC could not take."""
    body = (body or "").strip()
    if message.direction != Message.Direction.INCOMING:
        raise InvalidInput("Only a message received from FNAC can be answered.")
    if message.sender not in (Message.Sender.CLIENT, Message.Sender.CALLCENTER):
        raise InvalidInput(f"A message from {message.get_sender_display() or 'an unknown sender'} cannot be "
                           "answered; only buyers' and FNAC customer service's messages can.")
    if subject_code not in wire.MESSAGE_SUBJECTS:
        raise InvalidInput(f"Choose a subject: {', '.join(wire.MESSAGE_SUBJECTS.values())}.")
    if not body:
        raise InvalidInput("The reply is empty: write something to the buyer.")
    if len(body) > wire.MAX_MESSAGE_BODY:
        raise InvalidInput(f"The reply is {len(body)} characters long; at most {wire.MAX_MESSAGE_BODY} are sent.")
    if not message.store.is_connected:
        raise Conflict(f"Store {message.store.name!r} is not connected; connect it before replying.")
    try:
        with transaction.atomic():
            return Message.objects.create(
                store=message.store, direction=Message.Direction.OUTGOING, about=message.about,
                referer=message.referer, order_id=message.order_id, product_id=message.product_id,
                sender=Message.Sender.SELLER, sender_name=(user.get_username() if user else "")[:200],
                subject=wire.MESSAGE_SUBJECTS[subject_code], subject_code=subject_code, body=body, is_read=True,
                created_at=timezone.now(), send_state=SendState.PENDING, reply_to=message, user=user)
    except IntegrityError:
        raise Conflict("A reply to this message is already being sent; wait for it to finish.") from None


def message_reply(*, message: Message, subject_code: str, body: str, user=None, client=None) -> Message:
    """Reply to a buyer's (or FNAC customer service's) message: record the intent, then send it once.
    Returns the outgoing message; raises MarketplaceFailure when FNAC refused it (the intent says so)."""
    outgoing = reply_record(message=message, subject_code=subject_code, body=body, user=user)
    outgoing = reply_send(outgoing=outgoing, client=client)
    if outgoing.send_state == SendState.REFUSED:
        raise MarketplaceFailure(f"FNAC refused the reply: {outgoing.send_error}", code="refused")
    if outgoing.send_state == SendState.FAILED:
        raise MarketplaceFailure(f"The reply was not sent: {outgoing.send_error}", code="not_sent")
    return outgoing


def _answered(message_id: int, when) -> None:
    Message.objects.filter(pk=message_id).update(awaiting_reply=False, answered_at=when, is_read=True)


def _landed(client, outgoing: Message) -> bool:
    """Does FNAC show this reply already? Reads the answered message (its ``answer``) and, in case FNAC lists
    replies as messages of their own, the seller's messages on the same order."""
    original = outgoing.reply_to
    page = client.messages_query_page(page_size=1, message_id=original.fnac_message_id, sort_by=None)
    if any(isinstance(m, wire.Message) and _same(m.answer, outgoing.body) for m in page.messages):
        return True
    if original.about == Message.About.ORDER and original.referer:
        for page in client.message_pages(page_size=100, order_id=original.referer, from_types=("SELLER",),
                                         sort_by=None):
            if any(isinstance(m, wire.Message) and _same(m.description, outgoing.body) for m in page.messages):
                return True
    return False


def reply_send(*, outgoing: Message, client=None) -> Message:
    """Send a recorded reply once (see the module docstring); safe to call again after any failure."""
    try:
        with store_lock(store=outgoing.store, name=f"reply:{outgoing.pk}"):
            return _reply_send(outgoing, client)
    except LockBusy:
        raise Conflict("This reply is being sent by another worker right now.") from None


def _reply_send(outgoing: Message, client) -> Message:
    outgoing = Message.objects.select_related("store", "reply_to").get(pk=outgoing.pk)
    if outgoing.send_state not in (SendState.PENDING, SendState.UNKNOWN):
        return outgoing
    client = client or fnac_client_for(outgoing.store)
    original = outgoing.reply_to
    if outgoing.send_attempts or outgoing.send_state == SendState.UNKNOWN:
        try:
            landed = _landed(client, outgoing)
        except MarketplaceError as exc:
            Message.objects.filter(pk=outgoing.pk).update(
                send_state=SendState.UNKNOWN, send_error=f"Could not check with FNAC whether it arrived: "
                                                         f"{_describe(exc)}; checked again later.")
            outgoing.refresh_from_db()
            return outgoing
        if landed:
            now = timezone.now()
            with transaction.atomic():
                Message.objects.filter(pk=outgoing.pk).update(send_state=SendState.SENT, sent_at=now, send_error="")
                _answered(original.pk, now)
            outgoing.refresh_from_db()
            return outgoing
    # committed before the call: a worker dying from here on leaves "maybe sent", checked before any resend
    Message.objects.filter(pk=outgoing.pk).update(send_attempts=F("send_attempts") + 1,
                                                  send_state=SendState.PENDING)
    update = wire.MessageUpdate(message_id=original.fnac_message_id, action="reply", to="CLIENT",
                                subject=outgoing.subject_code, description=outgoing.body,
                                message_type=original.about)
    try:
        results = client.messages_update([update])
    except Rejected as exc:
        return _finish(outgoing, SendState.REFUSED, f"{exc.code}: {exc.message}" if exc.code else exc.message)
    except AuthError as exc:
        return _finish(outgoing, SendState.FAILED, _describe(exc))
    except MarketplaceError as exc:
        if _outcome_unknown(exc):
            return _finish(outgoing, SendState.UNKNOWN, f"{_describe(exc)}; FNAC is asked before any new attempt.")
        return _finish(outgoing, SendState.FAILED, _describe(exc))
    mine = [r for r in results if r.id.upper() == original.fnac_message_id.upper()] or results
    if mine and mine[0].ok:
        now = timezone.now()
        with transaction.atomic():
            Message.objects.filter(pk=outgoing.pk).update(send_state=SendState.SENT, sent_at=now, send_error="")
            _answered(original.pk, now)
        outgoing.refresh_from_db()
        return outgoing
    reason = mine[0].message if mine else "FNAC gave no result for this message"
    return _finish(outgoing, SendState.REFUSED, reason or f"status {mine[0].status}")


def _finish(outgoing: Message, state: str, error: str) -> Message:
    Message.objects.filter(pk=outgoing.pk).update(send_state=state, send_error=error)
    outgoing.refresh_from_db()
    return outgoing


def replies_resume(*, older_than_seconds: int = RESUME_AFTER_SECONDS) -> dict[str, int]:
    """The periodic safety net: every reply whose outcome is unknown, or whose worker died (pending for longer than
    ``older_than_seconds``), is checked with FNAC and sent only if it did not land. Comments alike."""
    limit = timezone.now() - dt.timedelta(seconds=older_than_seconds)
    counts = {"checked": 0, "sent": 0, "still_unknown": 0}
    for outgoing in Message.objects.filter(Q(send_state=SendState.UNKNOWN) | Q(
            send_state=SendState.PENDING, updated_at__lte=limit)).select_related("store", "reply_to"):
        if not outgoing.store.is_connected:
            continue
        counts["checked"] += 1
        try:
            result = reply_send(outgoing=outgoing)
        except Conflict:
            continue
        counts["sent" if result.send_state == SendState.SENT else "still_unknown"] += 1
    for comment in OrderComment.objects.filter(Q(reply_state=SendState.UNKNOWN) | Q(
            reply_state=SendState.PENDING, updated_at__lte=limit)).select_related("store"):
        if comment.store.is_connected:
            counts["checked"] += 1
            try:
                comment_reply_send(comment=comment)
            except Conflict:
                continue
    return counts


# ================================================================ order comment replies
def comment_reply(*, comment: OrderComment, text: str, user=None, client=None) -> OrderComment:
    """Reply to an order comment (at most 255 characters, FNAC's limit), sent exactly once like a message reply."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("The reply is empty.")
    if len(text) > wire.MAX_COMMENT_REPLY:
        raise InvalidInput(f"The reply is {len(text)} characters long; FNAC accepts at most "
                           f"{wire.MAX_COMMENT_REPLY}.")
    if not comment.store.is_connected:
        raise Conflict(f"Store {comment.store.name!r} is not connected; connect it before replying.")
    with transaction.atomic():
        claimed = OrderComment.objects.filter(pk=comment.pk, reply="").exclude(
            reply_state__in=[SendState.PENDING, SendState.UNKNOWN, SendState.SENT]).update(
            reply_draft=text, reply_state=SendState.PENDING, reply_error="", reply_attempts=0, reply_user=user)
    if not claimed:
        raise Conflict("This comment already has a reply, or one is being sent.")
    comment = comment_reply_send(comment=comment, client=client)
    if comment.reply_state == SendState.REFUSED:
        raise MarketplaceFailure(f"FNAC refused the reply: {comment.reply_error}", code="refused")
    if comment.reply_state == SendState.FAILED:
        raise MarketplaceFailure(f"The reply was not sent: {comment.reply_error}", code="not_sent")
    return comment


def comment_reply_send(*, comment: OrderComment, client=None) -> OrderComment:
    try:
        with store_lock(store=comment.store, name=f"comment_reply:{comment.pk}"):
            return _comment_reply_send(comment, client)
    except LockBusy:
        raise Conflict("This reply is being sent by another worker right now.") from None


def _comment_finish(comment: OrderComment, state: str, error: str = "", **extra) -> OrderComment:
    OrderComment.objects.filter(pk=comment.pk).update(reply_state=state, reply_error=error, **extra)
    comment.refresh_from_db()
    return comment


def _comment_reply_send(comment: OrderComment, client) -> OrderComment:
    comment = OrderComment.objects.select_related("store").get(pk=comment.pk)
    if comment.reply_state not in (SendState.PENDING, SendState.UNKNOWN):
        return comment
    client = client or fnac_client_for(comment.store)
    if comment.reply_attempts or comment.reply_state == SendState.UNKNOWN:
        try:
            page = client.client_order_comments_query_page(page_size=1, comment_id=comment.fnac_comment_id)
        except MarketplaceError as exc:
            return _comment_finish(comment, SendState.UNKNOWN, f"Could not check with FNAC: {_describe(exc)}")
        shown = [c for c in page.comments if isinstance(c, wire.OrderComment) and c.reply]
        if shown:
            return _comment_finish(comment, SendState.SENT, reply=shown[0].reply, replied_at=timezone.now())
    OrderComment.objects.filter(pk=comment.pk).update(reply_attempts=F("reply_attempts") + 1,
                                                      reply_state=SendState.PENDING)
    try:
        results = client.client_order_comments_update([wire.CommentReply(comment.fnac_comment_id,
                                                                          comment.reply_draft)])
    except Rejected as exc:
        return _comment_finish(comment, SendState.REFUSED, f"{exc.code}: {exc.message}" if exc.code else exc.message)
    except AuthError as exc:
        return _comment_finish(comment, SendState.FAILED, _describe(exc))
    except MarketplaceError as exc:
        state = SendState.UNKNOWN if _outcome_unknown(exc) else SendState.FAILED
        return _comment_finish(comment, state, _describe(exc))
    if results and results[0].ok:
        return _comment_finish(comment, SendState.SENT, reply=comment.reply_draft, replied_at=timezone.now())
    return _comment_finish(comment, SendState.REFUSED, results[0].message if results else "no result from FNAC")
