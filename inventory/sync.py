"""Sync Stock by hand (and the daily full push): send the current sellable quantity and price of every product
again, in batches, and report what changed on FNAC and what was rejected."""

from __future__ import annotations

import time
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from catalogue.models import Product
from fnac_connector.errors import Conflict, InvalidInput
from fnac_connector.tasks import enqueue
from inventory import push
from inventory.outbox import record_changes
from stores.models import Store, SyncRun
from stores.syncs import LockBusy, lock_acquire, lock_held, run_create, sync_run

LOCK_WAIT_SECONDS = 120


def _targets(store: Store, *, skus: Sequence[str] | None,
             product_ids: Sequence[int] | None) -> tuple[list[int], list[str]]:
    """(product ids, unknown SKUs). Without a selection: every active product of the store."""
    qs = Product.objects.filter(store=store)
    unknown: list[str] = []
    if skus:
        wanted = list(dict.fromkeys(s.strip() for s in skus if s and s.strip()))
        found = dict(qs.filter(sku__in=wanted).values_list("sku", "id"))
        unknown = [s for s in wanted if s not in found]
        return sorted(found.values()), unknown
    if product_ids is not None:
        return sorted(qs.filter(pk__in=list(product_ids)).values_list("id", flat=True)), []
    return list(qs.filter(is_active=True).order_by("id").values_list("id", flat=True)), []


def _acquire(store: Store, wait: float) -> str:
    deadline = time.monotonic() + wait
    while True:
        try:
            return lock_acquire(store=store, name=push.LOCK_NAME, ttl=push.lease())
        except LockBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def stock_sync(*, store: Store, skus: Sequence[str] | None = None, product_ids: Sequence[int] | None = None,
               trigger: str = "admin", run: SyncRun | None = None, client=None,
               lock_wait: float = LOCK_WAIT_SECONDS) -> SyncRun:
    """Push the current sellable quantity (and price) of the store's active products, or of the given SKUs /
    products, even when FNAC was already told these values. Recorded as a STOCK_SYNC run: counts, what changed
    on FNAC in the message, each rejected SKU as an issue."""
    with sync_run(store=store, kind=SyncRun.Kind.STOCK_SYNC, trigger=trigger, run=run,
                  params={"skus": list(skus or [])[:100]}) as rec:
        store = Store.objects.get(pk=store.pk)
        if not store.is_connected:
            raise Conflict(f"store {store.name!r} is not connected")
        ids, unknown = _targets(store, skus=skus, product_ids=product_ids)
        for sku in unknown:
            rec.issue("unknown_sku", f"no product with SKU {sku} in store {store.name}", reference=sku)
        rec.set_total(len(ids))
        if not (store.sync_stock_enabled or store.sync_prices_enabled):
            rec.note("Stock push and price push are both switched off for this store: nothing sent.")
            return rec.run
        token = _acquire(store, lock_wait)
        report = push.DrainReport()
        with lock_held(store=store, name=push.LOCK_NAME, token=token, ttl=push.lease()):
            with transaction.atomic():
                record_changes(store_id=store.pk, product_ids=ids, reason=f"sync_stock_{trigger}"[:60], force=True)
            while True:  # send, then follow every batch to its end (the in-flight bound may stop a send)
                report.waited_for_room = False
                push._drain_locked(store, report, client=client, rec=rec, ignore_backoff=True, sleep=time.sleep,
                                   wake_follow=False)
                if not report.error:
                    push._follow_to_the_end(store, report, client=client, sleep=time.sleep)
                if report.error or not report.waited_for_room:
                    break
        push._report_to_run(rec, report)
        notes = []
        if not store.sync_stock_enabled:
            notes.append("Stock push is switched off for this store: prices only.")
        if not store.sync_prices_enabled:
            notes.append("Price push is switched off for this store: quantities only.")
        if notes:
            rec.note("\n".join([rec.run.message, *notes]).strip())
    # anything changed meanwhile goes out through the normal drain
    push.drain_soon(store.pk)
    return rec.run


def stock_sync_request(*, store: Store, skus: Sequence[str] | None = None, product_ids: Sequence[int] | None = None,
                       trigger: str = "admin") -> SyncRun:
    """Queue a Sync Stock (doors answer at once with the run id; a worker does the work)."""
    if not store.is_connected:
        raise Conflict(f"store {store.name!r} is not connected: connect it before syncing stock")
    if skus is not None and not [s for s in skus if s and s.strip()]:
        raise InvalidInput("give at least one SKU", details={"skus": ["empty"]})
    with transaction.atomic():
        run = run_create(store=store, kind=SyncRun.Kind.STOCK_SYNC, trigger=trigger,
                         params={"skus": list(skus or [])[:100], "products": len(product_ids or []),
                                 "requested_at": timezone.now().isoformat()})
        enqueue("inventory.tasks.stock_sync_task", store.pk, run_id=run.pk, skus=list(skus) if skus else None,
                product_ids=list(product_ids) if product_ids is not None else None, trigger=trigger,
                task_name=f"stock sync {store.pk}")
    return run
