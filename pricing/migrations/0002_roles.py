# Competitive pricing in the usual roles (issue 16; the roles come from fulfilment/migrations/0002_roles.py).
# Idempotent: running it again adds nothing twice and removes nothing an administrator granted since.

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWS = ["view_competition", "view_repricingrule", "view_repricelog"]
ROLES = {
    "Read-only": [],
    "Warehouse": [],
    # no delete_: the roles never delete (a manager switches a rule off; a superuser deletes it)
    "Store manager": ["watch_prices", "reprice", "add_repricingrule", "change_repricingrule"],
}


def add_pricing_to_roles(apps, schema_editor):
    app_config = apps.get_app_config("pricing")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, extra in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="pricing",
                                                         codename__in=VIEWS + extra))


class Migration(migrations.Migration):

    dependencies = [
        ("pricing", "0001_initial"),
        ("fulfilment", "0002_roles"),
    ]

    operations = [
        migrations.RunPython(add_pricing_to_roles, migrations.RunPython.noop),
    ]
