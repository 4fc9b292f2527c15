"""The one place where domain apps plug into a store's life cycle.

Each app registers, in its AppConfig.ready():
- ``on_connect(func)``: ``func(store, trigger)`` runs after a successful connect has committed
  (initial imports; it should enqueue, not do the work inline);
- ``schedule(ScheduleSpec(...))``: a periodic django-q job per connected store, created idempotently on
  connect and removed on disconnect;
- ``global_schedule(GlobalScheduleSpec(...))``: a periodic django-q job for the whole installation (not per
  store), created or updated idempotently after every ``migrate`` (``post_migrate``) and on each connect.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

_connect_hooks: list[Callable] = []
_schedules: dict[str, ScheduleSpec] = {}
_global_schedules: dict[str, GlobalScheduleSpec] = {}


@dataclass(frozen=True)
class ScheduleSpec:
    job: str  # short name, unique: "orders_new", "orders_status", "catalogue_refresh"...
    func: str  # dotted path of the django-q task, called with store_id as its only argument
    minutes: Callable  # store -> interval in minutes
    enabled: Callable = lambda store: True  # store -> bool
    label: str = ""


@dataclass(frozen=True)
class GlobalScheduleSpec:
    job: str  # short name, unique: "runs_mark_stale"...
    func: str  # dotted path of the django-q task, called without arguments
    minutes: Callable  # () -> interval in minutes
    label: str = ""


def on_connect(func: Callable) -> Callable:
    if func not in _connect_hooks:
        _connect_hooks.append(func)
    return func


def schedule(spec: ScheduleSpec) -> ScheduleSpec:
    _schedules[spec.job] = spec
    return spec


def global_schedule(spec: GlobalScheduleSpec) -> GlobalScheduleSpec:
    _global_schedules[spec.job] = spec
    return spec


def global_schedule_specs() -> list[GlobalScheduleSpec]:
    return list(_global_schedules.values())


def global_schedule_name(job: str) -> str:
    return f"global:{job}"


def connect_hooks() -> list[Callable]:
    return list(_connect_hooks)


def schedule_specs() -> list[ScheduleSpec]:
    return list(_schedules.values())


def schedule_name(store_id: int, job: str) -> str:
    return f"store:{store_id}:{job}"


# ---------------------------------------------------------------- offers to push (stores, catalogue -> inventory)
# Inventory owns what is pushed to FNAC and registers both functions in its AppConfig.ready(); the lower apps call
# them without importing inventory.
_offers_changed: Callable | None = None
_price_stock_writer: Callable | None = None


def on_offers_changed(func: Callable) -> Callable:
    """Register ``func(*, store_id, product_ids, reason)``: record, in the caller's transaction, that these
    products (``None``: every active product of the store) must be pushed to FNAC again."""
    global _offers_changed
    _offers_changed = func
    return func


def offers_changed(*, store_id: int, product_ids: Iterable[int] | None, reason: str) -> None:
    _registered(_offers_changed, "on_offers_changed")(store_id=store_id, product_ids=product_ids, reason=reason)


def on_price_stock_write(func: Callable) -> Callable:
    """Register ``func(*, product, price, sale_price, quantity, source)``: an OMS edit of a product's price, sale
    price (``None``: unchanged) or stock on hand, validated, recorded and pushed."""
    global _price_stock_writer
    _price_stock_writer = func
    return func


def price_stock_write(*, product, price=None, sale_price=None, quantity: int | None = None, source: str) -> None:
    _registered(_price_stock_writer, "on_price_stock_write")(product=product, price=price, sale_price=sale_price,
                                                             quantity=quantity, source=source)


def _registered(func: Callable | None, name: str) -> Callable:
    if func is None:
        raise RuntimeError(f"no app registered stores.hooks.{name} (the inventory app is not installed)")
    return func


# ---------------------------------------------------------------- admin extension points
# Every app registers its store actions and buttons here, from its AppConfig.ready() (and order actions and
# inlines in ``orders.hooks``), never by a side effect of importing a module.
_admin_actions: list[Callable] = []
_store_buttons: list[tuple[str, Callable, str | None]] = []
SYNC_PERMISSION = "stores.sync_store"


def store_admin_action(func: Callable) -> Callable:
    """Add an admin action (a function decorated with @admin.action) to the store list."""
    if func not in _admin_actions:
        _admin_actions.append(func)
    return func


def store_button(label: str, url: Callable, *, permission: str | None = SYNC_PERMISSION) -> None:
    """Add a button on the store page; ``url(store) -> str`` (a page that confirms, then starts the job). It is
    shown only to users with ``permission`` (by default stores.sync_store, what starting a sync needs; None:
    everyone who sees the store, the page behind it checks its own). One button per label, so registering again
    (AppConfig.ready() run twice) changes nothing."""
    if not any(known == label for known, _, _ in _store_buttons):
        _store_buttons.append((label, url, permission))


def store_admin_actions() -> list[Callable]:
    return list(_admin_actions)


def store_button_specs() -> list[tuple[str, Callable, str | None]]:
    """(label, url, permission) of every store-page button."""
    return list(_store_buttons)


# ---------------------------------------------------------------- FNAC's carrier list (fulfilment -> store page)
_carrier_choices: Callable | None = None


def on_carrier_choices(func: Callable) -> Callable:
    """Register ``func(store) -> [(code, label)]``: the carrier codes FNAC lists for the store (fulfilment loads
    them); the store page offers them as a drop-down for the default carrier instead of free text."""
    global _carrier_choices
    _carrier_choices = func
    return func


def carrier_choices(store) -> list[tuple[str, str]]:
    """FNAC's carriers for ``store`` as (code, label), or [] when none are loaded (or no app provides them)."""
    if _carrier_choices is None or store is None or not getattr(store, "pk", None):
        return []
    return list(_carrier_choices(store))


# ---------------------------------------------------------------- stock arrived (lower layers -> orders)
_stock_arrived_hooks: list[Callable] = []


def on_stock_arrived(func: Callable) -> Callable:
    """Subscribe ``func(store, product_ids) -> dict[str, int]`` to stock arrivals (``product_ids`` None: any
    product of the store may have changed, e.g. after a catalogue import). It returns counts for the run."""
    if func not in _stock_arrived_hooks:
        _stock_arrived_hooks.append(func)
    return func


def stock_arrived(*, store, product_ids=None) -> dict[str, int]:
    """Tell the subscribers (orders: promote waiting orders) that stock arrived; their counts, merged."""
    counts: dict[str, int] = {}
    for func in list(_stock_arrived_hooks):
        for key, value in (func(store, product_ids) or {}).items():
            counts[key] = counts.get(key, 0) + value
    return counts


# ---------------------------------------------------------------- product page panels (issue 16)
# A higher app (pricing) shows a panel on the catalogue's product page without the catalogue importing it:
# ``func(request, product) -> str`` returns safe HTML ("" to show nothing).
_product_panels: list[Callable] = []


def product_panel(func: Callable) -> Callable:
    if func not in _product_panels:
        _product_panels.append(func)
    return func


def product_panels(request, product) -> list[str]:
    return [html for html in (func(request, product) for func in _product_panels) if html]
# ---------------------------------------------------------------- figures on the store page (upper apps -> stores)
_store_figures: dict[str, Callable] = {}


def store_figure(label: str, func: Callable) -> None:
    """Show ``label: func(store)`` at the top of the store page (e.g. the inbox's overdue buyer messages);
    ``func`` returns what to show (text or safe HTML). One figure per label."""
    _store_figures[label] = func


def store_figures() -> list[tuple[str, Callable]]:
    return list(_store_figures.items())
