"""Send the pending deliveries to a store's WMS now (what the periodic job does every minute)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fulfilment.models import WmsDelivery
from fulfilment.services import wms_configured, wms_deliveries_drain
from stores.models import Store


class Command(BaseCommand):
    help = "Send due WMS deliveries of a store (--all: also the ones waiting for their backoff)."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="store id")
        parser.add_argument("--all", action="store_true", help="ignore the backoff: try every pending delivery")

    def handle(self, *args, **opts):
        store = Store.objects.filter(pk=opts["store"]).first()
        if store is None:
            raise CommandError(f"no store with id {opts['store']}")
        if not wms_configured(store):
            raise CommandError(f"store {store.name!r} has no WMS (wms_enabled and wms_webhook_url)")
        if opts["all"]:
            from django.utils import timezone

            WmsDelivery.objects.filter(store=store, state=WmsDelivery.State.PENDING).update(
                next_attempt_at=timezone.now())
        counts = wms_deliveries_drain(store=store, trigger="command")
        pending = WmsDelivery.objects.filter(store=store, state=WmsDelivery.State.PENDING).count()
        self.stdout.write(f"delivered {counts['delivered']}, failed {counts['failed']}, still pending {pending}")
