# The roles of fulfilment/migrations/0002_roles.py get the claims permissions (issue 15): every role sees claims and
# refunds; the store manager refunds lines. Idempotent, removes nothing.

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Read-only": ["claims.view_claim", "claims.view_linerefund"],
    "Warehouse": ["claims.view_claim", "claims.view_linerefund"],
    "Store manager": ["claims.view_claim", "claims.view_linerefund", "claims.refund_lines"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("claims")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, dotted in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*[Permission.objects.get(content_type__app_label=app, codename=codename)
                                for app, codename in (d.split(".") for d in dotted)])


class Migration(migrations.Migration):

    dependencies = [
        ("claims", "0001_initial"),
        ("fulfilment", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
