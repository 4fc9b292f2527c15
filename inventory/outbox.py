"""Entry point other apps call when a product's sellable quantity or price may have changed.

``record_change`` writes the durable outbox (``inventory.models.OfferChange``) in the caller's transaction and,
after that transaction commits, enqueues a drain of the store's outbox (``inventory.push``). If the enqueue or the
worker is lost, the rows stay pending and the per-minute safety drain pushes them.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalogue.models import Product
from inventory.models import OfferChange
from inventory.push import drain_soon

CHUNK = 2000


def record_change(*, store_id: int, product_ids: Iterable[int], reason: str = "") -> None:
    """Record, in the caller's transaction, that these products must be pushed to FNAC."""
    record_changes(store_id=store_id, product_ids=product_ids, reason=reason)


def record_changes(*, store_id: int, product_ids: Iterable[int], reason: str = "", force: bool = False) -> None:
    """``record_change`` with ``force``: push even if FNAC was already sent these values (Sync Stock)."""
    ids = sorted({int(pid) for pid in product_ids})
    if not ids:
        return
    now = timezone.now()
    reason = (reason or "")[:60]
    with transaction.atomic():
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            # insert the missing rows first (a concurrent insert of the same product is harmless), then bump every
            # row's version in one UPDATE: the bump is what makes the row pending, so it is never lost
            OfferChange.objects.bulk_create([OfferChange(store_id=store_id, product_id=pid) for pid in chunk],
                                            ignore_conflicts=True, batch_size=500)
            extra = {"force": True} if force else {}
            OfferChange.objects.filter(product_id__in=chunk).update(version=F("version") + 1, changed_at=now,
                                                                    reason=reason, **extra)
            Product.objects.filter(pk__in=chunk).exclude(push_state=Product.PushState.PENDING).update(
                push_state=Product.PushState.PENDING)
    drain_soon(store_id)
