"""Refresh a store's FNAC carrier list (carriers_query)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from fulfilment.services import carriers_for_store, carriers_refresh
from stores.models import Store


class Command(BaseCommand):
    help = "Read the carrier codes FNAC accepts (carriers_query) into the store's carrier table."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, required=True, help="store id")

    def handle(self, *args, **opts):
        store = Store.objects.filter(pk=opts["store"]).first()
        if store is None:
            raise CommandError(f"no store with id {opts['store']}")
        try:
            run = carriers_refresh(store=store, trigger="command")
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        codes = ", ".join(carriers_for_store(store).values_list("code", flat=True))
        self.stdout.write(f"run #{run.pk} {run.state}: {run.counts.get('carriers', 0)} carriers: {codes}")
