"""FNAC's after-sale conversation services: ``messages_query`` / ``messages_update`` (buyer, call-centre and
system messages about orders and offers) and ``client_order_comments_query`` / ``client_order_comments_update``
(the buyer's rating and comment on an order, and the seller's reply).

Types, request builders and streamed response parsers in one module (the services share their shapes). Every
request follows MessagesQueryService.xsd, MessagesUpdateService.xsd, ClientOrderCommentsQueryService.xsd and
ClientOrderCommentsUpdateService.xsd (the tests validate each one); every value the XSDs limit is checked here, so
a bad value raises ``ValueError`` before anything is sent.

What is confirmed and what is not (see docs/aftersales.md):
- a ``messages_query`` answer recorded from FNAC's sandbox: ``<message state="READ" archived="FALSE">`` with
  message_id, ``message_referer type="ORDER"`` (the order id), ``message_from type="CLIENT"`` (a name), a free-text
  message_subject, message_description, created_at, updated_at, all in CDATA, and the paging elements of
  orders_query (page, total_paging, nb_total_per_page, nb_total_result);
- a ``client_order_comments_update`` answer recorded for an unknown comment id: root ERROR, ``<comment
  status="ERROR" id=...><error code="ERR_128">[ClientOrderComment Update] Comment not found</error>``;
- the date filter of ``messages_query``: the XSD types its ``type`` attribute as orders' date types (CreatedAt,
  UpdatedAt, ...), while ``sort_by`` takes CREATED_AT / UPDATED_AT; we send what the XSD accepts
  (``<date type="UpdatedAt">`` and ``<sort_by type="ASC">UPDATED_AT</sort_by>``), which FNAC's live answer to it is
  not recorded;
- where a reply shows up afterwards: the query XSD lists ``answer`` and ``answer_at`` on a message; the parser
  reads them when present (unconfirmed on the live API).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from lxml import etree

from ..errors import BadResponse
from .builder import RequestHeader, _child, _date_constraint, _one_of, _positive_int, _root, _serialize, _uuid
from .parser import (
    _PARSER_OPTIONS,
    Source,
    _check_root,
    _children,
    _errors_of,
    _iter_named,
    _local,
    _page_numbers,
    _PagedStream,
    _text,
    parse_datetime,
)
from .types import FnacErrorItem, ItemOutcome

# ---------------------------------------------------------------- vocabulary (from the XSDs)
MESSAGE_TYPES = ("ORDER", "OFFER")
MESSAGE_STATES = ("READ", "UNREAD")
MESSAGE_FROM_TYPES = ("CLIENT", "CALLCENTER", "SELLER", "SYSTEM")
MESSAGE_TO = ("CLIENT", "CALLCENTER", "ALL")
MESSAGE_ACTIONS = ("mark_as_read", "mark_as_unread", "archive", "mark_as_read_and_archive", "unarchive", "reply",
                   "create", "confirm_shop_delivery")
# messages_update message_subject: FNAC's codes, with the words a seller reads
MESSAGE_SUBJECTS = {
    "order_information": "About the order",
    "shipping_information": "About the shipping",
    "product_information": "About the product",
    "offer_problem": "A problem with the offer",
    "offer_not_received": "Item not received",
    "other_question": "Other question",
}
MESSAGE_DATE_TYPES = ("CreatedAt", "UpdatedAt")  # the XSD's order_state_constraint; only these two make sense
MESSAGE_SORT_FIELDS = ("CREATED_AT", "UPDATED_AT")
SORT_DIRECTIONS = ("ASC", "DESC")
COMMENT_DATE_TYPES = ("Created", "Modified")  # the XSD's offer_state_constraint
RATE_MODES = ("Equals", "LessThan", "GreaterThan", "LessThanOrEquals", "GreaterThanOrEquals")
MAX_COMMENT_REPLY = 255  # ClientOrderCommentsUpdateService.xsd: comment_reply is string255
# messages_update's message_description has no length limit in the XSD; FNAC's is not published. Long replies are
# refused here so a seller never finds out at FNAC's side.
MAX_MESSAGE_BODY = 4000


# ---------------------------------------------------------------- types
@dataclass
class Message:
    """One ``message`` of a messages_query answer."""

    message_id: str
    referer_type: str  # ORDER | OFFER (unknown values kept)
    referer: str  # the order id, or the offer the message is about
    from_type: str  # CLIENT | CALLCENTER | SELLER | SYSTEM ("" when the answer has no message_from)
    from_name: str
    subject: str  # free text in FNAC's answers (e.g. "Nouvelle réclamation")
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime
    state: str = "UNREAD"  # READ | UNREAD
    archived: bool = False
    offer_title: str = ""
    answer: str = ""
    answer_at: dt.datetime | None = None


@dataclass
class MalformedMessage:
    """A ``message`` that could not be read (no id, no date...); yielded in its place, never raised."""

    reason: str
    raw_xml: str
    message_id: str = ""


@dataclass
class MessagesPage:
    page: int
    total_paging: int
    nb_total_per_page: int
    nb_total_result: int
    messages: list[Message | MalformedMessage]

    @property
    def items(self) -> list:
        return self.messages


@dataclass(frozen=True)
class MessageUpdate:
    """One ``message`` of a messages_update request (``reply`` needs to, subject and description)."""

    message_id: str
    action: str
    to: str | None = None  # CLIENT | CALLCENTER | ALL
    subject: str | None = None  # a MESSAGE_SUBJECTS code
    description: str | None = None
    message_type: str | None = None  # ORDER | OFFER


@dataclass
class UpdateResult(ItemOutcome):
    """Per-item result of messages_update / client_order_comments_update."""

    id: str
    status: str
    errors: list[FnacErrorItem] = field(default_factory=list)


@dataclass
class OrderComment:
    """One ``client_order_comment``: the buyer's rating and comment on an order."""

    comment_id: str
    order_id: str
    rate: int | None
    client_name: str
    comment: str
    created_at: dt.datetime
    reply: str = ""
    is_received: bool | None = None
    is_fast: bool | None = None
    is_well_packed: bool | None = None
    is_good_shape: bool | None = None


@dataclass
class CommentsPage:
    page: int
    total_paging: int
    nb_total_per_page: int
    nb_total_result: int
    comments: list[OrderComment | MalformedMessage]

    @property
    def items(self) -> list:
        return self.comments


@dataclass(frozen=True)
class CommentReply:
    comment_id: str
    reply: str


# ---------------------------------------------------------------- builders
def build_messages_query(
    header: RequestHeader,
    *,
    page: int = 1,
    results_count: int = 100,
    date_type: str = "UpdatedAt",
    date_min: dt.datetime | None = None,
    date_max: dt.datetime | None = None,
    message_type: str | None = None,
    archived: bool | None = None,
    state: str | None = None,
    message_id: str | None = None,
    order_id: str | None = None,
    offer_fnac_id: str | None = None,
    offer_seller_id: str | None = None,
    sort_by: tuple[str, str] | None = ("UPDATED_AT", "ASC"),
    from_types: Sequence[str] = (),
) -> bytes:
    """messages_query. ``sort_by`` is (field, direction), e.g. ("UPDATED_AT", "ASC")."""
    root = _root("messages_query", header, results_count=_positive_int(results_count, "results_count"))
    _child(root, "paging", _positive_int(page, "page"))
    if date_min is not None or date_max is not None:
        _date_constraint(root, _one_of(date_type, MESSAGE_DATE_TYPES, "messages date type"), date_min, date_max)
    if message_type is not None:
        _child(root, "message_type", _one_of(message_type, MESSAGE_TYPES, "message_type"))
    if archived is not None:
        _child(root, "message_archived", "TRUE" if archived else "FALSE")
    if state is not None:
        _child(root, "message_state", _one_of(state, MESSAGE_STATES, "message_state"))
    if message_id is not None:
        _child(root, "message_id", _uuid(message_id, "message_id"))
    for tag, value in (("order_fnac_id", order_id), ("offer_fnac_id", offer_fnac_id),
                       ("offer_seller_id", offer_seller_id)):
        if value is not None:
            if not str(value).strip():
                raise ValueError(f"{tag} filter must not be empty")
            _child(root, tag, str(value).strip())
    if sort_by is not None:
        field_name, direction = sort_by
        _child(root, "sort_by", _one_of(field_name, MESSAGE_SORT_FIELDS, "sort_by field"),
               type=_one_of(direction, SORT_DIRECTIONS, "sort_by direction"))
    if from_types:
        wrapper = _child(root, "message_from_types")
        for from_type in from_types:
            _child(wrapper, "from_type", _one_of(from_type, MESSAGE_FROM_TYPES, "from_type"))
    return _serialize(root)


def build_messages_update(header: RequestHeader, updates: Sequence[MessageUpdate]) -> bytes:
    if not updates:
        raise ValueError("messages_update needs at least one message")
    root = _root("messages_update", header)
    for update in updates:
        where = f"message {update.message_id!r}"
        if not str(update.message_id or "").strip():
            raise ValueError("messages_update: a message id is required")
        element = _child(root, "message", action=_one_of(update.action, MESSAGE_ACTIONS, f"{where} action"),
                         id=str(update.message_id).strip())
        if update.action == "reply":
            missing = [name for name, value in (("to", update.to), ("subject", update.subject),
                                                ("description", update.description)) if not value]
            if missing:
                raise ValueError(f"{where}: a reply needs {', '.join(missing)}")
            if not str(update.description).strip():
                raise ValueError(f"{where}: the reply text is empty")
            if len(update.description) > MAX_MESSAGE_BODY:
                raise ValueError(f"{where}: the reply is {len(update.description)} characters long, at most "
                                 f"{MAX_MESSAGE_BODY} are sent")
        if update.to is not None:
            _child(element, "message_to", _one_of(update.to, MESSAGE_TO, f"{where} message_to"))
        if update.subject is not None:
            _child(element, "message_subject", _one_of(update.subject, tuple(MESSAGE_SUBJECTS),
                                                       f"{where} message_subject"))
        if update.description is not None:
            _child(element, "message_description").text = etree.CDATA(update.description)
        if update.message_type is not None:
            _child(element, "message_type", _one_of(update.message_type, MESSAGE_TYPES, f"{where} message_type"))
    return _serialize(root)


def build_client_order_comments_query(
    header: RequestHeader,
    *,
    page: int = 1,
    results_count: int = 100,
    date_type: str = "Modified",
    date_min: dt.datetime | None = None,
    date_max: dt.datetime | None = None,
    comment_id: str | None = None,
    order_id: str | None = None,
    rate: tuple[str, int] | None = None,
) -> bytes:
    root = _root("client_order_comments_query", header, results_count=_positive_int(results_count, "results_count"))
    _child(root, "paging", _positive_int(page, "page"))
    if date_min is not None or date_max is not None:
        _date_constraint(root, _one_of(date_type, COMMENT_DATE_TYPES, "comments date type"), date_min, date_max)
    if rate is not None:
        mode, value = rate
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"rate filter value must be a non-negative integer, got {value!r}")
        _child(root, "rate", mode=_one_of(mode, RATE_MODES, "rate mode"), value=str(value))
    if comment_id is not None:
        _child(root, "client_order_comment_id", _uuid(comment_id, "client_order_comment_id"))
    if order_id is not None:
        if not str(order_id).strip():
            raise ValueError("order_fnac_id filter must not be empty")
        _child(root, "order_fnac_id", str(order_id).strip())
    return _serialize(root)


def build_client_order_comments_update(header: RequestHeader, replies: Sequence[CommentReply]) -> bytes:
    if not replies:
        raise ValueError("client_order_comments_update needs at least one comment")
    root = _root("client_order_comments_update", header)
    for reply in replies:
        where = f"comment {reply.comment_id!r}"
        text = str(reply.reply or "")
        if not text.strip():
            raise ValueError(f"{where}: the reply text is empty")
        if len(text) > MAX_COMMENT_REPLY:
            raise ValueError(f"{where}: the reply is {len(text)} characters long, FNAC accepts at most "
                             f"{MAX_COMMENT_REPLY}")
        element = _child(root, "comment", id=_uuid(reply.comment_id, "comment id"))
        _child(element, "comment_reply").text = etree.CDATA(text)
    return _serialize(root)


# ---------------------------------------------------------------- parsers
class _Unreadable(ValueError):
    pass


def _date_of(value: str, what: str, *, required: bool = True) -> dt.datetime | None:
    if not value:
        if required:
            raise _Unreadable(f"missing {what}")
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        raise _Unreadable(f"{what}: bad date {value!r}") from None


def _bool(value: str) -> bool | None:
    value = value.strip().lower()
    return True if value in ("true", "1") else False if value in ("false", "0") else None


def parse_message(element: etree._Element) -> Message | MalformedMessage:
    fields = _children(element)
    message_id = _text(fields.get("message_id"))
    try:
        if not message_id:
            raise _Unreadable("missing message_id")
        referer = fields.get("message_referer")
        sender = fields.get("message_from")
        return Message(
            message_id=message_id,
            referer_type=(referer.get("type", "") if referer is not None else "").strip().upper(),
            referer=_text(referer),
            from_type=(sender.get("type", "") if sender is not None else "").strip().upper(),
            from_name=_text(sender),
            subject=_text(fields.get("message_subject")),
            description=(fields["message_description"].text or "").strip() if "message_description" in fields
            else "",
            created_at=_date_of(_text(fields.get("created_at")), "created_at"),
            updated_at=_date_of(_text(fields.get("updated_at")), "updated_at"),
            state=(element.get("state") or "UNREAD").strip().upper(),
            archived=(element.get("archived") or "FALSE").strip().upper() == "TRUE",
            offer_title=_text(fields.get("message_offer_title")),
            answer=_text(fields.get("answer")),
            answer_at=_date_of(_text(fields.get("answer_at")), "answer_at", required=False),
        )
    except _Unreadable as exc:
        return MalformedMessage(reason=str(exc), raw_xml=etree.tostring(element, encoding="unicode",
                                                                           with_tail=False)[:4000],
                                message_id=message_id)


def iter_messages_query(source: Source) -> tuple[dict[str, int], Iterator[Message | MalformedMessage]]:
    """(paging numbers, messages), streamed: each element is cleared once read, memory stays flat."""
    stream = _PagedStream(source, "messages_query", "message")
    return stream.paging, (parse_message(element) for element in stream.items())


def parse_messages_query(source: Source) -> MessagesPage:
    paging, items = iter_messages_query(source)
    messages = list(items)
    return MessagesPage(**_page_numbers(paging), messages=messages)


def parse_comment(element: etree._Element) -> OrderComment | MalformedMessage:
    f = {name: _text(child) for name, child in _children(element).items()}
    comment_id = f.get("client_order_comment_id", "")
    try:
        if not comment_id:
            raise _Unreadable("missing client_order_comment_id")
        rate = f.get("rate", "")
        return OrderComment(
            comment_id=comment_id,
            order_id=f.get("order_fnac_id", ""),
            rate=int(rate) if rate.lstrip("-").isdigit() else None,
            client_name=f.get("client_name", ""),
            comment=f.get("comment", ""),
            reply=f.get("reply", ""),
            created_at=_date_of(f.get("created_at", ""), "created_at"),
            is_received=_bool(f.get("is_received", "")),
            is_fast=_bool(f.get("is_fast", "")),
            is_well_packed=_bool(f.get("is_well_packed", "")),
            is_good_shape=_bool(f.get("is_good_shape", "")),
        )
    except _Unreadable as exc:
        return MalformedMessage(reason=str(exc), raw_xml=etree.tostring(element, encoding="unicode",
                                                                           with_tail=False)[:4000],
                                message_id=comment_id)


def parse_client_order_comments_query(source: Source) -> CommentsPage:
    stream = _PagedStream(source, "client_order_comments_query", "client_order_comment")
    comments = [parse_comment(element) for element in stream.items()]
    return CommentsPage(**_page_numbers(stream.paging), comments=comments)


def _parse_update(data: bytes, service: str, item_tag: str) -> list[UpdateResult]:
    """Per-item results; a root ERROR without any item result is a refusal of the whole call (raised)."""
    if not data or not data.strip():
        raise BadResponse(f"{service}: empty response body")
    try:
        root = etree.fromstring(data, parser=etree.XMLParser(**_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise BadResponse(f"{service}: response is not well-formed XML ({exc})") from None
    items = list(_iter_named(root, item_tag))
    _check_root(root, service, _errors_of(root), refuse_on_error=not items)
    return [UpdateResult(id=(item.get("id") or "").strip(), status=(item.get("status") or "").strip().upper(),
                         errors=_errors_of(item)) for item in items if _local(item.tag) == item_tag]


def parse_messages_update(data: bytes) -> list[UpdateResult]:
    return _parse_update(data, "messages_update", "message")


def parse_client_order_comments_update(data: bytes) -> list[UpdateResult]:
    return _parse_update(data, "client_order_comments_update", "comment")
