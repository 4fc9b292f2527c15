"""Move API tokens from DRF's authtoken table (plaintext keys) to knox's (SHA-512 digests, with an expiry).

A deployment that had ``rest_framework.authtoken`` keeps its clients working with the keys they hold: each key
becomes a knox token whose digest is the key's hash and whose expiry is API_TOKEN_TTL_DAYS from now; the
plaintext rows are then deleted. Nothing happens on a database that never had the table.
"""

from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings

LEGACY_TABLE = "authtoken_token"


def hash_legacy_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    table, key, user_id = (schema_editor.quote_name(name) for name in (LEGACY_TABLE, "key", "user_id"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key}, {user_id} FROM {table}")  # noqa: S608 - fixed names, no input
        rows = cursor.fetchall()
    AuthToken = apps.get_model("knox", "AuthToken")
    expiry = timezone.now() + knox_settings.TOKEN_TTL
    AuthToken.objects.bulk_create([
        AuthToken(digest=hash_token(raw), token_key=raw[:CONSTANTS.TOKEN_KEY_LENGTH], user_id=uid, expiry=expiry)
        for raw, uid in rows
    ], ignore_conflicts=True)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed name


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0001_api_token"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunPython(hash_legacy_tokens, migrations.RunPython.noop),
    ]
