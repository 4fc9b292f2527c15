"""Issue 14: the per-minute safety drain is one global job (``global:stock_push_sweep``, created after migrate);
the per-store ``store:<id>:stock_push`` schedules it replaces are removed (200 stores queued 200 drains a minute)."""

import re

from django.db import migrations

PER_STORE_DRAIN = re.compile(r"^store:\d+:stock_push$")


def drop_per_store_drains(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    names = [n for n in Schedule.objects.filter(name__startswith="store:", name__endswith=":stock_push")
             .values_list("name", flat=True) if PER_STORE_DRAIN.match(n)]
    Schedule.objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0002_alter_pushbatch_options_alter_stock_options"),
        ("django_q", "0001_initial"),
    ]

    operations = [migrations.RunPython(drop_per_store_drains, migrations.RunPython.noop)]
