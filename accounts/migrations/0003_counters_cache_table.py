"""The table of the "counters" cache (settings.COUNTERS_CACHE_TABLE): counts that must hold across processes when
there is no Redis, such as the bad API tokens per client address. Created here so every ``migrate`` (make demo,
make serve, the Procfile's release, the tests) has it, whatever the cache settings are at that moment."""

from django.conf import settings
from django.core.management import call_command
from django.db import migrations


def create_table(apps, schema_editor):
    call_command("createcachetable", settings.COUNTERS_CACHE_TABLE, database=schema_editor.connection.alias,
                 verbosity=0)


def drop_table(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(settings.COUNTERS_CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_hash_legacy_drf_tokens")]

    operations = [migrations.RunPython(create_table, drop_table)]
