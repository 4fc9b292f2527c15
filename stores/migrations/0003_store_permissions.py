# Custom store permissions (issue 9): who may change where keys go, and who may start syncs.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('stores', '0002_syncrun_skipped'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='store',
            options={'ordering': ['name'], 'permissions': [('connect_store', 'Can connect and disconnect stores'), ('change_store_credentials', 'Can change store URLs, keys and secrets'), ('sync_store', 'Can start store syncs (catalogue, orders, stock, carriers)')]},
        ),
    ]
