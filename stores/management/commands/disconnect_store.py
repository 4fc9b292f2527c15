from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from stores import services
from stores.models import Store


class Command(BaseCommand):
    help = "Disconnect a store: its periodic jobs stop; its data and keys are kept for a reconnect."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True)

    def handle(self, *args, **opts):
        store = Store.objects.filter(pk=opts["store"]).first()
        if store is None:
            raise CommandError(f"no store with id {opts['store']}")
        try:
            services.store_disconnect(store=store)
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"store {store.pk} disconnected")
