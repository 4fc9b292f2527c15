"""After-sale conversations on the sandbox: ``messages_query`` / ``messages_update`` and
``client_order_comments_query`` / ``client_order_comments_update``.

Sources and choices (see docs/aftersales.md and fnac_sandbox/README.md):

* answers are shaped like the one fnapy recorded from FNAC's sandbox: ``<message state="READ" archived="FALSE">``
  with ``message_id``, ``message_referer type="ORDER"`` (the order id), ``message_from type="CLIENT"`` (a name),
  ``message_subject`` (free text), ``message_description``, ``created_at``, ``updated_at``, every text in CDATA, and
  orders' paging elements; the XSD's ``messages_unread_result`` / ``messages_read_result`` are not in the recorded
  answer, so they are not sent;
* a reply (``messages_update action="reply"``) shows afterwards on the message it answers as ``answer`` and
  ``answer_at`` (elements the query XSD lists; FNAC's live behaviour is not recorded) and marks it READ;
* stricter where FNAC is unknown: a reply needs message_to, message_subject and a non-empty message_description;
  ``message_to`` CALLCENTER is refused (the XSD says it is allowed only when the order is in incident, and the sandbox
  has no incidents here); ``create`` and ``confirm_shop_delivery`` are refused; a second reply to a comment is
  refused;
* an unknown comment id gets FNAC's recorded refusal (``<comment status="ERROR">`` with ERR_128); every other code
  is the sandbox's own (fnac_connector.marketplace.fnac.limits).

Test knobs: ``refuse_replies(message_ids)`` makes a reply to those messages come back ERROR (ERR_142) with nothing
applied; ``add_message`` / ``add_comment`` / ``seed_messages`` put conversations on orders; ``simulate_messages``
(called by the simulator's tick) makes buyers write over simulated time.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass

from lxml import etree

from fnac_connector.marketplace.fnac.limits import (
    COMMENT_ALREADY_ANSWERED,
    COMMENT_NOT_FOUND,
    MESSAGE_ACTION_NOT_ALLOWED,
    MESSAGE_NOT_FOUND,
    MESSAGE_REPLY_REFUSED,
)

from . import fnac_xml as x
from .clock import fmt
from .context import SandboxContext

BUYER_SUBJECTS = (
    ("Délai plus long qu'annoncé", "Bonjour, ma commande n'est toujours pas arrivée, pouvez-vous me dire où elle en "
                                   "est ?"),
    ("Question sur le produit", "Bonjour, l'article est-il bien neuf et sous blister ?"),
    ("Article endommagé", "Le colis est arrivé abîmé, que dois-je faire ?"),
    ("Facture", "Pourriez-vous m'envoyer la facture de cette commande ?"),
    ("Changement d'adresse", "Est-il encore possible de changer l'adresse de livraison ?"),
)
BUYER_NAMES = ("Jean D.", "Marie L.", "Paul M.", "Sophie R.", "Luc B.", "Claire T.")


@dataclass(eq=False)
class SandboxMessage:
    message_id: str
    referer_type: str  # ORDER | OFFER
    referer: str
    from_type: str  # CLIENT | CALLCENTER | SYSTEM
    from_name: str
    subject: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    state: str = "UNREAD"
    archived: bool = False
    answer: str = ""
    answer_at: dt.datetime | None = None
    replies: int = 0  # how many replies landed (tests assert exactly one)

    def date_of(self, kind: str) -> dt.datetime | None:
        return {"CreatedAt": self.created_at, "UpdatedAt": self.updated_at}.get(kind)


@dataclass(eq=False)
class SandboxComment:
    comment_id: str
    order_id: str
    rate: int
    client_name: str
    comment: str
    created_at: dt.datetime
    updated_at: dt.datetime
    reply: str = ""
    is_received: bool = True
    is_fast: bool = True
    is_well_packed: bool = True
    is_good_shape: bool = True
    replies: int = 0


def _cdata(parent, tag: str, value: str, **attrs) -> etree._Element:
    el = x.sub(parent, tag, **attrs)
    el.text = etree.CDATA(value)
    return el


def new_id(rng: random.Random | None = None) -> str:
    value = uuid.UUID(int=rng.getrandbits(128), version=4) if rng else uuid.uuid4()
    return str(value).upper()


class MessagesApi:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.state

    # ---------------------------------------------------------------- data (tests, seeding, simulation)
    def add_message(self, *, referer: str, referer_type: str = "ORDER", from_type: str = "CLIENT",
                    from_name: str = "Jean D.", subject: str = "Question", description: str = "Bonjour",
                    created_at: dt.datetime | None = None, state: str = "UNREAD",
                    message_id: str | None = None) -> SandboxMessage:
        now = self.ctx.clock.now()
        created = created_at or now
        message = SandboxMessage(message_id=message_id or new_id(), referer_type=referer_type, referer=referer,
                                 from_type=from_type, from_name=from_name, subject=subject, description=description,
                                 created_at=created, updated_at=max(created, now) if created_at is None else created,
                                 state=state)
        with self.store.lock:
            if message.message_id in self.store.messages:
                raise ValueError(f"message {message.message_id} already exists")
            self.store.messages[message.message_id] = message
            self.store.messages_version += 1
        return message

    def seed_messages(self, n: int, *, days: float = 30, rng: random.Random | None = None,
                      unknown_order_every: int = 0) -> list[str]:
        """``n`` buyer messages spread over the last ``days`` days, on existing orders (or on invented order ids when
        there are none, and every ``unknown_order_every``-th message); ids in creation order."""
        rng = rng or random.Random(f"{getattr(self.ctx, 'seed', 1)}:messages")
        now = self.ctx.clock.now()
        with self.store.lock:
            order_ids = list(self.store.orders)
            ids = []
            start = now - dt.timedelta(days=days)
            step = dt.timedelta(days=days) / max(n, 1)
            for i in range(n):
                unknown = not order_ids or (unknown_order_every and i % unknown_order_every == 0)
                referer = ("Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(12))
                           if unknown else order_ids[i % len(order_ids)])
                subject, text = BUYER_SUBJECTS[i % len(BUYER_SUBJECTS)]
                created = (start + step * i).replace(microsecond=0)
                message = SandboxMessage(message_id=new_id(rng), referer_type="ORDER", referer=referer,
                                         from_type="CLIENT", from_name=BUYER_NAMES[i % len(BUYER_NAMES)],
                                         subject=subject, description=text, created_at=created, updated_at=created)
                self.store.messages[message.message_id] = message
                ids.append(message.message_id)
            self.store.messages_version += 1
        return ids

    def add_comment(self, *, order_id: str, rate: int = 4, comment: str = "Bon vendeur, envoi rapide.",
                    client_name: str = "Marie L.", created_at: dt.datetime | None = None) -> SandboxComment:
        now = self.ctx.clock.now()
        created = created_at or now
        item = SandboxComment(comment_id=new_id(), order_id=order_id, rate=rate, client_name=client_name,
                              comment=comment, created_at=created, updated_at=created)
        with self.store.lock:
            self.store.comments[item.comment_id] = item
        return item

    def refuse_replies(self, message_ids) -> None:
        with self.store.lock:
            self.store.refused_reply_ids = {str(i).upper() for i in message_ids}

    def simulate(self, now: dt.datetime, seconds: float, rng: random.Random, every: float,
                 events: dict) -> None:
        """Buyers write about their orders: on average one message every ``every`` simulated seconds, on a recent
        order (Shipped or NotReceived ones first, as in life)."""
        if every <= 0 or not self.store.orders:
            return
        expected = seconds / every
        count = int(expected) + (1 if rng.random() < expected - int(expected) else 0)
        if not count:
            return
        orders = [o for o in self.store.orders.values() if o.state in ("Shipped", "NotReceived", "ToShip")]
        orders = orders or list(self.store.orders.values())
        created_list = events.setdefault("new_messages", [])
        for _ in range(min(count, 200)):
            order = rng.choice(orders)
            subject, text = rng.choice(BUYER_SUBJECTS)
            message = SandboxMessage(message_id=new_id(rng), referer_type="ORDER", referer=order.order_id,
                                     from_type="CLIENT", from_name=f"{order.client_firstname} "
                                     f"{order.client_lastname[:1]}.".strip(), subject=subject, description=text,
                                     created_at=now, updated_at=now)
            self.store.messages[message.message_id] = message
            created_list.append(message.message_id)
        self.store.messages_version += 1

    # ---------------------------------------------------------------- messages_query
    def _sorted_messages(self, field: str, descending: bool) -> list[SandboxMessage]:
        key = (self.store.messages_version, field, descending)
        cached = self.store.messages_sorted
        if cached is None or cached[0] != key:
            attr = "updated_at" if field == "UPDATED_AT" else "created_at"
            items = sorted(self.store.messages.values(), key=lambda m: (getattr(m, attr), m.message_id),
                           reverse=descending)
            self.store.messages_sorted = cached = (key, items)
        return cached[1]

    def messages_query(self, root) -> bytes:
        size, page = x.paging(root)
        preds, key = [], []
        sort_field, descending = "CREATED_AT", True  # FNAC's default order is not known: newest first
        for el in root:
            name, value = x.local(el), (el.text or "").strip()
            if name != "paging":  # the filters, as a cache key: paging through one listing filters once
                key.append(etree.tostring(el))
            if name == "date":
                kind = el.get("type", "")
                lo, hi = x.date_range(el, "messages_query")
                preds.append(lambda m, k=kind, lo=lo, hi=hi: (d := m.date_of(k)) is not None
                             and (lo is None or d >= lo) and (hi is None or d <= hi))
            elif name == "message_type":
                preds.append(lambda m, v=value: m.referer_type == v)
            elif name == "message_archived":
                preds.append(lambda m, v=value == "TRUE": m.archived == v)
            elif name == "message_state":
                preds.append(lambda m, v=value: m.state == v)
            elif name == "message_id":
                preds.append(lambda m, v=value.upper(): m.message_id.upper() == v)
            elif name == "order_fnac_id":
                preds.append(lambda m, v=value: m.referer_type == "ORDER" and m.referer == v)
            elif name in ("offer_fnac_id", "offer_seller_id", "product_fnac_id"):
                preds.append(lambda m, v=value: m.referer_type == "OFFER" and m.referer == v)
            elif name == "sort_by":
                sort_field, descending = value, el.get("type") == "DESC"
            elif name == "message_from_types":
                wanted = {(c.text or "").strip() for c in el}
                if wanted:
                    preds.append(lambda m, w=frozenset(wanted): m.from_type in w)
        with self.store.lock:
            cache_key = (self.store.messages_version, tuple(key))
            cached = self.store.messages_filtered
            if cached is not None and cached[0] == cache_key:
                items = cached[1]
            else:
                items = self._sorted_messages(sort_field, descending)
                if preds:
                    items = [m for m in items if all(p(m) for p in preds)]
                self.store.messages_filtered = (cache_key, items)
            total = len(items)
            children = x.page_header(page, size, total)
            children += [self._message_xml(m) for m in items[(page - 1) * size: page * size]]
        return x.response("messages_query", "OK", children)

    @staticmethod
    def _message_xml(m: SandboxMessage) -> etree._Element:
        el = x.element("message", state=m.state, archived="TRUE" if m.archived else "FALSE")
        _cdata(el, "message_id", m.message_id)
        _cdata(el, "message_referer", m.referer, type=m.referer_type)
        _cdata(el, "message_from", m.from_name, type=m.from_type)
        _cdata(el, "message_subject", m.subject)
        _cdata(el, "message_description", m.description)
        _cdata(el, "created_at", fmt(m.created_at))
        _cdata(el, "updated_at", fmt(m.updated_at))
        if m.answer:
            _cdata(el, "answer", m.answer)
            _cdata(el, "answer_at", fmt(m.answer_at))
        return el

    # ---------------------------------------------------------------- messages_update
    def messages_update(self, root) -> bytes:
        now = self.ctx.clock.now()
        results, statuses = [], set()
        with self.store.lock:
            for el in root:
                if x.local(el) != "message":
                    continue
                message_id, action = el.get("id", "").strip(), el.get("action", "")
                error = self._apply(el, message_id.upper(), action, now)
                result = x.element("message", status="ERROR" if error else "OK", id=message_id)
                if error:
                    result.append(x.error(*error))
                statuses.add("ERROR" if error else "OK")
                results.append(result)
            self.store.messages_version += 1
        status = "OK" if statuses <= {"OK"} else "ERROR" if statuses == {"ERROR"} else "WARNING"
        return x.response("messages_update", status, results)

    def _apply(self, el, message_id: str, action: str, now: dt.datetime) -> tuple[str, str] | None:
        message = self.store.messages.get(message_id)
        if message is None:
            return MESSAGE_NOT_FOUND, f"Message {message_id} not found"
        if action in ("create", "confirm_shop_delivery"):
            return MESSAGE_ACTION_NOT_ALLOWED, f"Action {action} is not available to this shop"
        if action == "reply":
            to, subject = x.text(el, "message_to"), x.text(el, "message_subject")
            description = x.text(el, "message_description")
            missing = [n for n, v in (("message_to", to), ("message_subject", subject),
                                      ("message_description", description)) if not v]
            if missing:
                return MESSAGE_ACTION_NOT_ALLOWED, f"A reply needs {', '.join(missing)}"
            if to == "CALLCENTER":
                return MESSAGE_ACTION_NOT_ALLOWED, "message_to CALLCENTER is allowed only on an order in incident"
            if message.from_type not in ("CLIENT", "CALLCENTER"):
                return MESSAGE_ACTION_NOT_ALLOWED, f"A {message.from_type} message cannot be answered"
            if message_id in self.store.refused_reply_ids:
                return MESSAGE_REPLY_REFUSED, f"Reply to message {message_id} refused"
            message.answer, message.answer_at, message.replies = description, now, message.replies + 1
            message.state = "READ"
        elif action == "mark_as_read":
            message.state = "READ"
        elif action == "mark_as_unread":
            message.state = "UNREAD"
        elif action == "archive":
            message.archived = True
        elif action == "mark_as_read_and_archive":
            message.state, message.archived = "READ", True
        elif action == "unarchive":
            message.archived = False
        message.updated_at = now
        return None

    # ---------------------------------------------------------------- client_order_comments_query / _update
    def client_order_comments_query(self, root) -> bytes:
        size, page = x.paging(root)
        preds = []
        for el in root:
            name, value = x.local(el), (el.text or "").strip()
            if name == "date":
                attr = "created_at" if el.get("type") == "Created" else "updated_at"
                lo, hi = x.date_range(el, "client_order_comments_query")
                preds.append(lambda c, a=attr, lo=lo, hi=hi: (lo is None or getattr(c, a) >= lo)
                             and (hi is None or getattr(c, a) <= hi))
            elif name == "client_order_comment_id":
                preds.append(lambda c, v=value.upper(): c.comment_id.upper() == v)
            elif name == "order_fnac_id":
                preds.append(lambda c, v=value: c.order_id == v)
            elif name == "rate":
                mode, target = el.get("mode", "Equals"), int(el.get("value", "0"))
                compare = {"Equals": int.__eq__, "LessThan": int.__lt__, "GreaterThan": int.__gt__,
                           "LessThanOrEquals": int.__le__, "GreaterThanOrEquals": int.__ge__}[mode]
                preds.append(lambda c, f=compare, t=target: f(c.rate, t))
        with self.store.lock:
            items = sorted((c for c in self.store.comments.values() if all(p(c) for p in preds)),
                           key=lambda c: (c.created_at, c.comment_id))
            total = len(items)
            children = x.page_header(page, size, total)
            for c in items[(page - 1) * size: page * size]:
                el = x.element("client_order_comment")
                x.sub(el, "rate", c.rate)
                _cdata(el, "order_fnac_id", c.order_id)
                _cdata(el, "client_order_comment_id", c.comment_id)
                _cdata(el, "client_name", c.client_name)
                _cdata(el, "comment", c.comment)
                if c.reply:
                    _cdata(el, "reply", c.reply)
                for flag in ("is_received", "is_fast", "is_well_packed", "is_good_shape"):
                    x.sub(el, flag, "true" if getattr(c, flag) else "false")
                _cdata(el, "created_at", fmt(c.created_at))
                children.append(el)
        return x.response("client_order_comments_query", "OK", children)

    def client_order_comments_update(self, root) -> bytes:
        now = self.ctx.clock.now()
        results, statuses = [], set()
        with self.store.lock:
            for el in root:
                if x.local(el) != "comment":
                    continue
                comment_id = el.get("id", "").strip()
                comment = self.store.comments.get(comment_id.upper())
                error = None
                if comment is None:
                    error = (COMMENT_NOT_FOUND, "[ClientOrderComment Update] Comment not found")
                elif comment.reply:
                    error = (COMMENT_ALREADY_ANSWERED, f"Comment {comment_id} already has a reply")
                else:
                    comment.reply, comment.updated_at = x.text(el, "comment_reply") or "", now
                    comment.replies += 1
                result = x.element("comment", status="ERROR" if error else "OK", id=comment_id)
                if error:
                    result.append(x.error(*error))
                statuses.add("ERROR" if error else "OK")
                results.append(result)
        status = "OK" if statuses <= {"OK"} else "ERROR" if statuses == {"ERROR"} else "WARNING"
        return x.response("client_order_comments_update", status, results)
