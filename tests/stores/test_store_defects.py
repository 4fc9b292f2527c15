"""Issue 11, defects 1 and 2: a refused connect is a Failed run; one store per FNAC Shop ID on every door."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.urls import reverse

from stores import services
from stores.admin import run_state_badge
from stores.models import Store, SyncRun

pytestmark = pytest.mark.django_db
WRONG_KEY = "00000000-0000-0000-0000-000000000000"


# ---------------------------------------------------------------- defect 1: a failed connect reads Failed
def test_failed_connect_is_a_failed_run_in_the_api_with_the_reason(token_client, superuser, store):
    with pytest.raises(services.ConnectFailed):
        services.store_connect(store=store, fnac_key=WRONG_KEY, trigger="test")
    runs = token_client(superuser).get("/api/sync-runs/", {"store": store.pk}).json()["results"]
    assert len(runs) == 1
    run = runs[0]
    assert (run["kind"], run["state"]) == ("connect", "failed")
    assert run["progress_percent"] is None  # not "100 %"
    assert "FNAC refused the credentials (ERR_097)" in run["message"]
    assert "Mirakl API key accepted" in run["message"]  # what passed is still said, after the reason


def test_failed_connect_reads_failed_on_the_admin_run_list_and_page(client, superuser, store):
    client.force_login(superuser)
    client.post(reverse("admin:stores_store_connect", args=[store.pk]), {"fnac_key": WRONG_KEY})
    run = SyncRun.objects.get(store=store, kind=SyncRun.Kind.CONNECT)
    assert run.state == SyncRun.State.FAILED
    listing = client.get(reverse("admin:stores_syncrun_changelist")).content.decode()
    assert str(run_state_badge(run)) in listing
    assert ">Succeeded with errors</span>" not in listing and "100%</div>" not in listing
    page = client.get(reverse("admin:stores_syncrun_change", args=[run.pk])).content.decode()
    assert "Failed" in page and "FNAC refused the credentials" in page


def test_successful_connect_still_succeeds(connected_store):
    run = SyncRun.objects.get(store=connected_store, kind=SyncRun.Kind.CONNECT)
    assert (run.state, run.progress_percent) == (SyncRun.State.SUCCEEDED, 100)


# ---------------------------------------------------------------- defect 2: one store per Shop ID
def test_service_refuses_a_second_store_on_the_same_shop_id(store):
    with pytest.raises(services.InvalidInput) as err:
        services.store_create(name="Twin", partner_id=store.partner_id, shop_id=store.shop_id.upper(),
                              fnac_key="k", mirakl_api_key="m", fnac_base_url=store.fnac_base_url)
    assert str(err.value) == f"Shop ID {store.shop_id.upper()} is already connected as store '{store.name}'."
    assert err.value.details == {"shop_id": [str(err.value)]}
    assert list(Store.objects.values_list("name", flat=True)) == [store.name]


def test_update_onto_a_taken_shop_id_is_refused(make_store):
    first, second = make_store(name="First"), make_store(name="Second")
    before = second.shop_id
    with pytest.raises(services.InvalidInput, match="already connected as store 'First'"):
        services.store_update(store=second, data={"shop_id": first.shop_id})
    second.refresh_from_db()
    assert second.shop_id == before


def test_database_refuses_the_duplicate_whatever_the_door(store):
    with pytest.raises(IntegrityError), transaction.atomic():
        Store.objects.create(name="Raw twin", partner_id="p", shop_id=store.shop_id.upper())


def test_empty_shop_ids_are_not_a_shop(db):
    Store.objects.create(name="Draft 1", partner_id="p", shop_id="")
    Store.objects.create(name="Draft 2", partner_id="p", shop_id="")
    assert Store.objects.filter(shop_id="").count() == 2


def test_api_create_with_a_taken_shop_id_is_400_naming_the_field(token_client, superuser, store):
    api = token_client(superuser)
    response = api.post("/api/stores/", {"name": "API twin", "partner_id": store.partner_id,
                                         "shop_id": store.shop_id}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errors"]["shop_id"] == [f"Shop ID {store.shop_id} is already connected as store '{store.name}'."]
    assert not Store.objects.filter(name="API twin").exists()


def test_api_update_onto_a_taken_shop_id_is_400(token_client, superuser, make_store):
    first, second = make_store(name="First"), make_store(name="Second")
    response = token_client(superuser).patch(f"/api/stores/{second.pk}/", {"shop_id": first.shop_id},
                                             format="json")
    assert response.status_code == 400
    assert "already connected as store 'First'" in response.json()["errors"]["shop_id"][0]


def _admin_add_data(store, **extra):
    data = {"name": "Admin twin", "partner_id": store.partner_id, "shop_id": store.shop_id,
            "fnac_base_url": store.fnac_base_url, "mirakl_base_url": store.mirakl_base_url,
            "orders_interval_minutes": 5, "status_interval_minutes": 30, "catalogue_interval_minutes": 60,
            "acceptance_mode": "auto", "uncovered_policy": "leave", "safety_stock": 0, "price_field": "price",
            "price_rounding": "cent", "shipping_mode": "self_ship", "sender_country": "FRA"}
    data.update(extra)
    return data


def test_admin_add_form_refuses_a_taken_shop_id(client, superuser, store):
    client.force_login(superuser)
    response = client.post(reverse("admin:stores_store_add"), _admin_add_data(store))
    assert response.status_code == 200  # the form again, with the error on the field
    assert response.context["adminform"].form.errors["shop_id"] == [
        f"Shop ID {store.shop_id} is already connected as store '{store.name}'."]
    assert not Store.objects.filter(name="Admin twin").exists()


def test_admin_change_form_refuses_a_taken_shop_id(client, superuser, make_store):
    first, second = make_store(name="First"), make_store(name="Second")
    client.force_login(superuser)
    response = client.post(reverse("admin:stores_store_change", args=[second.pk]),
                           _admin_add_data(second, name="Second", shop_id=first.shop_id))
    assert response.status_code == 200
    assert "already connected as store &#x27;First&#x27;" in response.content.decode()
    second.refresh_from_db()
    assert second.shop_id != first.shop_id


def test_connect_store_command_refuses_a_taken_shop_id(sandbox, store, monkeypatch):
    creds = sandbox.credentials
    monkeypatch.setenv("FNAC_KEY", creds.key)
    monkeypatch.setenv("MIRAKL_API_KEY", creds.mirakl_key)
    with pytest.raises(CommandError, match=f"already connected as store '{store.name}'"):
        call_command("connect_store", "--name", "Cmd twin", "--partner-id", creds.partner_id, "--shop-id",
                     creds.shop_id, "--fnac-url", sandbox.fnac_url, "--mirakl-url", sandbox.mirakl_url,
                     stdout=io.StringIO())
    assert not Store.objects.filter(name="Cmd twin").exists()
