"""The competitor price watch: read ``pricing_query`` for a store's live products, 10 per call, paced, and store
where each offer stands (``Competition``) with a bounded history.

A product is asked for by its EAN (``product_reference type="Ean"``) when it has one, else by FNAC's own product id
(``type="FnacId"``, PricingQueryService.xsd's ``product_reference_type``): FNAC's offers_query carries no EAN, so a
catalogue imported from FNAC has only the FNAC product id (``Product.fnac_product_id``), and without this it was
never watched. One call holds references of one type only.

One run = one ``SyncRun`` of kind ``price_watch``. Products are read in blocks: the block's existing rows are
loaded in one query, its calls made one after the other (one every ``PRICING_WATCH_PACING_SECONDS``), and its
results written with one bulk upsert, so a run of 10,000 products costs a few dozen queries, not thousands.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from catalogue.models import Product
from catalogue.rules import fnac_price_for, mapped_price
from fnac_connector.marketplace.errors import MarketplaceError, RateLimited, Unavailable
from fnac_connector.marketplace.fnac.limits import MAX_PRODUCTS_PER_PRICING_QUERY
from fnac_connector.marketplace.fnac.pricing import PricingProduct, check_reference
from pricing.models import Competition
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import RunRecorder, store_lock, sync_run

log = logging.getLogger(__name__)

LOCK_NAME = "price_watch"
BLOCK = 500  # products per bulk write
RECENT = dt.timedelta(hours=1)
LOCAL_INVALID = "LOCAL_EAN"  # never sent: FNAC's XSD would refuse the whole call for it


def _setting(name: str, default):
    return getattr(settings, name, default)


def pacing_seconds() -> float:
    return max(0.0, float(_setting("PRICING_WATCH_PACING_SECONDS", 1.0)))


def interval() -> dt.timedelta:
    return dt.timedelta(hours=float(_setting("PRICING_WATCH_INTERVAL_HOURS", 6)))


def tick_minutes() -> int:
    return max(1, int(_setting("PRICING_WATCH_TICK_MINUTES", 15)))


def history_points() -> int:
    return max(2, int(_setting("PRICING_HISTORY_POINTS", 60)))


def invalid_retry() -> dt.timedelta:
    return dt.timedelta(days=float(_setting("PRICING_INVALID_RETRY_DAYS", 7)))


# ---------------------------------------------------------------- which products
def watchable(store: Store):
    """Live products of the store that FNAC can price: with an EAN or a FNAC product id."""
    return Product.objects.filter(store=store, listing_state=Product.ListingState.LIVE).exclude(
        ean="", fnac_product_id="")


EAN, FNAC_ID = "Ean", "FnacId"
REFERENCE_WORDS = {EAN: "EAN", FNAC_ID: "FNAC product id"}


def reference_of(p: dict) -> tuple[str, str]:
    """(type, value) the watch asks FNAC about for this product: its EAN, else its FNAC product id."""
    return (EAN, p["ean"]) if p["ean"] else (FNAC_ID, p["fnac_product_id"])


def _said(ref: tuple[str, str]) -> str:
    return f"{REFERENCE_WORDS[ref[0]]} {ref[1]}"


def due_products(store: Store, *, now: dt.datetime, full: bool = False, skus: Iterable[str] | None = None) -> list:
    """The products this run reads, in order: live products changed in the last hour first, then the longest
    unchecked. Without ``full``, a scheduled tick takes its share of the interval (every product once per
    ``interval()``); an EAN FNAC refused waits until its ``retry_after`` (explicit SKUs do not wait)."""
    qs = watchable(store).select_related(None)
    if skus is not None:
        return list(qs.filter(sku__in=list(skus)).order_by("pk").values(*_FIELDS))
    qs = qs.filter(Q(competition__retry_after__isnull=True) | Q(competition__retry_after__lte=now))
    recent = Q(updated_at__gte=now - RECENT)
    ordered = qs.order_by(F("competition__checked_at").asc(nulls_first=True), "pk")
    if full:
        return _recent_first(list(ordered.values(*_FIELDS)), now)
    total = qs.count()
    share = math.ceil(total * tick_minutes() * 60 / max(60.0, interval().total_seconds()))
    stale = Q(competition__checked_at__isnull=True) | Q(competition__checked_at__lte=now - interval())
    changed = recent & (Q(competition__checked_at__isnull=True) | Q(competition__checked_at__lt=F("updated_at")))
    rows = list(ordered.filter(changed).values(*_FIELDS))
    seen = {r["id"] for r in rows}
    if len(rows) < share:
        rows += [r for r in ordered.filter(stale).exclude(pk__in=seen).values(*_FIELDS)[:share - len(rows)]]
    return _recent_first(rows, now)


_FIELDS = ("id", "sku", "ean", "fnac_product_id", "condition", "price", "sale_price", "fnac_price", "updated_at")


def _recent_first(rows: list[dict], now: dt.datetime) -> list[dict]:
    return sorted(rows, key=lambda r: 0 if r["updated_at"] >= now - RECENT else 1)


# ---------------------------------------------------------------- one product's standing
@dataclass
class Standing:
    lowest_price: Decimal | None = None
    lowest_shipping: Decimal | None = None
    lowest_seller_type: str = ""
    competitors: int = 0
    our_price: Decimal | None = None
    our_shipping: Decimal | None = None

    @property
    def lowest_total(self) -> Decimal | None:
        return None if self.lowest_price is None else self.lowest_price + (self.lowest_shipping or 0)

    @property
    def our_total(self) -> Decimal | None:
        return None if self.our_price is None else self.our_price + (self.our_shipping or 0)

    @property
    def is_lowest(self) -> bool | None:
        if self.our_total is None:
            return None
        return self.lowest_total is None or self.our_total <= self.lowest_total


def standing_of(result: PricingProduct, *, condition: str, our_price: Decimal | None, our_sku: str = "") -> Standing:
    """Where our offer stands among the other sellers' offers in the same condition. Our own offer is never a
    competitor: the request asks for the others only, and an entry carrying our SKU would be dropped anyway."""
    offers = result.competitors(condition)
    standing = Standing(competitors=len(offers))
    if offers:
        best = min(offers, key=lambda o: (o.total, o.price))
        standing.lowest_price, standing.lowest_shipping = best.price, best.shipping_price
        standing.lowest_seller_type = best.seller_type
    if result.seller_price is not None:
        standing.our_price, standing.our_shipping = result.seller_price, result.seller_shipping
    else:
        standing.our_price, standing.our_shipping = our_price, None
    return standing


# ---------------------------------------------------------------- the run
@dataclass
class WatchReport:
    read: int = 0
    invalid: int = 0
    failed: int = 0
    calls: int = 0
    backoffs: int = 0
    stopped: str = ""
    by_fnac_id: int = 0  # products asked for by FNAC product id (no EAN)
    counts: dict = field(default_factory=dict)


def prices_watch(*, store: Store, skus: Iterable[str] | None = None, full: bool = False, trigger: str = "task",
                 run: SyncRun | None = None, client=None, sleep: Callable[[float], None] = time.sleep,
                 now: dt.datetime | None = None) -> SyncRun:
    """Read competitor prices for the store's due products (every watchable product when ``full``; these SKUs
    when given). Records one SyncRun; raises LockBusy when another watch of the store runs."""
    now = now or timezone.now()
    skus = [s for s in skus] if skus is not None else None
    with store_lock(store=store, name=LOCK_NAME), \
            sync_run(store=store, kind=SyncRun.Kind.PRICE_WATCH, trigger=trigger, run=run,
                     params={"skus": skus or [], "full": full}) as rec:
        products = due_products(store, now=now, full=full, skus=skus)
        if skus is not None:
            found = {p["sku"] for p in products}
            for sku in skus:
                if sku not in found:
                    rec.issue("not_watchable", f"SKU {sku}: not a live product with an EAN or a FNAC product id "
                                               "in this store; skipped", reference=sku)
        rec.set_total(len(products))
        report = WatchReport()
        client = client or fnac_client_for(store)
        for start in range(0, len(products), BLOCK):
            if report.stopped:
                break
            block = products[start:start + BLOCK]
            _watch_block(store, block, client=client, rec=rec, report=report, sleep=sleep)
        rec.count("read", report.read)
        rec.count("invalid_ean", report.invalid)
        rec.count("failed", report.failed)
        rec.count("calls", report.calls)
        rec.count("backoffs", report.backoffs)
        rec.advance(0)
        if report.stopped:
            rec.note(report.stopped)
        else:
            rec.note(f"{report.read} products read in {report.calls} calls, {report.invalid} unknown or invalid "
                     f"references, {report.failed} not read"
                     + (f" ({report.by_fnac_id} asked by FNAC product id: no EAN)" if report.by_fnac_id else ""))
    return rec.run


def _pace(last_call: list[float], sleep) -> None:
    wait = pacing_seconds() - (time.monotonic() - last_call[0]) if last_call[0] else 0
    if wait > 0:
        sleep(wait)
    last_call[0] = time.monotonic()


def _backoff_delay(exc: MarketplaceError, attempt: int) -> float:
    base = float(_setting("PRICING_BACKOFF_SECONDS", 30)) * 2 ** attempt
    hint = getattr(exc, "retry_after", None)
    return max(base, float(hint or 0))


def _watch_block(store: Store, block: list[dict], *, client, rec: RunRecorder, report: WatchReport, sleep) -> None:
    existing = {c.product_id: c for c in Competition.objects.filter(product_id__in=[p["id"] for p in block])}
    rows: list[Competition] = []
    sendable = []
    read_at = timezone.now()
    for p in block:
        ref = reference_of(p)
        problem = check_reference(ref[1])
        if problem:
            rows.append(_refused(store, p, existing.get(p["id"]), LOCAL_INVALID, problem, read_at))
            report.invalid += 1
            rec.issue("invalid_ean", f"SKU {p['sku']}: {problem}; not sent", reference=p["sku"])
        else:
            sendable.append(p)
    report.by_fnac_id += sum(1 for p in sendable if reference_of(p)[0] == FNAC_ID)
    last_call = [0.0]
    max_backoffs = int(_setting("PRICING_MAX_BACKOFFS", 4))
    # one call holds one reference type: the EANs' calls, then the FNAC ids'
    chunks = []
    for kind in (EAN, FNAC_ID):
        group = [p for p in sendable if reference_of(p)[0] == kind]
        chunks += [group[i:i + MAX_PRODUCTS_PER_PRICING_QUERY]
                   for i in range(0, len(group), MAX_PRODUCTS_PER_PRICING_QUERY)]
    for chunk in chunks:
        kind = reference_of(chunk[0])[0]
        attempt = 0
        while True:
            _pace(last_call, sleep)
            try:
                results = client.pricing_query([reference_of(p)[1] for p in chunk], reference_type=kind)
                report.calls += 1
                break
            except (RateLimited, Unavailable) as exc:
                report.calls += 1
                if attempt >= max_backoffs:
                    report.stopped = (f"FNAC kept answering {exc.__class__.__name__} ({exc}) after {attempt} "
                                      "back-offs; the remaining products wait for the next run")
                    rec.issue("rate_limited", report.stopped)
                    results = None
                    break
                delay = _backoff_delay(exc, attempt)
                report.backoffs += 1
                log.info("price watch of store %s: %s, waiting %.0f s", store.pk, exc, delay)
                sleep(delay)
                attempt += 1
            except MarketplaceError as exc:
                report.calls += 1
                report.failed += len(chunk)
                rec.issue("pricing_query_failed", f"pricing_query refused for {len(chunk)} products: {exc}",
                          reference=",".join(p["sku"] for p in chunk)[:200],
                          details={"code": getattr(exc, "code", ""), "skus": [p["sku"] for p in chunk]})
                for p in chunk:
                    rows.append(_failed(store, p, existing.get(p["id"]), getattr(exc, "code", ""), str(exc), read_at))
                results = None
                break
        if results is None:
            if report.stopped:
                break
            continue
        by_ref = {r.reference: r for r in results}
        for p in chunk:
            ref = reference_of(p)
            result = by_ref.get(ref[1])
            if result is None:
                report.failed += 1
                rec.issue("missing_answer", f"SKU {p['sku']}: FNAC answered nothing for {_said(ref)}",
                          reference=p["sku"])
                rows.append(_failed(store, p, existing.get(p["id"]), "",
                                    f"no answer for this {REFERENCE_WORDS[ref[0]]}", read_at))
            elif not result.ok:
                error = result.errors[0]
                report.invalid += 1
                rec.issue("invalid_ean", f"SKU {p['sku']}: FNAC refused {_said(ref)}: {error.code} {error.message}",
                          reference=p["sku"], details={"code": error.code, "reference_type": ref[0]})
                rows.append(_refused(store, p, existing.get(p["id"]), error.code, error.message, read_at))
            else:
                report.read += 1
                rows.append(_read(store, p, existing.get(p["id"]), result, read_at))
    _write(rows)
    rec.advance(len(block))


def _base(store: Store, p: dict, current: Competition | None) -> Competition:
    row = current or Competition(product_id=p["id"], store_id=store.pk)
    row.store_id = store.pk
    return row


def _refused(store, p, current, code: str, message: str, now) -> Competition:
    row = _base(store, p, current)
    row.state, row.error_code, row.error_message = Competition.State.INVALID, code, message[:2000]
    row.failures = (row.failures or 0) + 1
    # the back-off doubles with each refusal in a row (an EAN FNAC does not know today may be created later)
    row.retry_after = now + invalid_retry() * min(2 ** (row.failures - 1), 8)
    row.checked_at = now
    return row


def _failed(store, p, current, code: str, message: str, now) -> Competition:
    row = _base(store, p, current)
    if row.pk is None or row.state != Competition.State.OK:
        row.state = Competition.State.ERROR
    row.error_code, row.error_message = code, message[:2000]
    return row


def _read(store, p, current, result: PricingProduct, now) -> Competition:
    row = _base(store, p, current)
    our_price = p["fnac_price"]
    if our_price is None:
        our_price = mapped_price(price=p["price"], sale_price=p["sale_price"], store=store)
    standing = standing_of(result, condition=p["condition"], our_price=our_price)
    row.state, row.error_code, row.error_message = Competition.State.OK, "", ""
    row.failures, row.retry_after = 0, None
    row.condition = p["condition"]
    row.lowest_price, row.lowest_shipping = standing.lowest_price, standing.lowest_shipping
    row.lowest_seller_type = standing.lowest_seller_type
    row.competitors = standing.competitors
    row.our_price, row.our_shipping = standing.our_price, standing.our_shipping
    row.is_lowest = standing.is_lowest
    row.checked_at = now
    point = [now.isoformat(timespec="seconds"), _num(standing.lowest_total), _num(standing.our_total)]
    row.history = (list(row.history or []) + [point])[-history_points():]
    return row


def _num(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


UPDATE_FIELDS = ["store", "state", "condition", "lowest_price", "lowest_shipping", "lowest_total",
                 "lowest_seller_type", "competitors", "our_price", "our_shipping", "is_lowest", "checked_at",
                 "error_code", "error_message", "failures", "retry_after", "history"]


def _write(rows: list[Competition]) -> None:
    """One upsert for the block (keyed on the product)."""
    if not rows:
        return
    for row in rows:
        row.lowest_total = None if row.lowest_price is None else row.lowest_price + (row.lowest_shipping or 0)
    with transaction.atomic():
        Competition.objects.bulk_create(rows, update_conflicts=True, unique_fields=["product"],
                                        update_fields=UPDATE_FIELDS, batch_size=500)


def our_price_of(product: Product, store: Store) -> Decimal | None:
    """What FNAC shows for our offer, else what the connector would push."""
    return product.fnac_price if product.fnac_price is not None else fnac_price_for(product, store)
