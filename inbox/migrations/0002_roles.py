# The inbox's permissions in the usual roles (fulfilment/migrations/0002_roles.py made the groups): every role reads
# buyer messages and order comments; the store manager also marks, archives and replies. Idempotent.

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = ["inbox.view_message", "inbox.view_ordercomment"]
ROLES = {
    "Read-only": VIEW,
    "Warehouse": VIEW,
    "Store manager": [*VIEW, "inbox.change_message", "inbox.reply_message"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("inbox")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(Permission.objects.get(content_type__app_label="inbox", codename=p.split(".")[1])
                                for p in perms))


class Migration(migrations.Migration):

    dependencies = [
        ("inbox", "0001_initial"),
        ("fulfilment", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
