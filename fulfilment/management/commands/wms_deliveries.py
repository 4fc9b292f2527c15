"""Send the pending deliveries to a store's WMS now (what the periodic job does every minute)."""

from __future__ import annotations

from django.core.management.base import CommandError

from fulfilment.models import WmsDelivery
from fulfilment.services import wms_configured, wms_deliveries_drain
from stores.management.base import StoreCommand


class Command(StoreCommand):
    help = "Send due WMS deliveries of a store (--all: also the ones waiting for their backoff)."

    def add_store_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="ignore the backoff: try every pending delivery")

    def handle(self, *args, **opts):
        store = self.get_store(opts)
        if not wms_configured(store):
            raise CommandError(f"store {store.name!r} has no WMS (wms_enabled and wms_webhook_url)")
        if opts["all"]:
            from django.utils import timezone

            WmsDelivery.objects.filter(store=store, state=WmsDelivery.State.PENDING).update(
                next_attempt_at=timezone.now())
        counts = wms_deliveries_drain(store=store, trigger="command")
        pending = WmsDelivery.objects.filter(store=store, state=WmsDelivery.State.PENDING).count()
        self.stdout.write(f"delivered {counts['delivered']}, failed {counts['failed']}, still pending {pending}")
