# The usual roles as groups (issue 9). Idempotent: running it again adds nothing twice and removes nothing an
# administrator granted since. Lives in the top app because it grants permissions of every app.

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ["stores", "catalogue", "orders", "inventory", "fulfilment"]

# beyond every view_* permission of APPS (which every role has)
ROLES = {
    "Read-only": [],
    "Warehouse": [
        "orders.ship_order",  # release, Ready to Ship, ship with details, retry confirmation, labels
        "catalogue.adjust_stock",  # stock counts and adjustments
        "fulfilment.change_wmsdelivery",  # retry WMS deliveries
    ],
    "Store manager": [
        "stores.add_store", "stores.change_store", "stores.connect_store", "stores.change_store_credentials",
        "stores.sync_store",
        "catalogue.add_product", "catalogue.change_product", "catalogue.publish_product", "catalogue.adjust_stock",
        "catalogue.change_price",
        "orders.change_order", "orders.accept_order", "orders.ship_order", "orders.cancel_order",
        "fulfilment.change_wmsdelivery",
    ],
}


def create_roles(apps, schema_editor):
    for label in APPS:  # permissions are normally created after migrate; the groups need them now
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps, using=schema_editor.connection.alias)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    views = Permission.objects.filter(content_type__app_label__in=APPS, codename__startswith="view_")
    for name, extra in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = list(views)
        for dotted in extra:
            app_label, codename = dotted.split(".")
            perms.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.add(*perms)


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("stores", "0003_store_permissions"),
        ("catalogue", "0004_product_permissions"),
        ("orders", "0003_order_permissions"),
        ("inventory", "0001_initial"),
        ("fulfilment", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_roles, migrations.RunPython.noop),
    ]
