from django.core.management.base import BaseCommand

from stores.models import Store


class Command(BaseCommand):
    help = "List stores with their connection status (secrets masked)."

    def handle(self, *args, **opts):
        for s in Store.objects.order_by("pk"):
            self.stdout.write(f"{s.pk}\t{s.name}\t{s.status}\tshop={s.shop_id}\tkey={s.fnac_key_masked or '-'}"
                              f"\t{s.last_error[:80]}")
