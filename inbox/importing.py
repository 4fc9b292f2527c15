"""Importing messages and order comments from FNAC.

The window: FNAC's ``updated_at`` since the store's cursor less an overlap (90 days back on the first run, or
``since`` when given); "now" is taken before the first page and becomes the cursor only once every page is
committed. Each page is one transaction: existing rows of the page are read in one query (older answers never
overwrite newer ones), new and changed rows are written with one bulk upsert on (store, FNAC id), and the orders
and products they refer to are linked with one query each. Pages are parsed as a stream (the client's
iterparse), so memory stays flat whatever the number of messages.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from catalogue.models import Product
from fnac_connector.marketplace.errors import TooManyPages
from fnac_connector.marketplace.fnac import messages as wire
from inbox.models import Message, OrderComment
from orders.models import Order
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import RunRecorder, cursor_get, cursor_set, lock_renew, locked_run

log = logging.getLogger(__name__)

MESSAGES_LOCK = "messages"
COMMENTS_LOCK = "order_comments"
MESSAGES_CURSOR = "messages"
COMMENTS_CURSOR = "order_comments"
INITIAL_DAYS = 90
MESSAGE_FIELDS = ["direction", "about", "referer", "order", "product", "sender", "sender_name", "subject", "body",
                  "is_read", "archived", "created_at", "fnac_updated_at", "awaiting_reply", "answered_at",
                  "fnac_answer"]
COMMENT_FIELDS = ["referer", "order", "rate", "client_name", "comment", "is_received", "is_fast", "is_well_packed",
                  "is_good_shape", "created_at", "reply"]


def page_size() -> int:
    return int(getattr(settings, "INBOX_PAGE_SIZE", 500))


def _overlap() -> dt.timedelta:
    return dt.timedelta(seconds=int(getattr(settings, "INBOX_CURSOR_OVERLAP_SECONDS", 600)))


def _window_start(store: Store, cursor_name: str, since: dt.datetime | None, now: dt.datetime
                  ) -> tuple[dt.datetime, bool]:
    """(start of the window, whether covering it may move the cursor)."""
    cursor = cursor_get(store=store, name=cursor_name)
    start = cursor - _overlap() if cursor else now - dt.timedelta(days=INITIAL_DAYS)
    if since is None:
        return start, True
    return since, since <= start  # an explicit --since moves the cursor only if it covers what it would have read


# ================================================================ messages
def messages_sync(*, store: Store, since: dt.datetime | None = None, trigger: str = "", run: SyncRun | None = None,
                  client=None) -> SyncRun:
    """Import the messages FNAC changed since the cursor (or ``since``); one sync run. Raises LockBusy when
    another import of this store's messages runs (the run is recorded as skipped)."""
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)
    params = {"since": since.isoformat()} if since else {}
    with locked_run(store=store, kind=SyncRun.Kind.MESSAGES_IMPORT, lock_name=MESSAGES_LOCK, trigger=trigger,
                    run=run, params=params) as (rec, token):
        client = client or fnac_client_for(store)
        now = timezone.now()  # before the first page: the cursor never runs ahead of what was read
        start, moves_cursor = _window_start(store, MESSAGES_CURSOR, since, now)
        rec.note(f"Messages updated since {start.isoformat(timespec='seconds')}")
        linked = link_orders(store=store)
        if linked:
            rec.count("linked_to_orders", linked)

        def on_page(page: int, total_paging: int, total: int) -> None:
            if page == 1:
                rec.set_total(total)

        try:
            for page in client.message_pages(page_size=page_size(), on_page=on_page, date_type="UpdatedAt",
                                             date_min=start, sort_by=("UPDATED_AT", "DESC")):
                import_message_page(store, page.messages, rec=rec)
                lock_renew(store=store, name=MESSAGES_LOCK, token=token)
        except TooManyPages as exc:
            rec.note(f"{rec.run.message}\nStopped at the page cap ({exc.limit} pages): the messages read were kept, "
                     "the cursor did not move.")
            raise
        if moves_cursor:
            cursor_set(store=store, name=MESSAGES_CURSOR, position=now)
    return rec.run


def _about(value: str) -> str:
    return value if value in Message.About.values else Message.About.ORDER


def import_message_page(store: Store, items: list, *, rec: RunRecorder) -> None:
    """One page, one transaction: upsert the messages, link their orders/products, keep the malformed ones as
    issues of the run (never dropped silently)."""
    good = []
    for item in items:
        if isinstance(item, wire.MalformedMessage):
            rec.issue("malformed_message", item.reason, reference=item.message_id, raw=item.raw_xml)
        else:
            good.append(item)
    if not good:
        rec.advance(len(items))
        return
    with transaction.atomic():
        ids = [m.message_id for m in good]
        existing = {row[0]: row[1:] for row in Message.objects.filter(store=store, fnac_message_id__in=ids)
                    .values_list("fnac_message_id", "fnac_updated_at", "answered_at")}
        order_refs = {m.referer for m in good if m.referer_type != "OFFER" and m.referer}
        offer_refs = {m.referer for m in good if m.referer_type == "OFFER" and m.referer}
        orders = dict(Order.objects.filter(store=store, marketplace_order_id__in=order_refs)
                      .values_list("marketplace_order_id", "pk")) if order_refs else {}
        products = {}
        if offer_refs:
            for pk, offer_id in Product.objects.filter(store=store).filter(
                    fnac_offer_id__in=offer_refs).values_list("pk", "fnac_offer_id"):
                products[offer_id] = pk
            for pk, sku in Product.objects.filter(store=store, sku__in=offer_refs - set(products)).values_list(
                    "pk", "sku"):
                products[sku] = pk
        rows, stale, unlinked = [], 0, 0
        for m in good:
            known = existing.get(m.message_id)
            if known and known[0] and m.updated_at < known[0]:
                stale += 1  # an older read never overwrites a newer one
                continue
            about = _about(m.referer_type)
            answered_at = m.answer_at or (known[1] if known else None)
            if m.answer and answered_at is None:
                answered_at = m.updated_at
            order_id = orders.get(m.referer) if about == Message.About.ORDER else None
            if about == Message.About.ORDER and order_id is None:
                unlinked += 1
            rows.append(Message(
                store=store, fnac_message_id=m.message_id, direction=Message.Direction.INCOMING, about=about,
                referer=m.referer[:64], order_id=order_id,
                product_id=products.get(m.referer) if about == Message.About.OFFER else None,
                sender=m.from_type if m.from_type in Message.Sender.values else "", sender_name=m.from_name[:200],
                subject=m.subject[:300], body=m.description, is_read=m.state == "READ", archived=m.archived,
                created_at=m.created_at, fnac_updated_at=m.updated_at,
                awaiting_reply=(m.from_type == "CLIENT" and not m.archived and answered_at is None),
                answered_at=answered_at, fnac_answer=m.answer))
        if rows:
            Message.objects.bulk_create(rows, batch_size=500, update_conflicts=True,
                                        unique_fields=["store", "fnac_message_id"], update_fields=MESSAGE_FIELDS)
        created = sum(1 for m in good if m.message_id not in existing)
    rec.advance(len(items), counts={"created": created, "updated": len(rows) - created, "stale_skipped": stale,
                                    "order_not_imported": unlinked})


def link_orders(*, store: Store) -> int:
    """Link the messages and comments kept for orders not imported when they came, now that the orders may be
    there (two UPDATEs with a subquery, whatever their number); returns how many messages were linked."""
    match = Order.objects.filter(store=store, marketplace_order_id=OuterRef("referer")).values("pk")[:1]
    waiting = Message.objects.filter(store=store, about=Message.About.ORDER, order__isnull=True).exclude(referer="")
    linked = waiting.filter(Exists(match)).update(order_id=Subquery(match))
    OrderComment.objects.filter(store=store, order__isnull=True).filter(Exists(match)).update(order_id=Subquery(match))
    return linked


# ================================================================ order comments
def comments_sync(*, store: Store, since: dt.datetime | None = None, trigger: str = "", run: SyncRun | None = None,
                  client=None) -> SyncRun:
    """Import the order comments FNAC changed since the cursor (``Modified`` date filter); one sync run."""
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)
    params = {"since": since.isoformat()} if since else {}
    with locked_run(store=store, kind=SyncRun.Kind.ORDER_COMMENTS_IMPORT, lock_name=COMMENTS_LOCK, trigger=trigger,
                    run=run, params=params) as (rec, token):
        client = client or fnac_client_for(store)
        now = timezone.now()
        start, moves_cursor = _window_start(store, COMMENTS_CURSOR, since, now)
        rec.note(f"Order comments changed since {start.isoformat(timespec='seconds')}")
        for page in client.comment_pages(page_size=page_size(), date_type="Modified", date_min=start):
            _import_comment_page(store, page.comments, rec=rec)
            lock_renew(store=store, name=COMMENTS_LOCK, token=token)
        if moves_cursor:
            cursor_set(store=store, name=COMMENTS_CURSOR, position=now)
    return rec.run


def _import_comment_page(store: Store, items: list, *, rec: RunRecorder) -> None:
    good = []
    for item in items:
        if isinstance(item, wire.MalformedMessage):
            rec.issue("malformed_comment", item.reason, reference=item.message_id, raw=item.raw_xml)
        else:
            good.append(item)
    with transaction.atomic():
        existing = set(OrderComment.objects.filter(store=store, fnac_comment_id__in=[c.comment_id for c in good])
                       .values_list("fnac_comment_id", flat=True))
        orders = dict(Order.objects.filter(store=store, marketplace_order_id__in={c.order_id for c in good})
                      .values_list("marketplace_order_id", "pk"))
        rows = [OrderComment(
            store=store, fnac_comment_id=c.comment_id, referer=c.order_id[:64], order_id=orders.get(c.order_id),
            rate=c.rate if c.rate is not None and c.rate >= 0 else None, client_name=c.client_name[:200],
            comment=c.comment, is_received=c.is_received, is_fast=c.is_fast, is_well_packed=c.is_well_packed,
            is_good_shape=c.is_good_shape, created_at=c.created_at, reply=c.reply) for c in good]
        if rows:
            OrderComment.objects.bulk_create(rows, batch_size=500, update_conflicts=True,
                                             unique_fields=["store", "fnac_comment_id"], update_fields=COMMENT_FIELDS)
    created = sum(1 for c in good if c.comment_id not in existing)
    rec.advance(len(items), counts={"created": created, "updated": len(good) - created})
