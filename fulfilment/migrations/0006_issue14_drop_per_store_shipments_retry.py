"""Issue 14: the shipment-confirmation retry is one global job (``global:shipments_retry_sweep``, created after
migrate) that queues a retry only for the stores with a failed confirmation; the per-store
``store:<id>:shipments_retry`` schedules it replaces are removed (200 stores queued 200 mostly empty tasks every
10 minutes, in the way of the 5-minute order syncs)."""

import re

from django.db import migrations

PER_STORE_RETRY = re.compile(r"^store:\d+:shipments_retry$")


def drop_per_store_retries(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    names = [n for n in Schedule.objects.filter(name__startswith="store:", name__endswith=":shipments_retry")
             .values_list("name", flat=True) if PER_STORE_RETRY.match(n)]
    Schedule.objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("fulfilment", "0005_issue13_tracking"),
        ("django_q", "0001_initial"),
    ]

    operations = [migrations.RunPython(drop_per_store_retries, migrations.RunPython.noop)]
