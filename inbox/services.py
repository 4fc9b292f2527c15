"""Inbox use cases: importing messages and comments (inbox.importing), replies sent once (inbox.replies),
read/unread and archive/unarchive, and the queued syncs every door starts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction

from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.errors import MarketplaceError
from fnac_connector.marketplace.fnac import messages as wire
from fnac_connector.tasks import enqueue
from inbox.importing import comments_sync, link_orders, messages_sync
from inbox.models import Message
from inbox.replies import comment_reply, message_reply, replies_resume, reply_send
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import run_create, run_queued

__all__ = ["MARKS", "comment_reply", "comments_sync", "inbox_sync_request", "link_orders", "message_reply",
           "messages_mark", "messages_sync", "replies_resume", "reply_send"]

# what the doors offer -> (FNAC's messages_update action, the local fields it sets)
MARKS = {
    "read": ("mark_as_read", {"is_read": True}),
    "unread": ("mark_as_unread", {"is_read": False}),
    "archive": ("archive", {"archived": True}),
    "unarchive": ("unarchive", {"archived": False}),
}
MARK_BATCH = 100  # messages per messages_update call (FNAC publishes no limit)


def messages_mark(*, messages: Iterable[Message], mark: str, client_for=fnac_client_for) -> int:
    """Mark messages read/unread or archive/unarchive them on FNAC, then here (only those FNAC accepted).
    Raises MarketplaceFailure naming the messages FNAC refused; the others are applied."""
    if mark not in MARKS:
        raise InvalidInput(f"unknown mark {mark!r}; use one of {', '.join(MARKS)}")
    action, fields = MARKS[mark]
    by_store: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        if message.direction != Message.Direction.INCOMING or not message.fnac_message_id:
            raise InvalidInput("Only messages received from FNAC can be marked or archived.")
        by_store[message.store_id].append(message)
    done, refused = 0, []
    for batch_messages in by_store.values():
        store = batch_messages[0].store
        if not store.is_connected:
            raise Conflict(f"Store {store.name!r} is not connected; connect it first.")
        client = client_for(store)
        for start in range(0, len(batch_messages), MARK_BATCH):
            chunk = batch_messages[start:start + MARK_BATCH]
            try:
                results = client.messages_update([wire.MessageUpdate(m.fnac_message_id, action) for m in chunk])
            except MarketplaceError as exc:
                raise MarketplaceFailure(f"FNAC did not take the change ({exc}); nothing was changed for these "
                                         f"{len(chunk)} messages.") from exc
            ok = {r.id.upper() for r in results if r.ok}
            failed = {r.id.upper(): r.message for r in results if not r.ok}
            applied = [m.pk for m in chunk if m.fnac_message_id.upper() in ok]
            refused += [f"{m.subject or m.fnac_message_id}: {failed.get(m.fnac_message_id.upper(), 'no result')}"
                        for m in chunk if m.pk not in applied]
            with transaction.atomic():
                Message.objects.filter(pk__in=applied).update(**fields)
                if mark == "archive":
                    Message.objects.filter(pk__in=applied).update(awaiting_reply=False)
                elif mark == "unarchive":
                    Message.objects.filter(pk__in=applied, sender=Message.Sender.CLIENT,
                                           answered_at__isnull=True).update(awaiting_reply=True)
            done += len(applied)
    if refused:
        raise MarketplaceFailure(f"FNAC refused {len(refused)} message(s): " + "; ".join(refused[:5]),
                                 details={"applied": done})
    return done


# ================================================================ queued syncs (what the doors start)
KINDS = {"messages": SyncRun.Kind.MESSAGES_IMPORT, "comments": SyncRun.Kind.ORDER_COMMENTS_IMPORT}


def inbox_sync_request(*, store: Store, what: str = "messages", since: dt.datetime | None = None,
                       trigger: str = "") -> SyncRun:
    """Queue an import of the store's messages (``what="messages"``) or order comments (``"comments"``)."""
    if what not in KINDS:
        raise InvalidInput(f"unknown import {what!r}; use messages or comments")
    if not store.is_connected:
        raise Conflict(f"Store {store.name!r} is not connected (status: {store.get_status_display()}); connect it "
                       "before importing messages.")
    with transaction.atomic():
        run = run_create(store=store, kind=KINDS[what], trigger=trigger,
                         params={"since": since.isoformat()} if since else {})
        enqueue("inbox.tasks.inbox_sync_task", store.pk, what=what, since=since.isoformat() if since else None,
                run_id=run.pk, trigger=trigger, group=f"store:{store.pk}:inbox",
                task_name=f"inbox {what} store {store.pk} run {run.pk}")
    return run


def inbox_sync_task_run(*, store_id: int, what: str, since: dt.datetime | None = None, run_id: int | None = None,
                        trigger: str = "task") -> int | None:
    sync = messages_sync if what == "messages" else comments_sync
    return run_queued(store_id=store_id, run_id=run_id, what=f"{what} import", work=lambda store, run: sync(
        store=store, since=since, trigger=trigger, run=run))
