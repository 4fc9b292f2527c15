"""Order use cases: import and status sync from FNAC, acceptance, pushing order updates, promoting waiting orders.

Exactly once: orders and lines are upserted on their natural keys (unique constraints), one transaction per
page, under a per-store lock; the cursor is taken as "now" before fetching and moved only after every page
it covers is committed, and the next window overlaps it. FNAC's ``updated_at`` is compared before anything
is applied, so an older read never overwrites a newer one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone

from catalogue.models import Product
from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.errors import MarketplaceError, Rejected, TooManyPages
from fnac_connector.marketplace.fnac import types as fnac
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.reservations import order_release, order_reserve
from orders.status import (
    FNAC_TO_OMS,
    NOT_RECEIVED_REASON,
    order_apply_fnac_state,
    order_transition,
)
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import RunRecorder, cursor_get, cursor_set, lock_renew, run_create, store_lock, sync_run

log = logging.getLogger(__name__)

S = OrderStatus
Source = OrderStatusChange.Source

LOCK_NAME = "orders"
CURSOR_NEW = "orders_new"  # CreatedAt: the 5-minute new-orders job
CURSOR_STATUS = "orders_status"  # UpdatedAt: the 30-minute status job
INITIAL_DAYS = 90


def _overlap() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "ORDERS_CURSOR_OVERLAP_SECONDS", 600))


def _page_size() -> int:
    return int(getattr(settings, "ORDERS_PAGE_SIZE", 500))


class SyncMode:
    NEW = "new"  # orders created since the new-orders cursor
    STATUS = "status"  # orders updated since the status cursor (every state)
    FULL = "full"  # every order created in the last 90 days, every state
    MANUAL = "manual"  # "Sync Orders": orders updated since the status cursor (or --since)

    ALL = (NEW, STATUS, FULL, MANUAL)


# ================================================================ import
@dataclasses.dataclass
class _Window:
    date_type: str
    since: dt.datetime
    cursors: tuple[str, ...]  # cursors moved to "now" when the whole window is committed


def _window(store: Store, mode: str, since: dt.datetime | None, now: dt.datetime) -> _Window:
    initial = now - dt.timedelta(days=INITIAL_DAYS)
    if mode == SyncMode.FULL:
        return _Window("CreatedAt", since or initial, (CURSOR_NEW, CURSOR_STATUS) if since is None else ())
    if mode == SyncMode.NEW:
        cursor = cursor_get(store=store, name=CURSOR_NEW)
        return _Window("CreatedAt", cursor - _overlap() if cursor else initial, (CURSOR_NEW,))
    cursor = cursor_get(store=store, name=CURSOR_STATUS)
    start = cursor - _overlap() if cursor else initial
    if since is not None:
        # an explicit --since moves the cursors only if it covers at least what they would have read
        return _Window("UpdatedAt", since, (CURSOR_STATUS, CURSOR_NEW) if since <= start else ())
    return _Window("UpdatedAt", start, (CURSOR_STATUS, CURSOR_NEW) if mode == SyncMode.MANUAL else (CURSOR_STATUS,))


def orders_sync(*, store: Store, mode: str = SyncMode.MANUAL, since: dt.datetime | None = None,
                trigger: str = "", run: SyncRun | None = None, client=None) -> SyncRun:
    """Import orders from FNAC (new, changed or the 90-day window), then promote waiting orders and
    accept what the store's acceptance rule accepts. Raises LockBusy when another sync holds the store."""
    if mode not in SyncMode.ALL:
        raise InvalidInput(f"unknown orders sync mode {mode!r}; use one of {', '.join(SyncMode.ALL)}")
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)
    kind = SyncRun.Kind.ORDERS_STATUS if mode == SyncMode.STATUS else SyncRun.Kind.ORDERS_IMPORT
    params = {"mode": mode, **({"since": since.isoformat()} if since else {})}
    with sync_run(store=store, kind=kind, trigger=trigger, run=run, params=params) as rec:
        with store_lock(store=store, name=LOCK_NAME) as token:
            client = client or fnac_client_for(store)
            now = timezone.now()  # taken before fetching: the cursor never runs ahead of what was read
            window = _window(store, mode, since, now)
            rec.note(f"{window.date_type} since {window.since.isoformat(timespec='seconds')}")
            importer = _Importer(store=store, rec=rec)

            def on_page(page: int, total_paging: int, total: int) -> None:
                if page == 1:
                    rec.set_total(total)

            page: list = []
            try:
                for item in client.iter_orders(page_size=_page_size(), date_type=window.date_type,
                                               since=window.since, sort="DESC", on_page=on_page):
                    page.append(item)
                    if len(page) >= _page_size():
                        importer.import_page(page)
                        page = []
                        lock_renew(store=store, name=LOCK_NAME, token=token)
            except TooManyPages as exc:
                # what was read is kept; the cursors do not move, so the next run reads the window again
                if page:
                    importer.import_page(page)
                rec.note("\n".join(filter(None, [rec.run.message, (
                    f"Stopped at the page cap (MARKETPLACE_MAX_PAGES = {exc.limit} pages per run): the orders "
                    "read were imported, the rest of the window was not read.")])))
                raise
            if page:
                importer.import_page(page)
            # every page is committed: the window is covered
            for name in window.cursors:
                cursor_set(store=store, name=name, position=now)
            promoted = orders_promote_waiting(store=store)
            if promoted:
                rec.count("promoted_to_new", promoted)
            orders_auto_accept(store=store, rec=rec, client=client)
            rec.advance(0)
    run_obj = rec.run
    return run_obj


def _address(address: fnac.Address | None) -> dict:
    if address is None:
        return {}
    return {k: v for k, v in dataclasses.asdict(address).items() if v}


def _money(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal("0")


class _Importer:
    """Upserts pages of FNAC orders for one store. One transaction per page."""

    ORDER_FIELDS = ["fnac_state", "fnac_updated_at", "client_id", "customer_firstname", "customer_lastname",
                    "customer_email", "shipping_address", "billing_address", "fees", "vat_rate", "total_amount",
                    "shipping_total", "shipping_method", "delivery_note", "has_unmatched_lines", "raw_xml",
                    "last_sync_run", "synced_at", "updated_at"]
    LINE_FIELDS = ["sku", "product", "product_name", "product_fnac_id", "offer_fnac_id", "quantity", "price", "fees",
                   "shipping_price", "shipping_method", "state", "unmatched", "tracking_number", "tracking_company"]

    def __init__(self, *, store: Store, rec: RunRecorder):
        self.store, self.rec = store, rec

    # ---------------------------------------------------------------- validation
    def _valid(self, items: Sequence) -> list[fnac.Order]:
        """Malformed orders become sync issues (with the raw fragment); duplicates in a page keep the newest."""
        good: dict[str, fnac.Order] = {}
        for item in items:
            if isinstance(item, fnac.MalformedOrder):
                self.rec.issue("malformed_order", f"Order {item.order_id or '(no id)'} skipped: {item.reason}",
                               reference=item.order_id, raw=item.raw_xml)
                self.rec.count("malformed")
                continue
            problem = self._problem(item)
            if problem:
                self.rec.issue("malformed_order", f"Order {item.order_id} skipped: {problem}",
                               reference=item.order_id, raw=item.raw_xml)
                self.rec.count("malformed")
                continue
            seen = good.get(item.order_id)
            if seen is None or (item.updated_at or item.created_at) >= (seen.updated_at or seen.created_at):
                good[item.order_id] = item
        return list(good.values())

    @staticmethod
    def _problem(order: fnac.Order) -> str:
        if order.state not in FNAC_TO_OMS:
            return f"unknown order state {order.state!r}"
        if len(order.order_id) > 32:
            return f"order_id {order.order_id!r} is longer than 32 characters"
        if not order.lines:
            return "no order_detail line"
        ids = set()
        for line in order.lines:
            where = f"line {line.order_detail_id}"
            if line.order_detail_id in ids:
                return f"{where} appears twice"
            ids.add(line.order_detail_id)
            if line.quantity is None or line.quantity <= 0:
                return f"{where}: quantity {line.quantity!r} is not a positive number"
            if line.price is None or line.price < 0:
                return f"{where}: price {line.price!r} is negative"
            if not line.offer_seller_id:
                return f"{where}: no offer_seller_id (SKU)"
        return ""

    # ---------------------------------------------------------------- one page
    def import_page(self, items: Sequence) -> None:
        orders = self._valid(items)
        counts: dict[str, int] = defaultdict(int)
        if orders:
            with transaction.atomic():
                self._upsert(orders, counts)
        self.rec.advance(len(items), counts=dict(counts))

    def _upsert(self, orders: list[fnac.Order], counts: dict) -> None:
        store, now, run_id = self.store, timezone.now(), self.rec.run.pk
        existing = {
            row["marketplace_order_id"]: row
            for row in Order.objects.filter(store=store, marketplace_order_id__in=[o.order_id for o in orders])
            .values("id", "marketplace_order_id", "status", "fnac_state", "fnac_updated_at", "flag_reason")
        }
        skus = {line.offer_seller_id for o in orders for line in o.lines}
        products = dict(Product.objects.filter(store=store, sku__in=skus).values_list("sku", "id"))

        to_write: list[fnac.Order] = []
        state_changes: list[tuple[fnac.Order, dict]] = []
        for o in orders:
            old = existing.get(o.order_id)
            if old is not None:
                if old["fnac_updated_at"] and o.updated_at:
                    if o.updated_at < old["fnac_updated_at"]:
                        counts["stale_skipped"] += 1  # older data never overwrites newer
                        continue
                    if o.updated_at == old["fnac_updated_at"] and o.state == old["fnac_state"]:
                        counts["unchanged"] += 1
                        continue
                if o.state != old["fnac_state"]:
                    state_changes.append((o, old))
                counts["updated"] += 1
            else:
                counts["created"] += 1
            to_write.append(o)
        if not to_write:
            return

        rows = []
        for o in to_write:
            unmatched = any(line.offer_seller_id not in products for line in o.lines)
            status = FNAC_TO_OMS[o.state]
            if status == S.NEW:
                status = S.PARTIAL  # waits for its stock reservation, oldest first, at the end of the sync
            rows.append(Order(
                store=store, marketplace_order_id=o.order_id, fnac_state=o.state, status=status,
                created_at=o.created_at, fnac_updated_at=o.updated_at, client_id=o.client_id[:64],
                customer_firstname=o.client_firstname[:100], customer_lastname=o.client_lastname[:100],
                customer_email=o.client_email[:254], shipping_address=_address(o.shipping_address),
                billing_address=_address(o.billing_address), fees=o.fees, vat_rate=o.vat_rate,
                total_amount=sum((line.price * line.quantity for line in o.lines), Decimal("0")),
                shipping_total=sum((_money(line.shipping_price) for line in o.lines), Decimal("0")),
                shipping_method=next((line.shipping_method for line in o.lines if line.shipping_method), "")[:20],
                delivery_note=o.delivery_note, has_unmatched_lines=unmatched, raw_xml=o.raw_xml,
                last_sync_run_id=run_id, synced_at=now, updated_at=now,
                # only new rows take these (not in ORDER_FIELDS): a known order is flagged by its state change
                flagged=status == S.NOT_RECEIVED, flag_reason=NOT_RECEIVED_REASON if status == S.NOT_RECEIVED else "",
            ))
        Order.objects.bulk_create(rows, batch_size=500, update_conflicts=True,
                                  unique_fields=["store", "marketplace_order_id"], update_fields=self.ORDER_FIELDS)
        ids = dict(Order.objects.filter(store=store, marketplace_order_id__in=[o.order_id for o in to_write])
                   .values_list("marketplace_order_id", "id"))

        lines = []
        for o in to_write:
            for line in o.lines:
                product_id = products.get(line.offer_seller_id)
                lines.append(OrderLine(
                    order_id=ids[o.order_id], order_detail_id=line.order_detail_id, sku=line.offer_seller_id[:100],
                    product_id=product_id, product_name=line.product_name[:255],
                    product_fnac_id=line.product_fnac_id[:64], offer_fnac_id=line.offer_fnac_id[:64],
                    quantity=line.quantity, price=line.price, fees=line.fees, shipping_price=line.shipping_price,
                    shipping_method=line.shipping_method[:20], state=line.state[:30], unmatched=product_id is None,
                    tracking_number=line.tracking_number[:32], tracking_company=line.tracking_company[:100]))
        OrderLine.objects.bulk_create(lines, batch_size=1000, update_conflicts=True,
                                      unique_fields=["order", "order_detail_id"], update_fields=self.LINE_FIELDS)
        counts["lines"] += len(lines)
        counts["unmatched_lines"] += sum(1 for line in lines if line.unmatched)

        OrderStatusChange.objects.bulk_create([
            OrderStatusChange(order_id=ids[o.order_id], from_status="", to_status=row.status,
                              source=Source.MARKETPLACE, note=f"Imported (FNAC state {o.state})")
            for o, row in zip(to_write, rows, strict=True) if o.order_id not in existing], batch_size=1000)

        for o, old in state_changes:
            order = Order(pk=old["id"], store=store, marketplace_order_id=o.order_id, status=old["status"],
                          fnac_state=o.state, flag_reason=old["flag_reason"])
            order_apply_fnac_state(order=order, fnac_state=o.state, note=f"FNAC state {old['fnac_state']} -> {o.state}")
            counts["status_changes"] += 1
            if order.status not in (S.AWAITING_ACCEPTANCE,):
                Order.objects.filter(pk=order.pk, decision_needed=True).update(decision_needed=False)


def orders_refetch(*, store: Store, order_ids: Sequence[str], rec: RunRecorder, client=None) -> None:
    """Re-read given orders from FNAC (50 per query) and upsert them, e.g. before retrying a push."""
    client = client or fnac_client_for(store)
    importer = _Importer(store=store, rec=rec)
    ids = list(order_ids)
    for start in range(0, len(ids), 50):
        chunk = ids[start:start + 50]
        page = client.orders_query_page(order_ids=chunk, page_size=len(chunk), sort=None)
        importer.import_page(page.orders)


# ================================================================ waiting orders
def orders_rematch_lines(*, store: Store) -> int:
    """Lines whose SKU has become known since their import (any order status) are linked to the product now:
    two set-based UPDATEs, whatever the number of orders."""
    product = Product.objects.filter(store=store, sku=OuterRef("sku")).values("id")[:1]
    matched = (OrderLine.objects.filter(order__store=store, unmatched=True).filter(Exists(product))
               .update(product_id=Subquery(product), unmatched=False))
    if matched:
        (Order.objects.filter(store=store, has_unmatched_lines=True)
         .exclude(Exists(OrderLine.objects.filter(order=OuterRef("pk"), unmatched=True)))
         .update(has_unmatched_lines=False))
    return matched


def orders_promote_waiting(*, store: Store, product_ids: Iterable[int] | None = None) -> int:
    """Partial orders become New, oldest first, as far as available stock covers them. Returns how many.

    An older order keeps (and takes) what it can reserve even while it waits for its other lines, so stock
    goes to orders in the order they were placed. Availability is simulated in memory first, so orders that
    cannot take anything cost no query.
    """
    orders_rematch_lines(store=store)
    qs = Order.objects.filter(store=store, status=S.PARTIAL)
    if product_ids is not None:
        product_ids = list(product_ids)
        if not product_ids:
            return 0
        qs = qs.filter(pk__in=OrderLine.objects.filter(product_id__in=product_ids).values("order_id"))
    orders = list(qs.order_by("created_at", "id").only("id", "store_id", "marketplace_order_id", "status",
                                                       "created_at"))
    if not orders:
        return 0
    lines_by_order: dict[int, list[dict]] = defaultdict(list)
    ids = [o.pk for o in orders]
    for start in range(0, len(ids), 5000):
        for line in OrderLine.objects.filter(order_id__in=ids[start:start + 5000]).values(
                "order_id", "product_id", "quantity", "reserved_quantity", "unmatched"):
            lines_by_order[line["order_id"]].append(line)
    product_set = {line["product_id"] for lines in lines_by_order.values() for line in lines if line["product_id"]}
    available = {pid: on_hand - reserved for pid, on_hand, reserved in Product.objects.filter(
        pk__in=product_set).values_list("id", "stock_on_hand", "stock_reserved")}

    promoted = 0
    for order in orders:
        lines = lines_by_order.get(order.pk, [])
        takes, complete = [], bool(lines)
        for line in lines:
            need = line["quantity"] - line["reserved_quantity"]
            if line["unmatched"] or not line["product_id"]:
                complete = False
            elif need > 0:
                if available.get(line["product_id"], 0) >= need:
                    takes.append((line["product_id"], need))
                else:
                    complete = False
        if not takes and not complete:
            continue
        for pid, need in takes:
            available[pid] -= need
        with transaction.atomic():
            if order_reserve(order=order):
                order_transition(order=order, to_status=S.NEW, source=Source.SYSTEM,
                                 note="Stock reserved for every line")
                promoted += 1
    return promoted


def orders_stock_arrived(store: Store, product_ids: Iterable[int] | None = None) -> dict[str, int]:
    """The ``stores.hooks.on_stock_arrived`` subscriber: lines whose SKU became known are linked, then waiting
    orders take the stock (``product_ids`` None: any product of the store)."""
    matched = orders_rematch_lines(store=store) if product_ids is None else 0
    promoted = orders_promote_waiting(store=store, product_ids=product_ids)
    return {"order_lines_matched": matched, "orders_promoted": promoted}


# ================================================================ pushing order updates
def orders_push_updates(*, store: Store, updates: Sequence[fnac.OrderUpdate], client=None) -> list[
        fnac.OrderUpdateResult]:
    """Send order updates to FNAC, 25 per ``orders_update`` call; one result per update, in the same order.

    Never raises for FNAC's answer: a call that fails (network, refusal) gives an ERROR result for each of its
    orders, an order FNAC did not answer about gets an ERROR result, and an update the request builder rejects
    (e.g. tracking number too long) is isolated so the others still go.
    """
    client = client or fnac_client_for(store)
    results: list[fnac.OrderUpdateResult] = []
    size = fnac.MAX_ORDERS_PER_UPDATE
    for start in range(0, len(updates), size):
        results.extend(_push_batch(client, list(updates[start:start + size])))
    return results


def _error_result(update: fnac.OrderUpdate, code: str, message: str) -> fnac.OrderUpdateResult:
    return fnac.OrderUpdateResult(order_id=update.order_id, status="ERROR",
                                  errors=[fnac.FnacErrorItem(code=code, message=message)])


def _push_batch(client, batch: list[fnac.OrderUpdate]) -> list[fnac.OrderUpdateResult]:
    try:
        answer = client.orders_update(batch)
    except ValueError as exc:
        if len(batch) == 1:
            return [_error_result(batch[0], "INVALID_REQUEST", str(exc))]
        return [result for update in batch for result in _push_batch(client, [update])]
    except MarketplaceError as exc:
        code = getattr(exc, "code", "") or exc.__class__.__name__
        message = str(exc) or exc.__class__.__name__
        return [_error_result(update, code, message) for update in batch]
    by_id = {result.order_id: result for result in answer}
    missing = "FNAC's answer does not mention this order"
    return [by_id.get(update.order_id) or _error_result(update, "NO_ANSWER", missing) for update in batch]


def describe_result(result: fnac.OrderUpdateResult) -> str:
    """A readable line for an order's failures (order errors and each failing line)."""
    parts = [f"{e.code}: {e.message}" if e.code else e.message for e in result.errors]
    for line in result.lines:
        if line.status != "OK" or line.errors:
            errors = "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in line.errors)
            parts.append(f"line {line.order_detail_id} {line.status}" + (f" ({errors})" if errors else ""))
    if not parts and result.status != "OK":
        parts.append(f"status {result.status}")
    return "; ".join(parts)


# ================================================================ acceptance
@dataclasses.dataclass
class Decision:
    order: Order
    accept: list[int]  # order_detail_ids
    refuse: list[int]


def _apply_decision_result(decision: Decision, result: fnac.OrderUpdateResult, *, source: str, user=None) -> bool:
    order = decision.order
    if not result.ok:
        message = describe_result(result) or "FNAC refused the update"
        Order.objects.filter(pk=order.pk).update(last_push_error=message, updated_at=timezone.now())
        order.last_push_error = message
        return False
    with transaction.atomic():
        line_states = {line.order_detail_id: line.state for line in result.lines if line.state}
        for detail_id in decision.accept:
            OrderLine.objects.filter(order=order, order_detail_id=detail_id).update(
                state=line_states.get(detail_id, "Accepted"))
        for detail_id in decision.refuse:
            OrderLine.objects.filter(order=order, order_detail_id=detail_id).update(
                state=line_states.get(detail_id, "Refused"))
        new_state = result.state or ("Accepted" if decision.accept else "Refused")
        Order.objects.filter(pk=order.pk).update(fnac_state=new_state, last_push_error="", decision_needed=False,
                                                 decision_note="", updated_at=timezone.now())
        order.fnac_state, order.last_push_error, order.decision_needed = new_state, "", False
        target = FNAC_TO_OMS.get(new_state)
        if new_state == "ToShip":
            target = S.NEW if order_reserve(order=order) else S.PARTIAL
        if target:
            verb = "accepted" if decision.accept else "refused"
            note = f"Order {verb} on FNAC"
            if decision.accept and decision.refuse:
                note += f"; refused lines {decision.refuse}"
            order_transition(order=order, to_status=target, source=source, user=user, note=note)
    return True


def _decide(decisions: list[Decision], *, store: Store, source: str, user=None, client=None) -> list[bool]:
    updates = []
    for d in decisions:
        lines = [fnac.LineUpdate(action="Accepted", order_detail_id=i) for i in d.accept]
        lines += [fnac.LineUpdate(action="Refused", order_detail_id=i) for i in d.refuse]
        updates.append(fnac.OrderUpdate(order_id=d.order.marketplace_order_id, action="accept_order", lines=lines))
    results = orders_push_updates(store=store, updates=updates, client=client)
    return [_apply_decision_result(d, r, source=source, user=user) for d, r in zip(decisions, results, strict=True)]


def _check_awaiting(order: Order) -> None:
    if order.status != S.AWAITING_ACCEPTANCE or order.fnac_state != "Created":
        raise Conflict(f"Order {order.marketplace_order_id} is not waiting for acceptance "
                       f"(OMS status {order.get_status_display()}, FNAC state {order.fnac_state}).")


def order_accept(*, order: Order, user=None, refuse_lines: Sequence[int] = (), client=None) -> Order:
    """Accept the order on FNAC (optionally refusing some lines by order_detail_id). Raises MarketplaceFailure
    with FNAC's per-order and per-line errors when it refuses; the error is also kept on the order."""
    order = Order.objects.select_related("store").get(pk=order.pk)
    _check_awaiting(order)
    details = list(order.lines.values_list("order_detail_id", flat=True))
    unknown = [i for i in refuse_lines if i not in details]
    if unknown:
        raise InvalidInput(f"Order {order.marketplace_order_id} has no line(s) {unknown}; its lines are {details}.")
    accept = [i for i in details if i not in set(refuse_lines)]
    if not accept:
        return order_refuse(order=order, user=user, client=client)
    decision = Decision(order=order, accept=accept, refuse=list(refuse_lines))
    source = Source.USER if user is not None else Source.SYSTEM
    if not _decide([decision], store=order.store, source=source, user=user, client=client)[0]:
        raise MarketplaceFailure(f"FNAC did not accept order {order.marketplace_order_id}: {order.last_push_error}")
    order.refresh_from_db()
    return order


def order_refuse(*, order: Order, user=None, client=None) -> Order:
    order = Order.objects.select_related("store").get(pk=order.pk)
    _check_awaiting(order)
    details = list(order.lines.values_list("order_detail_id", flat=True))
    decision = Decision(order=order, accept=[], refuse=details)
    source = Source.USER if user is not None else Source.SYSTEM
    if not _decide([decision], store=order.store, source=source, user=user, client=client)[0]:
        raise MarketplaceFailure(f"FNAC did not refuse order {order.marketplace_order_id}: {order.last_push_error}")
    order.refresh_from_db()
    return order


def orders_auto_accept(*, store: Store, rec: RunRecorder | None = None, client=None) -> dict[str, int]:
    """Apply the store's acceptance rule to orders waiting for acceptance (not left for a person).

    Acceptance reserves the stock. Every line known and covered: accepted. Otherwise, by the store's
    ``uncovered_policy``: left for a decision (nothing held) or covered lines accepted and the others refused.
    An order whose previous push failed is re-read from FNAC first, so an accept that did land is not repeated.
    """
    counts = {"accepted": 0, "refused_lines": 0, "left_for_decision": 0, "accept_failed": 0}
    if store.acceptance_mode != Store.AcceptanceMode.AUTO:
        return counts
    waiting = Order.objects.filter(store=store, status=S.AWAITING_ACCEPTANCE, fnac_state="Created",
                                   decision_needed=False)
    retry_ids = list(waiting.exclude(last_push_error="").values_list("marketplace_order_id", flat=True)[:1000])
    if retry_ids and rec is not None:
        try:
            orders_refetch(store=store, order_ids=retry_ids, rec=rec, client=client)
        except MarketplaceError as exc:
            log.warning("store %s: re-reading orders before retrying acceptance failed: %s", store.pk, exc)
            return counts
    candidates = list(waiting.order_by("created_at", "id")[:5000])
    decisions: list[Decision] = []
    for order in candidates:
        lines = list(order.lines.all())
        with transaction.atomic():
            covered = order_reserve(order=order)
            if covered:
                decisions.append(Decision(order=order, accept=[line.order_detail_id for line in lines], refuse=[]))
                continue
            reserved = {line.order_detail_id for line in order.lines.filter(reserved_quantity__gte=F("quantity"))}
            if store.uncovered_policy == Store.UncoveredPolicy.REFUSE_LINES:
                accept = [line.order_detail_id for line in lines if line.order_detail_id in reserved]
                refuse = [line.order_detail_id for line in lines if line.order_detail_id not in reserved]
                decisions.append(Decision(order=order, accept=accept, refuse=refuse))
                continue
            order_release(order=order)
            uncovered = [f"{line.sku} x{line.quantity}" + (" (unknown SKU)" if line.unmatched else "")
                         for line in lines if line.order_detail_id not in reserved]
            note = "Not enough stock to accept automatically: " + ", ".join(uncovered)
            Order.objects.filter(pk=order.pk).update(decision_needed=True, decision_note=note,
                                                     updated_at=timezone.now())
            counts["left_for_decision"] += 1
    if decisions:
        oks = _decide(decisions, store=store, source=Source.SYSTEM, client=client)
        for decision, ok in zip(decisions, oks, strict=True):
            if ok:
                counts["accepted" if decision.accept else "refused"] = counts.get(
                    "accepted" if decision.accept else "refused", 0) + 1
                counts["refused_lines"] += len(decision.refuse) if decision.accept else 0
            else:
                counts["accept_failed"] += 1
                if rec is not None:
                    rec.issue("accept_failed", f"Order {decision.order.marketplace_order_id}: "
                                               f"{decision.order.last_push_error}",
                              reference=decision.order.marketplace_order_id)
                if _is_final_refusal(decision.order.last_push_error):
                    Order.objects.filter(pk=decision.order.pk).update(
                        decision_needed=True, decision_note="FNAC refused the automatic decision: "
                                                            + decision.order.last_push_error)
                # nothing stays reserved for an order FNAC did not take
                with transaction.atomic():
                    order_release(order=decision.order)
    if rec is not None:
        rec.advance(0, counts={k: v for k, v in counts.items() if v})
    return counts


_TRANSIENT_CODES = ("Unavailable", "RateLimited", "BadResponse", "ResponseTooLarge", "NO_ANSWER")


def _is_final_refusal(message: str) -> bool:
    return bool(message) and not any(message.startswith(code) for code in _TRANSIENT_CODES)


__all__ = ["SyncMode", "orders_sync", "orders_promote_waiting", "orders_push_updates", "order_accept", "order_refuse",
           "orders_auto_accept", "orders_refetch", "describe_result", "Rejected"]


# ================================================================ queued syncs (what the doors start)
def orders_sync_request(*, store: Store, mode: str = SyncMode.MANUAL, since: dt.datetime | None = None,
                        trigger: str = "") -> SyncRun:
    """Queue an orders sync; the run row exists at once (doors answer with its id), the work runs in a worker."""
    from fnac_connector.tasks import enqueue

    if mode not in SyncMode.ALL:
        raise InvalidInput(f"unknown orders sync mode {mode!r}; use one of {', '.join(SyncMode.ALL)}")
    if not store.is_connected:
        raise Conflict(f"Store {store.name!r} is not connected (status: {store.get_status_display()}); "
                       "connect it before syncing orders.")
    kind = SyncRun.Kind.ORDERS_STATUS if mode == SyncMode.STATUS else SyncRun.Kind.ORDERS_IMPORT
    params = {"mode": mode, **({"since": since.isoformat()} if since else {})}
    with transaction.atomic():
        run = run_create(store=store, kind=kind, trigger=trigger, params=params)
        enqueue("orders.tasks.orders_sync_task", store.pk, mode=mode, since=since.isoformat() if since else None,
                run_id=run.pk, trigger=trigger, group=f"store:{store.pk}:orders",
                task_name=f"orders {mode} store {store.pk} run {run.pk}")
    return run
