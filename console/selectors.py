"""The dashboard's figures: one selector shared by the admin home page and ``GET /api/dashboard/``.

Every figure is a count of rows the user may see (stores.selectors.stores_for_user) and has one admin list that shows
exactly those rows (console.dashboard.FIGURES). The rules behind the figures live in the domain apps' selectors
(orders.selectors.ship_by_q, inventory.selectors, stores.selectors.recent_runs_q), so the admin filters the links
land on count the same rows. A figure whose list the user may not open is ``None`` (not shown, not counted).
Queries: a fixed number whatever the number of stores (one aggregate per model, grouped by store).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from catalogue.models import Product
from claims.models import Claim
from claims.selectors import claims_waiting_q
from fulfilment.models import Shipment
from fulfilment.selectors import parcels_stuck_q
from inbox.models import Message
from inbox.selectors import overdue_q
from inventory.selectors import out_of_stock_q, push_rejected_q, push_waiting_q
from orders.models import Order, OrderStatus
from orders.selectors import SHIP_BY_LATE, SHIP_BY_TODAY, orders_awaiting_decision_q, ship_by_q
from stores.models import Store, SyncRun
from stores.selectors import recent_runs_q, stores_for_user

ORDERS_CHART_DAYS = 30
SYNCS_CHART_DAYS = 14
RECENT_SYNCS = 8


# the admin lists the figures count rows of
FIGURE_LISTS = (("orders", "order"), ("inventory", "stock"), ("stores", "syncrun"), ("claims", "claim"),
                ("inbox", "message"), ("fulfilment", "shipment"))


def can_view(user, app_label: str, model_name: str) -> bool:
    """May ``user`` open this admin list (the same test as the sidebar's links)?"""
    return user.has_perm(f"{app_label}.view_{model_name}") or user.has_perm(f"{app_label}.change_{model_name}")


@dataclass(frozen=True)
class Figures:
    """What needs attention; ``None``: the user may not open the list behind the figure."""

    awaiting_acceptance: int | None = None  # orders waiting for the seller to accept or refuse them on FNAC
    to_ship_today: int | None = None  # paid, not handed over, ship-by day is today
    late: int | None = None  # paid, not handed over, ship-by day has passed
    flagged: int | None = None  # orders flagged for a person (a problem to look at)
    decision_needed: int | None = None  # orders automatic acceptance left for a person
    pushes_rejected: int | None = None  # products whose last stock/price push FNAC refused
    pushes_waiting: int | None = None  # products whose stock/price change waits for FNAC for more than 10 min
    failed_syncs: int | None = None  # sync runs failed in the last 24 h
    out_of_stock: int | None = None  # live, active offers with nothing to sell on FNAC
    claims_waiting: int | None = None  # open buyer claims (FNAC incidents) waiting for the seller's answer
    messages_awaiting: int | None = None  # buyer messages waiting for an answer (inbox.selectors)
    messages_overdue: int | None = None  # ... for longer than the store's "answer within N hours"
    stuck_parcels: int | None = None  # shipped parcels with no carrier event for the store's number of days

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def __add__(self, other: Figures) -> Figures:
        return Figures(**{name: _plus(getattr(self, name), getattr(other, name)) for name in self.names()})


def _plus(a: int | None, b: int | None) -> int | None:
    return None if a is None and b is None else (a or 0) + (b or 0)


@dataclass(frozen=True)
class StoreFigures:
    store_id: int
    store_name: str
    figures: Figures


@dataclass(frozen=True)
class DayCount:
    day: dt.date
    count: int


@dataclass(frozen=True)
class SyncDay:
    day: dt.date
    succeeded: int
    partial: int
    failed: int


@dataclass(frozen=True)
class RecentSync:
    id: int
    store_id: int
    store_name: str
    kind: str
    kind_label: str
    state: str
    state_label: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error_count: int


@dataclass(frozen=True)
class StoreRef:
    id: int
    name: str


@dataclass(frozen=True)
class DashboardFigures:
    generated_at: dt.datetime
    store_id: int | None  # the store shown; None: every store the user may see, together
    stores: list[StoreRef]  # the stores the user may see, by name: the store picker
    totals: Figures  # for the store shown (or all of them)
    by_store: list[StoreFigures] = field(default_factory=list)  # each store the user may see
    orders_per_day: list[DayCount] | None = None  # the last ORDERS_CHART_DAYS days (local dates), oldest first
    syncs_per_day: list[SyncDay] | None = None  # the last SYNCS_CHART_DAYS days
    recent_syncs: list[RecentSync] | None = None  # the latest RECENT_SYNCS runs


class StoreNotVisible(LookupError):
    """``store`` names no store the user may see."""


def dashboard_figures(*, user, store: int | Store | None = None, now: dt.datetime | None = None) -> DashboardFigures:
    """The dashboard of ``user``: the figures of ``store`` (an id or a Store; it must be one of the user's stores,
    else ``StoreNotVisible``), or of all the user's stores together when ``store`` is None."""
    now = now or timezone.now()
    rows = list(stores_for_user(user).order_by("name", "pk").values_list("pk", "name", "answer_within_hours"))
    stores = [(pk, name) for pk, name, _ in rows]
    clocks = [Store(pk=pk, answer_within_hours=hours) for pk, _, hours in rows]  # the response clock, no query
    store_id = None if store is None else (store.pk if isinstance(store, Store) else int(store))
    if store_id is not None and store_id not in {pk for pk, _ in stores}:
        raise StoreNotVisible(f"no store {store_id} among the stores this user may see")
    ids = [pk for pk, _ in stores]
    per_store: dict[int, dict[str, int]] = {pk: {} for pk in ids}

    see_orders = can_view(user, "orders", "order")
    see_stock = can_view(user, "inventory", "stock")
    see_runs = can_view(user, "stores", "syncrun")
    see_claims = can_view(user, "claims", "claim")
    see_messages = can_view(user, "inbox", "message")
    see_shipments = can_view(user, "fulfilment", "shipment")
    if ids and see_orders:
        _count_by_store(per_store, Order.objects.filter(store_id__in=ids), {
            "awaiting_acceptance": Q(status=OrderStatus.AWAITING_ACCEPTANCE),
            "to_ship_today": ship_by_q(SHIP_BY_TODAY, now=now),
            "late": ship_by_q(SHIP_BY_LATE, now=now),
            "flagged": Q(flagged=True),
            "decision_needed": orders_awaiting_decision_q(),
        })
    if ids and see_stock:
        _count_by_store(per_store, Product.objects.filter(store_id__in=ids), {
            "pushes_rejected": push_rejected_q(),
            "pushes_waiting": push_waiting_q(now=now),
            "out_of_stock": out_of_stock_q(),
        })
    if ids and see_runs:
        _count_by_store(per_store, SyncRun.objects.filter(store_id__in=ids), {
            "failed_syncs": Q(state=SyncRun.State.FAILED) & recent_runs_q(now=now),
        })

    if ids and see_claims:
        _count_by_store(per_store, Claim.objects.filter(store_id__in=ids), {"claims_waiting": claims_waiting_q()})
    if ids and see_messages:
        _count_by_store(per_store, Message.objects.filter(store_id__in=ids), {
            "messages_awaiting": Q(awaiting_reply=True),
            "messages_overdue": overdue_q(stores=clocks, now=now),
        })
    if ids and see_shipments:
        _count_by_store(per_store, Shipment.objects.filter(store_id__in=ids), {"stuck_parcels": parcels_stuck_q()})

    hidden = {name: None for name in (
        ([] if see_orders else ["awaiting_acceptance", "to_ship_today", "late", "flagged", "decision_needed"])
        + ([] if see_stock else ["pushes_rejected", "pushes_waiting", "out_of_stock"])
        + ([] if see_runs else ["failed_syncs"])
        + ([] if see_claims else ["claims_waiting"])
        + ([] if see_messages else ["messages_awaiting", "messages_overdue"])
        + ([] if see_shipments else ["stuck_parcels"]))}

    def figures_of(pk: int) -> Figures:
        counts = {name: per_store[pk].get(name, 0) for name in Figures.names()}
        return Figures(**{**counts, **hidden})

    by_store = [StoreFigures(store_id=pk, store_name=name, figures=figures_of(pk)) for pk, name in stores]
    shown = [s for s in by_store if store_id is None or s.store_id == store_id]
    totals = sum((s.figures for s in shown), Figures(**{name: (None if name in hidden else 0)
                                                        for name in Figures.names()}))
    scope = [store_id] if store_id is not None else ids
    return DashboardFigures(
        generated_at=now, store_id=store_id, stores=[StoreRef(id=pk, name=name) for pk, name in stores],
        totals=totals, by_store=by_store,
        orders_per_day=_orders_per_day(scope, now) if see_orders else None,
        syncs_per_day=_syncs_per_day(scope, now) if see_runs else None,
        recent_syncs=_recent_syncs(scope) if see_runs else None,
    )


def _count_by_store(per_store: dict[int, dict[str, int]], qs, conditions: dict[str, Q]) -> None:
    """One query: per store, how many rows meet each condition (only rows meeting one of them are read)."""
    anyone = Q()
    for condition in conditions.values():
        anyone |= condition
    rows = (qs.filter(anyone).order_by().values("store_id")
            .annotate(**{name: Count("pk", filter=condition) for name, condition in conditions.items()}))
    for row in rows:
        per_store[row["store_id"]].update({name: row[name] for name in conditions})


def _days(now: dt.datetime, n: int) -> list[dt.date]:
    today = timezone.localdate(now)
    return [today - dt.timedelta(days=back) for back in range(n - 1, -1, -1)]


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _orders_per_day(store_ids: list[int], now: dt.datetime) -> list[DayCount]:
    days = _days(now, ORDERS_CHART_DAYS)
    counts = {} if not store_ids else dict(
        Order.objects.filter(store_id__in=store_ids, created_at__gte=_day_start(days[0]))
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by().values("day").annotate(n=Count("pk")).values_list("day", "n"))
    return [DayCount(day=day, count=counts.get(day, 0)) for day in days]


def _syncs_per_day(store_ids: list[int], now: dt.datetime) -> list[SyncDay]:
    days = _days(now, SYNCS_CHART_DAYS)
    counts: dict[tuple[dt.date, str], int] = {}
    if store_ids:
        rows = (SyncRun.objects.filter(store_id__in=store_ids, created_at__gte=_day_start(days[0]),
                                       state__in=[SyncRun.State.SUCCEEDED, SyncRun.State.PARTIAL,
                                                  SyncRun.State.FAILED])
                .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
                .order_by().values("day", "state").annotate(n=Count("pk")))
        counts = {(row["day"], row["state"]): row["n"] for row in rows}
    S = SyncRun.State
    return [SyncDay(day=day, succeeded=counts.get((day, S.SUCCEEDED), 0), partial=counts.get((day, S.PARTIAL), 0),
                    failed=counts.get((day, S.FAILED), 0)) for day in days]


def _recent_syncs(store_ids: list[int]) -> list[RecentSync]:
    runs = SyncRun.objects.filter(store_id__in=store_ids).select_related("store").order_by("-created_at", "-id")
    return [RecentSync(id=run.pk, store_id=run.store_id, store_name=run.store.name, kind=run.kind,
                       kind_label=run.get_kind_display(), state=run.state, state_label=run.get_state_display(),
                       created_at=run.created_at, finished_at=run.finished_at, error_count=run.error_count)
            for run in runs[:RECENT_SYNCS]] if store_ids else []
