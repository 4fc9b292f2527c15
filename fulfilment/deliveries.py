"""Messages to the store's WMS webhook: recorded first, sent after commit, retried with backoff until a 2xx.

Nothing is lost while the WMS is down: every message is a ``WmsDelivery`` row that stays pending; the first
attempt runs right after the transaction that created it commits, and the periodic ``wms_deliveries``
job (every minute for stores with a WMS) drains whatever is due. Each message carries its idempotency key
(``X-Delivery-Id`` and ``delivery_id``) so a message delivered twice is recognisable by the WMS.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from fnac_connector.tasks import enqueue
from fulfilment.models import Shipment, WmsDelivery
from fulfilment.signing import SIGNATURE_HEADER, STORE_HEADER, label_url, signature_for
from orders.models import Order
from stores.endpoints import WMS, resolved_problem, url_problem
from stores.models import Store, SyncRun
from stores.syncs import LockBusy, store_lock, sync_run

log = logging.getLogger(__name__)

_acknowledged: dict[str, list[Callable]] = {}


def on_acknowledged(kind: str, handler: Callable) -> Callable:
    """Call ``handler(delivery)`` when the WMS acknowledges a delivery of ``kind`` (a 2xx answer), e.g. the
    cancellation use case ends the order Cancelled by seller. Registered in ``FulfilmentConfig.ready()``."""
    handlers = _acknowledged.setdefault(kind, [])
    if handler not in handlers:
        handlers.append(handler)
    return handler

# a claimed delivery is not taken by another worker for this long (the HTTP call has timeouts well below it)
CLAIM_LEASE = dt.timedelta(seconds=120)
MAX_CONSECUTIVE_FAILURES = 3  # a drain stops early when the WMS is clearly down


def _timeout() -> tuple[float, float]:
    return getattr(settings, "WMS_TIMEOUT", (3.0, 10.0))


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min ... capped at one hour (settings WMS_RETRY_BASE_SECONDS / _MAX_SECONDS)."""
    base = getattr(settings, "WMS_RETRY_BASE_SECONDS", 30)
    cap = getattr(settings, "WMS_RETRY_MAX_SECONDS", 3600)
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def wms_configured(store: Store) -> bool:
    return bool(store.wms_enabled and store.wms_webhook_url)


# ---------------------------------------------------------------- what is sent
def shipment_payload(shipment: Shipment) -> dict:
    order = shipment.order
    lines = [{"order_detail_id": sl.order_line.order_detail_id, "sku": sl.order_line.sku, "quantity": sl.quantity,
              "nb_products_to_take_back": sl.order_line.nb_products_to_take_back}
             for sl in shipment.lines.select_related("order_line").filter(cancelled=False)]
    return {
        "store_id": shipment.store_id, "order_id": order.marketplace_order_id, "oms_order_id": order.pk,
        "shipment": {
            "id": shipment.pk, "awb": shipment.awb, "tracking_number": shipment.tracking_number,
            "carrier_code": shipment.carrier_code, "tracking_url": shipment.tracking_url,
            "label_url": label_url(shipment.pk) if shipment.has_label else None,
            "shipping_mode": shipment.shipping_mode, "source": shipment.source,
            "weight_kg": str(shipment.weight_kg) if shipment.weight_kg is not None else None,
            "lines": lines,
        },
    }


def order_payload(order: Order) -> dict:
    lines = [{"order_detail_id": line.order_detail_id, "sku": line.sku, "quantity": line.quantity,
              "product_name": line.product_name, "state": line.state,
              "nb_products_to_take_back": line.nb_products_to_take_back} for line in order.lines.all()]
    return {"store_id": order.store_id, "order_id": order.marketplace_order_id, "oms_order_id": order.pk,
            "status": order.status, "shipping_address": order.shipping_address, "lines": lines}


# ---------------------------------------------------------------- recording
def wms_delivery_create(*, store: Store, kind: str, key: str, payload: dict, order: Order | None = None,
                        shipment: Shipment | None = None) -> WmsDelivery | None:
    """Record a message for the WMS (once per key) and send it after commit. None when the store has no WMS."""
    if not wms_configured(store):
        return None
    delivery, created = WmsDelivery.objects.get_or_create(
        store=store, key=key[:100],
        defaults=dict(kind=kind, payload=payload, order=order, shipment=shipment, next_attempt_at=timezone.now()))
    if created:
        enqueue("fulfilment.tasks.wms_delivery_task", delivery.pk, group=f"store:{store.pk}:wms",
                task_name=f"wms delivery {delivery.pk}")
    return delivery


# ---------------------------------------------------------------- sending
def _claim(delivery_id: int, now: dt.datetime, force: bool) -> bool:
    qs = WmsDelivery.objects.filter(pk=delivery_id, state=WmsDelivery.State.PENDING)
    if not force:
        qs = qs.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    return bool(qs.update(next_attempt_at=now + CLAIM_LEASE))


def wms_delivery_send(*, delivery: WmsDelivery, force: bool = False, now: dt.datetime | None = None,
                      session: requests.Session | None = None) -> bool:
    """One attempt. True when the WMS acknowledged (2xx). A delivery not due yet (or taken by another worker)
    is left alone unless ``force``."""
    now = now or timezone.now()
    if not _claim(delivery.pk, now, force):
        delivery.refresh_from_db()
        return delivery.state == WmsDelivery.State.DELIVERED
    delivery = WmsDelivery.objects.select_related("store").get(pk=delivery.pk)
    store = delivery.store
    body = json.dumps({"type": delivery.kind, "delivery_id": delivery.key, **delivery.payload,
                       "attempt": delivery.attempts + 1, "sent_at": timezone.now().isoformat()},
                      separators=(",", ":"), sort_keys=True, default=str).encode()
    headers = {"Content-Type": "application/json", STORE_HEADER: str(store.pk), "X-Delivery-Id": delivery.key,
               "X-Event-Type": delivery.kind, SIGNATURE_HEADER: signature_for(store.wms_secret, body)}
    status, error = None, _not_sendable(store)
    try:
        if not error:
            # streamed: only the start of the WMS's answer is read, whatever its size
            with (session or requests).post(store.wms_webhook_url, data=body, headers=headers,
                                            timeout=_timeout(), stream=True) as response:
                status = response.status_code
                if not 200 <= status < 300:
                    head = next(response.iter_content(1024), b"") or b""
                    error = f"HTTP {status}: {head[:300].decode('utf-8', 'replace')}"
    except requests.RequestException as exc:
        error = f"{exc.__class__.__name__}: {str(exc)[:300]}"
    ok = status is not None and 200 <= status < 300
    attempts = delivery.attempts + 1
    finished = timezone.now()
    fields = dict(attempts=attempts, last_attempt_at=finished, last_status_code=status, last_error=error)
    if ok:
        fields.update(state=WmsDelivery.State.DELIVERED, delivered_at=finished, next_attempt_at=None)
    else:
        fields.update(next_attempt_at=max(finished, now) + backoff(attempts))
        log.info("WMS delivery %s to store %s failed (attempt %s): %s", delivery.pk, store.pk, attempts, error)
    WmsDelivery.objects.filter(pk=delivery.pk).update(**fields)
    for key, value in fields.items():
        setattr(delivery, key, value)
    if ok:
        for handler in _acknowledged.get(delivery.kind, ()):
            handler(delivery)
    return ok


def _not_sendable(store: Store) -> str:
    """Why a message may not go to the store's webhook now (checked right before each call), or ""."""
    problem = url_problem(store.wms_webhook_url, kind=WMS) if store.wms_webhook_url else "is not set"
    problem = problem or resolved_problem(store.wms_webhook_url, kind=WMS)
    if problem:
        return f"Not sent: the WMS webhook URL {problem}. Fix it in the store settings (and enter the secret again)."
    if not store.wms_secret:
        return ("Not sent: the store has no WMS secret (it is cleared when the webhook URL changes): enter it in the "
                "store settings.")
    return ""


def wms_deliveries_due(*, store: Store, now: dt.datetime | None = None):
    now = now or timezone.now()
    return WmsDelivery.objects.filter(store=store, state=WmsDelivery.State.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)).order_by("id")


def wms_deliveries_drain(*, store: Store, now: dt.datetime | None = None, trigger: str = "schedule",
                         limit: int = 500) -> dict[str, int]:
    """Send every due pending delivery of the store, oldest first. Records a sync run when there was work."""
    counts = {"delivered": 0, "failed": 0}
    if not wms_configured(store):
        return counts
    due = list(wms_deliveries_due(store=store, now=now)[:limit])
    if not due:
        return counts
    try:
        with store_lock(store=store, name="wms_delivery"), \
                sync_run(store=store, kind=SyncRun.Kind.WMS_DELIVERY, trigger=trigger) as rec:
            rec.set_total(len(due))
            consecutive = 0
            with requests.Session() as session:
                for delivery in due:
                    ok = wms_delivery_send(delivery=delivery, now=now, session=session)
                    counts["delivered" if ok else "failed"] += 1
                    if not ok:
                        rec.issue("wms_delivery_failed", f"Delivery {delivery.key}: {delivery.last_error}",
                                  reference=delivery.key)
                    consecutive = 0 if ok else consecutive + 1
                    rec.advance(1)
                    if consecutive >= MAX_CONSECUTIVE_FAILURES:
                        rec.note("The WMS keeps failing: the remaining deliveries wait for the next run.")
                        break
            rec.advance(0, counts={k: v for k, v in counts.items() if v})
    except LockBusy:
        log.info("WMS deliveries of store %s are being sent by another worker", store.pk)
    return counts


def wms_delivery_retry_now(*, delivery: WmsDelivery) -> bool:
    """The admin/API "retry now": one forced attempt of a pending delivery."""
    if delivery.state == WmsDelivery.State.DELIVERED:
        return True
    with transaction.atomic():
        WmsDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    return wms_delivery_send(delivery=delivery, force=True)
