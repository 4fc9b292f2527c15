"""Migration stores.0006 on a database that already holds two stores on one Shop ID (the defect): the oldest keeps
the shop, the other is disconnected with its Shop ID cleared and the reason written on it; then the constraint."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("stores", "0005_store_carrier_adapter_default")]
AFTER = [("stores", "0006_store_shop_id_unique")]
DJANGO_Q = ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")


@pytest.mark.django_db(transaction=True)
def test_existing_duplicates_are_parked_before_the_constraint():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old_apps = executor.loader.project_state([*BEFORE, DJANGO_Q]).apps
        Store = old_apps.get_model("stores", "Store")
        Schedule = old_apps.get_model("django_q", "Schedule")
        first = Store.objects.create(name="First", partner_id="p", shop_id="abc-shop", status="connected")
        twin = Store.objects.create(name="Twin", partner_id="p", shop_id="ABC-SHOP", status="connected")
        other = Store.objects.create(name="Other", partner_id="p", shop_id="other-shop", status="connected")
        Schedule.objects.create(name=f"store:{twin.pk}:orders_new", func="x", schedule_type="I", minutes=5)
        Schedule.objects.create(name=f"store:{first.pk}:orders_new", func="x", schedule_type="I", minutes=5)

        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(AFTER)
        new_apps = executor.loader.project_state(AFTER).apps
        Store = new_apps.get_model("stores", "Store")
        Schedule = new_apps.get_model("django_q", "Schedule")
        kept, parked, untouched = (Store.objects.get(pk=s.pk) for s in (first, twin, other))
        assert (kept.shop_id, kept.status) == ("abc-shop", "connected")
        assert (untouched.shop_id, untouched.status) == ("other-shop", "connected")
        assert (parked.shop_id, parked.status) == ("", "disconnected")
        assert parked.last_error.startswith("Shop ID ABC-SHOP is already connected as store 'First'")
        assert parked.disconnect_reason == parked.last_error
        assert list(Schedule.objects.filter(name__startswith="store:").values_list("name", flat=True)) == [
            f"store:{first.pk}:orders_new"]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
