"""Importing orders from FNAC: the sync window, the page upserts, re-reading given orders.

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
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from catalogue.models import Product
from fnac_connector.marketplace.fnac import types as fnac
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.status import (
    FNAC_TO_OMS,
    NOT_RECEIVED_REASON,
    order_apply_fnac_state,
)
from stores.clients import fnac_client_for
from stores.models import Store
from stores.syncs import RunRecorder, cursor_get

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


def _address(address: fnac.Address | None) -> dict:
    if address is None:
        return {}
    return {k: v for k, v in dataclasses.asdict(address).items() if v}


def _money(value: Decimal | None) -> Decimal:
    return value if value is not None else Decimal("0")


def _keep_tracking(lines: list[OrderLine]) -> None:
    """A tracking number once known is never wiped: a later answer with an empty one (FNAC does not always repeat
    it) keeps the stored number and carrier."""
    empty = [line for line in lines if not line.tracking_number]
    if not empty:
        return
    stored = {(o, d): (n, c) for o, d, n, c in OrderLine.objects.filter(
        order_id__in={line.order_id for line in empty}).exclude(tracking_number="").values_list(
        "order_id", "order_detail_id", "tracking_number", "tracking_company")}
    for line in empty:
        known = stored.get((line.order_id, line.order_detail_id))
        if known:
            line.tracking_number = known[0]
            line.tracking_company = line.tracking_company or known[1]


MAX_TAKE_BACK = 9999  # as many as FNAC's largest quantity; anything above is garbage, not an order


class _Importer:
    """Upserts pages of FNAC orders for one store. One transaction per page."""

    ORDER_FIELDS = ["fnac_state", "fnac_updated_at", "client_id", "customer_firstname", "customer_lastname",
                    "customer_email", "shipping_address", "billing_address", "fees", "vat_rate", "total_amount",
                    "shipping_total", "shipping_method", "delivery_note", "has_unmatched_lines", "raw_xml",
                    "last_sync_run", "synced_at", "updated_at"]
    LINE_FIELDS = ["sku", "product", "product_name", "product_fnac_id", "offer_fnac_id", "quantity", "price", "fees",
                   "shipping_price", "shipping_method", "state", "unmatched", "tracking_number", "tracking_company",
                   "nb_products_to_take_back"]

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
            if not 0 <= line.nb_products_to_take_back <= MAX_TAKE_BACK:
                return f"{where}: nb_products_to_take_back {line.nb_products_to_take_back} is out of range"
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
        store = self.store
        existing = {
            row["marketplace_order_id"]: row
            for row in Order.objects.filter(store=store, marketplace_order_id__in=[o.order_id for o in orders])
            .values("id", "marketplace_order_id", "status", "fnac_state", "fnac_updated_at", "flag_reason")
        }
        skus = {line.offer_seller_id for o in orders for line in o.lines}
        products = dict(Product.objects.filter(store=store, sku__in=skus).values_list("sku", "id"))
        to_write, state_changes = self._changed(orders, existing, counts)
        if not to_write:
            return
        now = timezone.now()
        rows = [self._order_row(o, products, now) for o in to_write]
        Order.objects.bulk_create(rows, batch_size=500, update_conflicts=True,
                                  unique_fields=["store", "marketplace_order_id"], update_fields=self.ORDER_FIELDS)
        ids = dict(Order.objects.filter(store=store, marketplace_order_id__in=[o.order_id for o in to_write])
                   .values_list("marketplace_order_id", "id"))
        lines = [self._line_row(ids[o.order_id], line, products) for o in to_write for line in o.lines]
        _keep_tracking(lines)
        OrderLine.objects.bulk_create(lines, batch_size=1000, update_conflicts=True,
                                      unique_fields=["order", "order_detail_id"], update_fields=self.LINE_FIELDS)
        counts["lines"] += len(lines)
        counts["unmatched_lines"] += sum(1 for line in lines if line.unmatched)

        OrderStatusChange.objects.bulk_create([
            OrderStatusChange(order_id=ids[o.order_id], from_status="", to_status=row.status,
                              source=Source.MARKETPLACE, note=f"Imported (FNAC state {o.state})")
            for o, row in zip(to_write, rows, strict=True) if o.order_id not in existing], batch_size=1000)
        self._apply_state_changes(state_changes, counts)

    @staticmethod
    def _changed(orders: list[fnac.Order], existing: dict, counts: dict) -> tuple[list, list]:
        """The orders to write (new, or newer than what is stored) and those whose FNAC state changed."""
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
        return to_write, state_changes

    def _order_row(self, o: fnac.Order, products: dict, now: dt.datetime) -> Order:
        unmatched = any(line.offer_seller_id not in products for line in o.lines)
        status = FNAC_TO_OMS[o.state]
        if status == S.NEW:
            status = S.PARTIAL  # waits for its stock reservation, oldest first, at the end of the sync
        return Order(
            store=self.store, marketplace_order_id=o.order_id, fnac_state=o.state, status=status,
            created_at=o.created_at, fnac_updated_at=o.updated_at, client_id=o.client_id[:64],
            customer_firstname=o.client_firstname[:100], customer_lastname=o.client_lastname[:100],
            customer_email=o.client_email[:254], shipping_address=_address(o.shipping_address),
            billing_address=_address(o.billing_address), fees=o.fees, vat_rate=o.vat_rate,
            total_amount=sum((line.price * line.quantity for line in o.lines), Decimal("0")),
            shipping_total=sum((_money(line.shipping_price) for line in o.lines), Decimal("0")),
            shipping_method=next((line.shipping_method for line in o.lines if line.shipping_method), "")[:20],
            delivery_note=o.delivery_note, has_unmatched_lines=unmatched, raw_xml=o.raw_xml,
            last_sync_run_id=self.rec.run.pk, synced_at=now, updated_at=now,
            # only new rows take these (not in ORDER_FIELDS): a known order is flagged by its state change
            flagged=status == S.NOT_RECEIVED, flag_reason=NOT_RECEIVED_REASON if status == S.NOT_RECEIVED else "",
        )

    @staticmethod
    def _line_row(order_id: int, line: fnac.OrderLine, products: dict) -> OrderLine:
        product_id = products.get(line.offer_seller_id)
        return OrderLine(
            order_id=order_id, order_detail_id=line.order_detail_id, sku=line.offer_seller_id[:100],
            product_id=product_id, product_name=line.product_name[:255],
            product_fnac_id=line.product_fnac_id[:64], offer_fnac_id=line.offer_fnac_id[:64],
            quantity=line.quantity, price=line.price, fees=line.fees, shipping_price=line.shipping_price,
            shipping_method=line.shipping_method[:20], state=line.state[:30], unmatched=product_id is None,
            tracking_number=line.tracking_number[:32], tracking_company=line.tracking_company[:100],
            nb_products_to_take_back=line.nb_products_to_take_back)

    def _apply_state_changes(self, state_changes: list[tuple[fnac.Order, dict]], counts: dict) -> None:
        for o, old in state_changes:
            order = Order(pk=old["id"], store=self.store, marketplace_order_id=o.order_id, status=old["status"],
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
