"""The admin home page: what needs the seller's attention now, per store (console.selectors.dashboard_figures).

``?store=<id>`` shows one of the user's stores; without it the page adds up all of them (one glance over every
store, with a row per store below when there are several). Each figure links to the admin list that shows exactly
its rows (the filters named in ``FIGURES``), narrowed to the store shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404
from django.urls import reverse
from django.utils import formats

from console.selectors import DashboardFigures, Figures, StoreNotVisible, dashboard_figures
from orders.selectors import SHIP_WITHIN_DAYS


@dataclass(frozen=True)
class Figure:
    name: str  # the field of console.selectors.Figures (and of /api/dashboard/)
    title: str
    help: str
    icon: str
    url_name: str  # the admin list
    params: tuple[tuple[str, str], ...]  # its filters
    tone: str  # "warn": a problem when not zero; "todo": work to do

    def link(self, store_id: int | None = None) -> str:
        params = list(self.params) + ([("store", str(store_id))] if store_id is not None else [])
        return f"{reverse(self.url_name)}?{urlencode(params)}"


ORDERS, STOCK, RUNS = "admin:orders_order_changelist", "admin:inventory_stock_changelist", \
    "admin:stores_syncrun_changelist"
INBOX = "admin:inbox_message_changelist"
SHIPMENTS = "admin:fulfilment_shipment_changelist"
FIGURES = [
    Figure("awaiting_acceptance", "Awaiting acceptance", "New FNAC orders to accept or refuse", "pending_actions",
           ORDERS, (("status__exact", "awaiting_acceptance"),), "todo"),
    Figure("to_ship_today", "To ship today", f"Paid orders whose ship-by day is today ({SHIP_WITHIN_DAYS} days "
           "after the order)", "local_shipping", ORDERS, (("ship_by", "today"),), "todo"),
    Figure("late", "Late", "Paid orders not shipped by their ship-by day", "schedule", ORDERS,
           (("ship_by", "late"),), "warn"),
    Figure("flagged", "Flagged", "Orders with a problem to look at", "flag", ORDERS, (("attention", "flagged"),),
           "warn"),
    Figure("decision_needed", "Decision needed", "Orders waiting for you to accept or refuse", "help", ORDERS,
           (("attention", "decision"),), "todo"),
    Figure("pushes_rejected", "Pushes rejected", "Products whose stock or price FNAC refused", "cloud_off", STOCK,
           (("push_state__exact", "rejected"),), "warn"),
    Figure("pushes_waiting", "Pushes waiting", "Stock or price changes waiting for FNAC for more than 10 minutes",
           "cloud_sync", STOCK, (("push_waiting", "1"),), "warn"),
    Figure("failed_syncs", "Failed syncs", "Sync runs that failed in the last 24 hours", "sync_problem", RUNS,
           (("state__exact", "failed"), ("since", "24h")), "warn"),
    Figure("out_of_stock", "Out of stock", "Live offers with nothing to sell on FNAC", "remove_shopping_cart",
           STOCK, (("out_of_stock", "1"),), "warn"),
    Figure("claims_waiting", "Claims waiting for you", "Open buyer claims (FNAC incidents) waiting for your answer",
           "support_agent", "admin:claims_claim_changelist", (("waiting", "1"),), "warn"),
    Figure("messages_awaiting", "Messages to answer", "Buyer messages waiting for your answer", "mail",
           INBOX, (("state", "awaiting"),), "todo"),
    Figure("messages_overdue", "Messages overdue", "Buyer messages unanswered past the store's answer time",
           "mark_email_unread", INBOX, (("state", "overdue"),), "warn"),
    Figure("stuck_parcels", "Stuck parcels", "Shipped parcels the carrier has said nothing about for the store's "
           "number of days (Shipping setup)", "inventory_2", SHIPMENTS, (("tracking", "stuck"),), "warn"),
]
assert [f.name for f in FIGURES] == Figures.names()
ORDER_FIGURES = ["awaiting_acceptance", "to_ship_today", "late", "flagged", "decision_needed", "stuck_parcels"]
OTHER_FIGURES = ["pushes_rejected", "pushes_waiting", "out_of_stock", "failed_syncs"]
AFTERSALES_FIGURES = ["claims_waiting", "messages_awaiting", "messages_overdue"]


def figure_links(store_id: int | None = None) -> dict[str, str]:
    """Each figure's admin list (with its filters), for the store shown (None: all the user's stores)."""
    return {f.name: f.link(store_id) for f in FIGURES}


def _cards(figures: Figures, store_id: int | None, names: list[str]) -> list[dict]:
    cards = []
    for f in FIGURES:
        if f.name not in names:
            continue
        value = getattr(figures, f.name)
        if value is None:
            continue
        cards.append({"name": f.name, "title": f.title, "help": f.help, "icon": f.icon, "value": value,
                      "href": f.link(store_id), "alert": bool(value) and f.tone == "warn",
                      "todo": bool(value) and f.tone == "todo"})
    return cards


def _store_rows(data: DashboardFigures) -> dict:
    shown = [f for f in FIGURES if getattr(data.totals, f.name) is not None]
    rows = []
    for entry in data.by_store:
        rows.append({"store_id": entry.store_id, "name": entry.store_name,
                     "cells": [{"value": getattr(entry.figures, f.name), "href": f.link(entry.store_id),
                                "alert": bool(getattr(entry.figures, f.name)) and f.tone == "warn"}
                               for f in shown]})
    return {"headers": [f.title for f in shown], "rows": rows}


def _chart(labels: list[str], datasets: list[dict]) -> str:
    return json.dumps({"labels": labels, "datasets": datasets})


CHART_OPTIONS = json.dumps({
    "animation": False, "responsive": True, "maintainAspectRatio": False,
    "plugins": {"legend": {"display": True, "position": "top", "align": "end",
                           "labels": {"boxWidth": 8, "boxHeight": 8, "usePointStyle": True, "color": "#9ca3af"}}},
    "scales": {"x": {"stacked": True, "grid": {"display": False}, "ticks": {"color": "#9ca3af", "maxTicksLimit": 10}},
               "y": {"stacked": True, "beginAtZero": True, "ticks": {"precision": 0, "color": "#9ca3af"}}},
})


def _label(day) -> str:
    return formats.date_format(day, "j M")


def _charts(data: DashboardFigures) -> dict:
    charts = {}
    if data.orders_per_day is not None:
        charts["orders"] = _chart([_label(d.day) for d in data.orders_per_day], [
            {"label": "Orders", "data": [d.count for d in data.orders_per_day],
             "backgroundColor": "var(--color-primary-600)", "borderRadius": 3, "maxBarThickness": 18}])
        charts["orders_total"] = sum(d.count for d in data.orders_per_day)
    if data.syncs_per_day is not None:
        days = data.syncs_per_day
        charts["syncs"] = _chart([_label(d.day) for d in days], [
            {"label": "Succeeded", "data": [d.succeeded for d in days], "backgroundColor": "#1e8e3e",
             "maxBarThickness": 18},
            {"label": "Succeeded with errors", "data": [d.partial for d in days], "backgroundColor": "#f29900",
             "maxBarThickness": 18},
            {"label": "Failed", "data": [d.failed for d in days], "backgroundColor": "#d93025",
             "maxBarThickness": 18}])
    return charts


PICKER_TABS = 6  # up to this many stores the picker is a row of tabs, beyond it a drop-down


def selected_store(request) -> int | None:
    """The ``?store=`` of the page: a whole number, else a 404 (as for any store the user may not see)."""
    raw = request.GET.get("store", "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise Http404("No such store.")
    return int(raw)


def dashboard_callback(request, context: dict) -> dict:
    try:
        data = dashboard_figures(user=request.user, store=selected_store(request))
    except StoreNotVisible:
        raise Http404("No such store among yours.") from None
    store_name = {s.id: s.name for s in data.stores}.get(data.store_id)
    picker = [{"id": "", "title": "All stores", "link": reverse("admin:index"), "active": data.store_id is None}] + [
        {"id": s.id, "title": s.name, "link": f"{reverse('admin:index')}?store={s.id}", "active": s.id == data.store_id}
        for s in data.stores]
    context.update({
        "title": "Dashboard",
        "subtitle": store_name,
        "dashboard": data,
        "dashboard_store_name": store_name,
        "dashboard_groups": [g for g in (
            {"title": "Orders", "cards": _cards(data.totals, data.store_id, ORDER_FIGURES)},
            {"title": "Stock, prices and syncs", "cards": _cards(data.totals, data.store_id, OTHER_FIGURES)},
            {"title": "After-sales", "cards": _cards(data.totals, data.store_id, AFTERSALES_FIGURES)},
        ) if g["cards"]],
        "dashboard_picker": picker if len(data.stores) > 1 else [],
        "dashboard_picker_tabs": len(data.stores) <= PICKER_TABS,
        "dashboard_by_store": _store_rows(data) if data.store_id is None and len(data.stores) > 1 else None,
        "dashboard_charts": _charts(data),
        "dashboard_chart_options": CHART_OPTIONS,
        "dashboard_recent_syncs": data.recent_syncs,
        "dashboard_sync_headers": ["Run", "Store", "Kind", "Outcome", "Started", "Finished", "Errors"],
        "dashboard_api": reverse("dashboard-api") + (f"?store={data.store_id}" if data.store_id else ""),
        "dashboard_ship_within": SHIP_WITHIN_DAYS,
    })
    return context
