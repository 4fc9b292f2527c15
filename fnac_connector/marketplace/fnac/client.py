"""FNAC Darty marketplace XML API client.

Knows the wire and nothing else: no models, no settings. Every service is ``POST <base>/<service>`` with
an XML body; the token from ``auth`` is cached (in ``token_store``, shareable across processes) until
shortly before its validity ends, and renewed once when FNAC says it is no longer valid.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

import requests
from lxml import etree

from ..errors import AuthError, BadResponse, MarketplaceError, Rejected, TooManyPages
from ..http import DEFAULT_MAX_RESPONSE_BYTES, HttpTransport, default_error_for_response
from . import builder, incidents, messages, parser, pricing
from .builder import DateFilter, RequestHeader
from .limits import MAX_OFFERS_PER_UPDATE, MAX_ORDERS_PER_UPDATE, SPLITTABLE_CODES
from .types import (
    AuthToken,
    BatchStatus,
    Carrier,
    FnacErrorItem,
    MalformedOrder,
    Offer,
    OffersPage,
    OffersSent,
    OfferUpdate,
    Order,
    OrdersPage,
    OrderUpdate,
    OrderUpdateResult,
)

T = TypeVar("T")
SERVICE_NAME = "fnac"
# renew the token this long before FNAC says it expires (clock skew, long calls)
TOKEN_MARGIN = dt.timedelta(seconds=60)
DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 2_000  # default page cap of one listing: a server that never stops paging is cut off


class TokenStore(Protocol):
    def get(self) -> AuthToken | None: ...

    def set(self, token: AuthToken) -> None: ...


class InMemoryTokenStore:
    def __init__(self) -> None:
        self._token: AuthToken | None = None
        self._lock = threading.Lock()

    def get(self) -> AuthToken | None:
        with self._lock:
            return self._token

    def set(self, token: AuthToken) -> None:
        with self._lock:
            self._token = token


def _fnac_error_for_response(response: requests.Response) -> MarketplaceError | None:
    """FNAC answers refusals as XML with status ERROR; when it does so with a 4xx, read that XML."""
    status = response.status_code
    if status < 400:
        return None
    if 400 <= status < 500 and status != 429 and response.content and b"<" in response.content[:200]:
        try:
            root = etree.fromstring(response.content, parser=etree.XMLParser(resolve_entities=False,
                                                                              no_network=True))
        except etree.XMLSyntaxError:
            root = None
        if root is not None:
            errors = parser._errors_of(root)
            if errors:
                return parser.error_for(parser._local(root.tag).removesuffix("_response") or "fnac",
                                        root.get("status", ""), errors, status_code=status)
    return default_error_for_response(response)


class FnacClient:
    def __init__(
        self,
        *,
        base_url: str,
        partner_id: str,
        shop_id: str,
        key: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5, 60),
        max_retries: int = 4,
        backoff: float = 0.5,
        token_store: TokenStore | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], dt.datetime] | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
        max_pages: int = MAX_PAGES,
    ):
        self.base_url = base_url.rstrip("/")
        # one listing (iter_offers, iter_orders, offer_pages) reads at most this many pages, then raises
        # TooManyPages: FNAC announcing total_paging=999999999 must not keep a worker paging for hours
        self.max_pages = max(1, int(max_pages))
        self.partner_id = partner_id
        self.shop_id = shop_id
        self._key = key
        self.token_store: TokenStore = token_store if token_store is not None else InMemoryTokenStore()
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.transport = HttpTransport(
            service=SERVICE_NAME, session=session, timeout=timeout, max_retries=max_retries,
            backoff=backoff, sleep=sleep, headers={"Content-Type": "text/xml; charset=utf-8",
                                                   "Accept": "text/xml, application/xml"},
            error_for_response=_fnac_error_for_response, max_response_bytes=max_response_bytes,
        )

    def __repr__(self) -> str:  # never show the key
        return f"FnacClient(base_url={self.base_url!r}, shop_id={self.shop_id!r})"

    # ------------------------------------------------------------------ transport
    def _post(self, service: str, body: bytes, *, write: bool = False) -> bytes:
        response = self.transport.request("POST", f"{self.base_url}/{service}", operation=service,
                                          write=write, data=body)
        return response.content

    def _header(self, token: AuthToken) -> RequestHeader:
        return RequestHeader(partner_id=self.partner_id, shop_id=self.shop_id, token=token.token)

    def _fresh(self, token: AuthToken) -> bool:
        return token.validity - TOKEN_MARGIN > self._clock()

    def _valid_token(self) -> AuthToken:
        token = self.token_store.get()
        if token is None or not self._fresh(token):
            token = self.auth()
        return token

    def _call(self, service: str, build: Callable[[RequestHeader], bytes], parse: Callable[[bytes], T],
              *, write: bool = False) -> T:
        """Build with a valid token, send, parse; on an auth refusal re-authenticate and retry once.

        The body is built before anything is sent, so a ValueError from a builder costs no request.
        """
        attempt = 0
        while True:
            try:
                return self._call_once(service, build, parse, write=write)
            except BadResponse as exc:
                # a cut or garbled answer to a read is retried like a 503; for a write the outcome is
                # unknown, so the caller must look before sending again; an answer over the size cap would
                # come again as large
                if write or not exc.retryable or attempt >= self.transport.max_retries:
                    raise
                self.transport.sleep(self.transport._backoff_delay(attempt))
                attempt += 1

    def _call_once(self, service: str, build: Callable[[RequestHeader], bytes], parse: Callable[[bytes], T],
                   *, write: bool = False) -> T:
        token = self._valid_token()
        body = build(self._header(token))
        try:
            return parse(self._post(service, body, write=write))
        except AuthError:
            # the token was refused (expired early, revoked, renewed by another process): the call was not
            # processed, so one retry with a fresh token is safe even for a write
            current = self.token_store.get()
            if current is not None and current.token != token.token and self._fresh(current):
                token = current  # another process renewed it meanwhile
            else:
                token = self.auth()
            return parse(self._post(service, build(self._header(token)), write=write))

    # ------------------------------------------------------------------ auth
    def auth(self) -> AuthToken:
        """Always asks FNAC (Connect Store uses it to check credentials); stores the new token."""
        body = builder.build_auth(partner_id=self.partner_id, shop_id=self.shop_id, key=self._key)
        token = parser.parse_auth(self._post("auth", body))
        self.token_store.set(token)
        return token

    # ------------------------------------------------------------------ offers
    def offers_query_page(
        self,
        *,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        modified_since: dt.datetime | None = None,
        created_since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        skus: Sequence[str] | None = None,
    ) -> OffersPage:
        """One page. ``until`` bounds the modified date (or the created date when only that is given)."""
        dates = []
        if modified_since is not None or (until is not None and created_since is None):
            dates.append(DateFilter("Modified", modified_since, until))
        if created_since is not None:
            dates.append(DateFilter("Created", created_since, until if modified_since is None else None))

        def build(header: RequestHeader) -> bytes:
            return builder.build_offers_query(header, page=page, results_count=page_size, dates=dates,
                                              offer_seller_ids=skus or ())

        return self._call("offers_query", build, parser.parse_offers_query)

    def iter_offers(
        self,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        modified_since: dt.datetime | None = None,
        created_since: dt.datetime | None = None,
        on_page: Callable[[int, int, int], None] | None = None,
    ) -> Iterator[Offer]:
        """Every offer, page after page. A page that still fails after retries raises (nothing skipped)."""
        for result in self.offer_pages(page_size=page_size, modified_since=modified_since,
                                       created_since=created_since, on_page=on_page):
            yield from result.offers

    def offer_pages(
        self,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        modified_since: dt.datetime | None = None,
        created_since: dt.datetime | None = None,
        on_page: Callable[[int, int, int], None] | None = None,
    ) -> Iterator[OffersPage]:
        """The offers listing page by page (for callers that commit per page); capped at ``max_pages``."""
        yield from self._pages("offers_query", lambda page: self.offers_query_page(
            page=page, page_size=page_size, modified_since=modified_since, created_since=created_since),
            on_page)

    def offers_update(self, offers: Sequence[OfferUpdate]) -> str:
        """Send up to 10,000 offers; returns the batch_id to follow with ``batch_status``."""
        if len(offers) > MAX_OFFERS_PER_UPDATE:
            raise ValueError(f"offers_update takes at most {MAX_OFFERS_PER_UPDATE} offers per call, "
                             f"got {len(offers)}: split the batch")
        return self._call("offers_update", lambda header: builder.build_offers_update(header, offers),
                          parser.parse_offers_update, write=True)

    def batch_status(self, batch_id: str) -> BatchStatus:
        return self._call("batch_status", lambda header: builder.build_batch_status(header, batch_id),
                          parser.parse_batch_status)

    # ------------------------------------------------------------------ orders
    def orders_query_page(
        self,
        *,
        page: int = 1,
        page_size: int = DEFAULT_PAGE_SIZE,
        date_type: str = "CreatedAt",
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        states: Sequence[str] | None = None,
        order_ids: Sequence[str] | None = None,
        sort: str | None = "ASC",
    ) -> OrdersPage:
        def build(header: RequestHeader) -> bytes:
            return builder.build_orders_query(header, page=page, results_count=page_size, date_type=date_type,
                                              date_min=since, date_max=until, states=states, sort_by=sort,
                                              order_ids=order_ids)

        return self._call("orders_query", build, parser.parse_orders_query)

    def iter_orders(
        self,
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        date_type: str = "CreatedAt",
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        states: Sequence[str] | None = None,
        order_ids: Sequence[str] | None = None,
        sort: str | None = "ASC",
        on_page: Callable[[int, int, int], None] | None = None,
    ) -> Iterator[Order | MalformedOrder]:
        for result in self._pages("orders_query", lambda page: self.orders_query_page(
                page=page, page_size=page_size, date_type=date_type, since=since, until=until, states=states,
                order_ids=order_ids, sort=sort), on_page):
            yield from result.orders

    def orders_update(self, updates: Sequence[OrderUpdate]) -> list[OrderUpdateResult]:
        """Up to 25 orders; per-order and per-line results (check ``result.ok``)."""
        if len(updates) > MAX_ORDERS_PER_UPDATE:
            raise ValueError(f"orders_update takes at most {MAX_ORDERS_PER_UPDATE} orders per call, "
                             f"got {len(updates)}: split the batch")
        return self._call("orders_update", lambda header: builder.build_orders_update(header, updates),
                          parser.parse_orders_update, write=True)

    def carriers_query(self) -> list[Carrier]:
        return self._call("carriers_query", builder.build_carriers_query, parser.parse_carriers)

    # ------------------------------------------------------------------ incidents (claims)
    def incidents_query_page(self, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE,
                             date_type: str = "UpdatedAt", since: dt.datetime | None = None,
                             until: dt.datetime | None = None, status: str | None = None,
                             incident_ids: Sequence[str] = (), order_ids: Sequence[str] = (),
                             sort: str | None = None) -> incidents.IncidentsPage:
        def build(header: RequestHeader) -> bytes:
            return incidents.build_incidents_query(
                header, page=page, results_count=page_size, date_type=date_type, date_min=since, date_max=until,
                status=status, incident_ids=incident_ids, order_ids=order_ids, sort_by=sort)

        return self._call("incidents_query", build, incidents.parse_incidents_query)

    def incident_pages(self, *, page_size: int = DEFAULT_PAGE_SIZE, **filters) -> Iterator[incidents.IncidentsPage]:
        """The incidents listing page by page (committed per page by the caller); capped at ``max_pages``."""
        page = 1
        while True:
            result = self.incidents_query_page(page=page, page_size=page_size, **filters)
            yield result
            if not result.incidents or page >= result.total_paging:
                return
            if page >= self.max_pages:
                raise TooManyPages(
                    f"fnac incidents_query: stopped after {page} pages, the page cap ({self.max_pages} pages per "
                    f"listing); FNAC announced {result.total_paging} pages.", limit=self.max_pages,
                    announced=result.total_paging)
            page += 1

    def incidents_update(self, updates: Sequence[incidents.IncidentUpdate]) -> list[incidents.IncidentUpdateResult]:
        """Refund incident lines (the only seller action the XSD offers); per-order results (check ``ok``)."""
        if len(updates) > MAX_ORDERS_PER_UPDATE:
            raise ValueError(f"incidents_update takes at most {MAX_ORDERS_PER_UPDATE} orders per call, "
                             f"got {len(updates)}: split the batch")
        return self._call("incidents_update", lambda header: incidents.build_incidents_update(header, updates),
                          incidents.parse_incidents_update, write=True)
    def pricing_query(self, references: Sequence[str], *, reference_type: str = "Ean",
                      sellers: str = "others") -> list[pricing.PricingProduct]:
        """Other sellers' offers for up to 10 products (a read); per-product errors are in each result."""
        return self._call("pricing_query", lambda header: pricing.build_pricing_query(
            header, references, reference_type=reference_type, sellers=sellers), pricing.parse_pricing_query)

    # ------------------------------------------------------------------ paging
    def _pages(self, service: str, fetch: Callable[[int], OffersPage | OrdersPage],
               on_page: Callable[[int, int, int], None] | None) -> Iterator[OffersPage | OrdersPage]:
        """Pages 1, 2, ... until FNAC's last page or an empty one. Past ``max_pages`` pages: TooManyPages
        (raised after the pages read so far were yielded, so what the caller committed stays)."""
        page = 1
        while True:
            result = fetch(page)
            if on_page is not None:
                on_page(page, result.total_paging, result.nb_total_result)
            yield result
            items = (result.offers if isinstance(result, OffersPage)
                     else result.orders if isinstance(result, OrdersPage) else result.items)
            if not items or page >= result.total_paging:
                return
            if page >= self.max_pages:
                raise TooManyPages(
                    f"fnac {service}: stopped after {page} pages, the page cap ({self.max_pages} pages per listing); "
                    f"FNAC announced {result.total_paging} pages ({result.nb_total_result} results). The pages "
                    "read were kept; raise the cap if the listing is really that large.",
                    limit=self.max_pages, announced=result.total_paging)
            page += 1

    # ------------------------------------------------------------------ messages and order comments
    def messages_query_page(self, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE, **filters
                            ) -> messages.MessagesPage:
        """One page of messages_query; ``filters`` are build_messages_query's (date_min, message_id...)."""
        return self._call("messages_query", lambda header: messages.build_messages_query(
            header, page=page, results_count=page_size, **filters), messages.parse_messages_query)

    def message_pages(self, *, page_size: int = DEFAULT_PAGE_SIZE,
                      on_page: Callable[[int, int, int], None] | None = None,
                      **filters) -> Iterator[messages.MessagesPage]:
        """The messages listing page by page (the caller commits per page); capped at ``max_pages``."""
        yield from self._pages("messages_query", lambda page: self.messages_query_page(
            page=page, page_size=page_size, **filters), on_page)

    def messages_update(self, updates: Sequence[messages.MessageUpdate]) -> list[messages.UpdateResult]:
        """Reply, mark read/unread, archive/unarchive; per-message results (check ``result.ok``)."""
        return self._call("messages_update", lambda header: messages.build_messages_update(header, updates),
                          messages.parse_messages_update, write=True)

    def client_order_comments_query_page(self, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE,
                                         **filters) -> messages.CommentsPage:
        return self._call("client_order_comments_query", lambda header: messages.build_client_order_comments_query(
            header, page=page, results_count=page_size, **filters), messages.parse_client_order_comments_query)

    def comment_pages(self, *, page_size: int = DEFAULT_PAGE_SIZE,
                      on_page: Callable[[int, int, int], None] | None = None,
                      **filters) -> Iterator[messages.CommentsPage]:
        yield from self._pages("client_order_comments_query", lambda page: self.client_order_comments_query_page(
            page=page, page_size=page_size, **filters), on_page)

    def client_order_comments_update(self, replies: Sequence[messages.CommentReply]) -> list[messages.UpdateResult]:
        return self._call("client_order_comments_update",
                          lambda header: messages.build_client_order_comments_update(header, replies),
                          messages.parse_client_order_comments_update, write=True)

    def close(self) -> None:
        self.transport.close()


def offers_update_isolating(client, offers: Sequence[OfferUpdate]) -> OffersSent:
    """``client.offers_update``; when FNAC refuses the whole call for what it carries (ERR_096 XML Validation failed:
    one bad offer sinks up to 10,000), the same offers again in halves, recursively, until each offending
    offer is alone: every other offer is sent, each offending one comes back with FNAC's refusal.

    The first (whole) call fails as ``offers_update`` does (raises). A later call failing for another reason
    (FNAC down, token refused) stops the splitting: the batches already accepted are returned with that
    error and the offers not sent, so the caller follows what was sent."""
    result = OffersSent()
    pending = [list(offers)]
    while pending:
        chunk = pending.pop(0)
        result.calls += 1
        try:
            batch_id = client.offers_update(chunk)
        except Rejected as exc:
            if exc.code not in SPLITTABLE_CODES:
                if result.calls == 1:
                    raise
                result.error, result.unsent = exc, chunk + [o for rest in pending for o in rest]
                return result
            if len(chunk) == 1:
                result.refused[chunk[0].sku] = FnacErrorItem(code=exc.code, message=exc.message)
            else:
                middle = len(chunk) // 2
                pending[:0] = [chunk[:middle], chunk[middle:]]
            continue
        except MarketplaceError as exc:
            if result.calls == 1:
                raise
            result.error, result.unsent = exc, chunk + [o for rest in pending for o in rest]
            return result
        result.batches.append((batch_id, chunk))
    return result
