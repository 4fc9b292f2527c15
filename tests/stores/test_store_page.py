"""Issue 11, the store page in the console: tabs, buttons by permission, Disconnect with a confirmation and a
reason, periodic jobs in local time, sync-run counts as a table, readable run list."""

from __future__ import annotations

import re
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from stores import hooks, services
from stores.models import Store, SyncRun

pytestmark = pytest.mark.django_db
PARIS = zoneinfo.ZoneInfo("Europe/Paris")


def staff_with(django_user_model, name, store, *perms):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", f"pw-{name}-123", is_staff=True)
    for dotted in perms:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    store.users.add(user)
    return user


def buttons(page) -> list[tuple[str, str]]:
    return [(b["title"], b["path"]) for b in page.context["actions_detail"]]


def test_store_page_has_the_four_tabs_and_no_long_inline(client, superuser, connected_store):
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_store_change", args=[connected_store.pk]))
    html = page.content.decode()
    tabs = [fs.name for fs in page.context["adminform"] if "tab" in fs.classes]
    assert tabs == ["Settings", "Shipping setup", "Syncs", "Jobs"]
    assert not page.context["inline_admin_formsets"]  # the runs are a table in the Syncs tab, not an inline
    assert "Latest runs" in html and "All runs of this store" in html


def test_superuser_gets_every_button_with_disconnect_last(client, superuser, connected_store):
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_store_change", args=[connected_store.pk]))
    got = buttons(page)
    titles = [title for title, _ in got]
    assert titles[0] == "Reconnect" and titles[-1] == "Disconnect"
    assert {"Sync Catalogue", "Sync Orders", "Sync Stock"} <= set(titles)
    # each sync button opens the same confirmation page (and service) as before
    urls = dict(got)
    for label, url, _permission in hooks.store_button_specs():
        assert urls[label] == url(connected_store)
    assert urls["Disconnect"] == reverse("admin:stores_store_disconnect", args=[connected_store.pk])


def test_a_user_without_connect_or_sync_permission_sees_no_such_button(client, django_user_model,
                                                                      connected_store):
    reader = staff_with(django_user_model, "reader", connected_store, "stores.view_store")
    client.force_login(reader)
    page = client.get(reverse("admin:stores_store_change", args=[connected_store.pk]))
    assert page.status_code == 200
    titles = [title for title, _ in buttons(page)]
    assert not {"Connect", "Reconnect", "Disconnect", "Sync Catalogue", "Sync Orders", "Sync Stock"} & set(titles)
    html = page.content.decode()
    assert reverse("admin:stores_store_connect", args=[connected_store.pk]) not in html
    assert reverse("admin:catalogue_product_sync_store", args=[connected_store.pk]) not in html
    listing = client.get(reverse("admin:stores_store_changelist")).content.decode()
    assert reverse("admin:stores_store_connect", args=[connected_store.pk]) not in listing


def test_sync_permission_without_connect_shows_the_syncs_only(client, django_user_model, connected_store):
    syncer = staff_with(django_user_model, "syncer", connected_store, "stores.view_store", "stores.sync_store")
    client.force_login(syncer)
    titles = [t for t, _ in buttons(client.get(reverse("admin:stores_store_change", args=[connected_store.pk])))]
    assert {"Sync Catalogue", "Sync Orders", "Sync Stock"} <= set(titles)
    assert not {"Connect", "Reconnect", "Disconnect"} & set(titles)


def test_store_page_of_a_store_not_connected_offers_connect_not_disconnect(client, superuser, store):
    client.force_login(superuser)
    titles = [t for t, _ in buttons(client.get(reverse("admin:stores_store_change", args=[store.pk])))]
    assert titles[0] == "Connect" and "Disconnect" not in titles


# ---------------------------------------------------------------- Disconnect: confirmation and reason
def test_disconnect_asks_for_a_reason_before_anything_moves(client, superuser, connected_store,
                                                            django_capture_on_commit_callbacks):
    services.store_schedules_ensure(store=connected_store)
    assert Schedule.objects.filter(name__startswith=f"store:{connected_store.pk}:").exists()
    client.force_login(superuser)
    url = reverse("admin:stores_store_disconnect", args=[connected_store.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Reason" in page.content.decode()
    response = client.post(url, {"reason": "  "})
    assert response.status_code == 200  # the page again: a reason is required
    connected_store.refresh_from_db()
    assert connected_store.status == Store.Status.CONNECTED
    with django_capture_on_commit_callbacks(execute=True):
        with_reason = client.post(url, {"reason": "Moving to a new FNAC account"})
    assert with_reason.status_code == 302
    connected_store.refresh_from_db()
    assert connected_store.status == Store.Status.DISCONNECTED
    assert connected_store.disconnect_reason == "Moving to a new FNAC account"
    assert not Schedule.objects.filter(name__startswith=f"store:{connected_store.pk}:").exists()
    page = client.get(reverse("admin:stores_store_change", args=[connected_store.pk])).content.decode()
    assert "reason: Moving to a new FNAC account" in page


def test_disconnect_page_needs_the_connect_permission(client, django_user_model, connected_store):
    reader = staff_with(django_user_model, "reader", connected_store, "stores.view_store", "stores.change_store")
    client.force_login(reader)
    url = reverse("admin:stores_store_disconnect", args=[connected_store.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"reason": "x"}).status_code == 403
    connected_store.refresh_from_db()
    assert connected_store.status == Store.Status.CONNECTED


def test_disconnect_page_of_another_users_store_is_404(client, django_user_model, make_store):
    mine, other = make_store(name="Mine"), make_store(name="Other")
    user = staff_with(django_user_model, "seller", mine, "stores.view_store", "stores.connect_store")
    client.force_login(user)
    assert client.get(reverse("admin:stores_store_disconnect", args=[other.pk])).status_code == 404


def test_api_disconnect_keeps_the_reason(token_client, superuser, connected_store):
    response = token_client(superuser).post(f"/api/stores/{connected_store.pk}/disconnect/",
                                            {"reason": "Seasonal pause"}, format="json")
    assert response.status_code == 200
    assert response.json()["disconnect_reason"] == "Seasonal pause"


def test_bulk_actions_put_the_destructive_ones_last(client, superuser, connected_store):
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_store_changelist"))
    names = [value for value, _ in page.context["action_form"].fields["action"].choices if value]
    assert names[-2:] == ["disconnect_stores", "delete_selected"]


# ---------------------------------------------------------------- readable: local time, tables
def test_periodic_jobs_in_local_time_without_microseconds(client, superuser, connected_store):
    services.store_schedules_ensure(store=connected_store)
    schedule = Schedule.objects.filter(name__startswith=f"store:{connected_store.pk}:").first()
    schedule.next_run = timezone.now().replace(microsecond=123456)
    schedule.save()
    client.force_login(superuser)
    html = client.get(reverse("admin:stores_store_change", args=[connected_store.pk])).content.decode()
    local = timezone.localtime(schedule.next_run, PARIS)
    assert f"next run {local.day} {local:%b %Y, %H:%M:%S}" in html
    assert "123456" not in html and "+00:00" not in html
    assert "every 5 min" in html


def test_run_counts_are_a_small_table(client, superuser, connected_store):
    run = SyncRun.objects.create(store=connected_store, kind=SyncRun.Kind.ORDERS_IMPORT, state="succeeded",
                                 started_at=timezone.now(), finished_at=timezone.now(),
                                 counts={"orders_created": 12, "orders_updated": 3})
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_syncrun_change", args=[run.pk])).content.decode()
    assert '<table class="sync-counts"' in page
    assert re.search(r"Orders created</td><td[^>]*>12</td>", page)
    assert '"orders_created"' not in page and "&quot;orders_created&quot;" not in page  # no raw JSON
    store_page = client.get(reverse("admin:stores_store_change", args=[connected_store.pk])).content.decode()
    assert re.search(r"Orders updated</td><td[^>]*>3</td>", store_page)  # the store's runs panel too


def test_run_list_shows_badges_and_local_times(client, superuser, connected_store):
    run = SyncRun.objects.get(store=connected_store, kind=SyncRun.Kind.CONNECT)
    client.force_login(superuser)
    html = client.get(reverse("admin:stores_syncrun_changelist")).content.decode()
    local = timezone.localtime(run.started_at, PARIS)
    assert f"{local.day} {local:%b, %H:%M:%S}" in html  # this year's runs: day, month, time
    assert ">Succeeded</span>" in html


# ---------------------------------------------------------------- default carrier: FNAC's list, not free text
def test_default_carrier_is_picked_from_fnacs_loaded_carriers(client, superuser, connected_store):
    from fulfilment.carriers import carriers_refresh

    client.force_login(superuser)
    url = reverse("admin:stores_store_change", args=[connected_store.pk])
    before = client.get(url).context["adminform"].form.fields["default_carrier_code"]
    assert before.widget.input_type == "text"  # no list loaded yet: free text
    carriers_refresh(store=connected_store, trigger="test")
    Store.objects.filter(pk=connected_store.pk).update(default_carrier_code="OLDCODE")
    page = client.get(url)
    field = page.context["adminform"].form.fields["default_carrier_code"]
    codes = [code for code, _ in field.choices]
    assert "SOCOLISSIMO" in codes and "CHRONOPOST" in codes
    assert ("OLDCODE", "OLDCODE (not in FNAC's carrier list)") in field.choices  # kept, marked
    assert '<select name="default_carrier_code"' in page.content.decode()


def test_carrier_adapter_is_picked_from_the_adapters_this_installation_has(client, superuser, connected_store,
                                                                           token_client):
    from django.core.exceptions import ValidationError

    client.force_login(superuser)
    url = reverse("admin:stores_store_change", args=[connected_store.pk])
    Store.objects.filter(pk=connected_store.pk).update(carrier_adapter="oldpost")  # stored before, unknown now
    page = client.get(url)
    field = page.context["adminform"].form.fields["carrier_adapter"]
    names = [name for name, _ in field.choices]
    assert names[:4] == ["", "colissimo", "chronopost", "ups"] and "sandbox" in names
    assert ("oldpost", "oldpost (unknown adapter)") in field.choices  # kept, marked: saving never changes it
    assert '<select name="carrier_adapter"' in page.content.decode()
    # a name that books nothing is refused with the list, on the field, by every door; the store is unchanged
    with pytest.raises(ValidationError) as exc:
        services.store_update(store=Store.objects.get(pk=connected_store.pk), data={"carrier_adapter": "dhl"})
    message = " ".join(exc.value.message_dict["carrier_adapter"])
    assert "unknown carrier adapter 'dhl'" in message and "colissimo" in message
    r = token_client(superuser).patch(f"/api/stores/{connected_store.pk}/", {"carrier_adapter": "DHL"},
                                      format="json")
    assert r.status_code == 400 and "unknown carrier adapter 'DHL'" in str(r.data)
    assert Store.objects.get(pk=connected_store.pk).carrier_adapter == "oldpost"
    # a known one, whatever its case, is stored as its name
    services.store_update(store=Store.objects.get(pk=connected_store.pk), data={"carrier_adapter": "Colissimo"})
    assert Store.objects.get(pk=connected_store.pk).carrier_adapter == "colissimo"


def test_add_store_page_shows_the_settings_tabs_without_runs_or_jobs(client, superuser, db):
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_store_add"))
    assert page.status_code == 200
    fields = [f for fs in page.context["adminform"] for line in fs for f in line]
    names = {f.field["name"] if isinstance(f.field, dict) else f.field.name for f in fields}
    assert {"name", "shop_id", "default_carrier_code"} <= names
    assert not {"recent_runs", "schedules", "status_summary"} & names
    assert not page.context.get("actions_detail")  # no Connect / Sync / Disconnect before it exists


@pytest.mark.parametrize("trigger, label", [("admin", "Admin"), ("connect:demo", "After connecting (Demo setup)"),
                                            ("schedule", "Schedule"), ("some_thing", "Some thing")])
def test_what_started_a_run_reads_in_words(client, superuser, store, trigger, label):
    run = SyncRun.objects.create(store=store, kind=SyncRun.Kind.STOCK_PUSH, trigger=trigger)
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_syncrun_change", args=[run.pk])).content.decode()
    assert label in page
    assert label in client.get(reverse("admin:stores_syncrun_changelist")).content.decode()
