"""Order syncs: the import from FNAC followed by promotion and automatic acceptance; queued syncs."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from fnac_connector.errors import Conflict, InvalidInput
from fnac_connector.marketplace.errors import TooManyPages
from fnac_connector.tasks import enqueue
from orders.acceptance import orders_auto_accept
from orders.importing import (
    LOCK_NAME,
    SyncMode,
    _Importer,
    _page_size,
    _Window,
    _window,
)
from orders.models import OrderStatus, OrderStatusChange
from orders.promotion import orders_promote_waiting
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import RunRecorder, cursor_set, lock_renew, locked_run, run_create, run_queued

log = logging.getLogger(__name__)

S = OrderStatus
Source = OrderStatusChange.Source


def _kind(mode: str) -> str:
    return SyncRun.Kind.ORDERS_STATUS if mode == SyncMode.STATUS else SyncRun.Kind.ORDERS_IMPORT


def _params(mode: str, since: dt.datetime | None) -> dict:
    return {"mode": mode, **({"since": since.isoformat()} if since else {})}


def orders_sync(*, store: Store, mode: str = SyncMode.MANUAL, since: dt.datetime | None = None,
                trigger: str = "", run: SyncRun | None = None, client=None) -> SyncRun:
    """Import orders from FNAC (new, changed or the 90-day window), then promote waiting orders and
    accept what the store's acceptance rule accepts. Raises LockBusy when another sync holds the store
    (the run is then recorded as skipped)."""
    if mode not in SyncMode.ALL:
        raise InvalidInput(f"unknown orders sync mode {mode!r}; use one of {', '.join(SyncMode.ALL)}")
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)
    with locked_run(store=store, kind=_kind(mode), lock_name=LOCK_NAME, trigger=trigger, run=run,
                    params=_params(mode, since)) as (rec, token):
        client = client or fnac_client_for(store)
        now = timezone.now()  # taken before fetching: the cursor never runs ahead of what was read
        window = _window(store, mode, since, now)
        rec.note(f"{window.date_type} since {window.since.isoformat(timespec='seconds')}")
        _import_window(store, window, rec=rec, client=client, token=token)
        # every page is committed: the window is covered
        for name in window.cursors:
            cursor_set(store=store, name=name, position=now)
        promoted = orders_promote_waiting(store=store)
        if promoted:
            rec.count("promoted_to_new", promoted)
        orders_auto_accept(store=store, rec=rec, client=client)
        rec.advance(0)
    return rec.run


def _import_window(store: Store, window: _Window, *, rec: RunRecorder, client, token: str) -> None:
    """Read the window page by page, each page committed on its own; the page cap keeps what was read."""
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


# ================================================================ queued syncs (what the doors start)
def orders_sync_request(*, store: Store, mode: str = SyncMode.MANUAL, since: dt.datetime | None = None,
                        trigger: str = "") -> SyncRun:
    """Queue an orders sync; the run row exists at once (doors answer with its id), the work runs in a worker."""
    if mode not in SyncMode.ALL:
        raise InvalidInput(f"unknown orders sync mode {mode!r}; use one of {', '.join(SyncMode.ALL)}")
    if not store.is_connected:
        raise Conflict(f"Store {store.name!r} is not connected (status: {store.get_status_display()}); "
                       "connect it before syncing orders.")
    with transaction.atomic():
        run = run_create(store=store, kind=_kind(mode), trigger=trigger, params=_params(mode, since))
        enqueue("orders.tasks.orders_sync_task", store.pk, mode=mode, since=since.isoformat() if since else None,
                run_id=run.pk, trigger=trigger, group=f"store:{store.pk}:orders",
                task_name=f"orders {mode} store {store.pk} run {run.pk}")
    return run


def orders_sync_task_run(*, store_id: int, mode: str = SyncMode.MANUAL, since: dt.datetime | None = None,
                         run_id: int | None = None, trigger: str = "task") -> int | None:
    """A queued orders sync, run by the shared queued-sync runner (``stores.syncs.run_queued``)."""
    return run_queued(store_id=store_id, run_id=run_id, what="orders sync", work=lambda store, run: orders_sync(
        store=store, mode=mode, since=since, trigger=trigger, run=run))
