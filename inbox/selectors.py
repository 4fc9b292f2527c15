"""Reads of the inbox: the messages a user may see, the response clock (what is overdue), conversations.

The response clock: a buyer's message waits for an answer (``awaiting_reply``) until a reply is sent from here or
FNAC shows one, or the message is archived; it is overdue once it has waited longer than its store's
``answer_within_hours``. ``overdue_q`` is the one rule the inbox filter, the store page, the dashboard and the API
count with.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from inbox.models import Message, OrderComment
from stores.models import Store
from stores.selectors import stores_for_user


def messages_for_user(user) -> QuerySet[Message]:
    qs = Message.objects.select_related("store", "order")
    if getattr(user, "is_superuser", False):
        return qs
    return qs.filter(store__in=stores_for_user(user))


def comments_for_user(user) -> QuerySet[OrderComment]:
    qs = OrderComment.objects.select_related("store", "order")
    if getattr(user, "is_superuser", False):
        return qs
    return qs.filter(store__in=stores_for_user(user))


def overdue_q(*, stores: Iterable[Store] | QuerySet[Store] | None = None, now: dt.datetime | None = None) -> Q:
    """Buyer messages waiting for an answer for longer than their store allows (one query on the stores, to read
    their clocks; stores sharing a clock share one condition)."""
    now = now or timezone.now()
    if stores is None:
        stores = Store.objects.all()
    rows = (stores.values_list("pk", "answer_within_hours") if isinstance(stores, QuerySet)
            else [(s.pk, s.answer_within_hours) for s in stores])
    by_hours: dict[int, list[int]] = defaultdict(list)
    for pk, hours in rows:
        by_hours[hours].append(pk)
    late = Q(pk__in=[])
    for hours, ids in by_hours.items():
        late |= Q(store_id__in=ids, created_at__lt=now - dt.timedelta(hours=hours))
    return Q(awaiting_reply=True) & late


def is_overdue(message: Message, now: dt.datetime | None = None) -> bool:
    """The same rule for one message already in hand (its store loaded)."""
    now = now or timezone.now()
    return bool(message.awaiting_reply and
                message.created_at < now - dt.timedelta(hours=message.store.answer_within_hours))


def overdue_count(*, store: Store, now: dt.datetime | None = None) -> int:
    return Message.objects.filter(store=store).filter(overdue_q(stores=[store], now=now)).count()


def oldest_unanswered(qs: QuerySet[Message]) -> dt.datetime | None:
    """When the oldest buyer message still waiting for an answer (among ``qs``) was written."""
    return qs.filter(awaiting_reply=True).aggregate(oldest=Min("created_at"))["oldest"]


def conversation(message: Message) -> QuerySet[Message]:
    """Every message of the same order (or offer) of the same store, oldest first, replies included."""
    qs = Message.objects.filter(store_id=message.store_id, about=message.about)
    if message.referer:
        qs = qs.filter(referer=message.referer)
    else:
        qs = qs.filter(Q(pk=message.pk) | Q(reply_to=message))
    return qs.select_related("user").order_by("created_at", "id")
