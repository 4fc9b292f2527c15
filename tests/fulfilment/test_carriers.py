"""The FNAC carrier table: seeded on connect, refreshed by command/admin/API, inactive when FNAC drops one."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from fnac_connector.errors import Conflict
from fulfilment.carriers import carriers_refresh
from fulfilment.models import Carrier
from stores.models import SyncRun


def test_connect_seeds_the_carriers(sandbox, store, django_capture_on_commit_callbacks):
    from stores.services import store_connect

    with django_capture_on_commit_callbacks(execute=True):
        store_connect(store=store, trigger="test")
    codes = set(Carrier.objects.filter(store=store).values_list("code", flat=True))
    assert {"LAPOSTE", "SOCOLISSIMO", "CHRONOPOST", "UPS"} <= codes
    assert sandbox.requests_for("carriers_query")
    assert SyncRun.objects.filter(store=store, kind=SyncRun.Kind.CARRIERS, state="succeeded").exists()


def test_refresh_is_idempotent_and_marks_dropped_carriers(sandbox, connected_store):
    carriers_refresh(store=connected_store)
    count = Carrier.objects.count()
    sandbox.state.carriers = [c for c in sandbox.state.carriers if c[0] != "TNT"]
    run = carriers_refresh(store=connected_store)
    assert Carrier.objects.count() == count
    assert not Carrier.objects.get(code="TNT").active and Carrier.objects.get(code="UPS").active
    assert run.counts["no_longer_listed"] == 1


def test_refresh_doors(sandbox, connected_store, superuser, token_client, client):
    out = __import__("io").StringIO()
    call_command("refresh_carriers", store=connected_store.pk, stdout=out)
    assert "SOCOLISSIMO" in out.getvalue()
    response = token_client(superuser).post(f"/api/stores/{connected_store.pk}/refresh-carriers/")
    assert response.status_code == 200 and any(c["code"] == "GLS" for c in response.json()["carriers"])
    listed = token_client(superuser).get("/api/carriers/", {"store": connected_store.pk})
    assert listed.status_code == 200 and listed.json()["count"] == Carrier.objects.count()
    client.force_login(superuser)
    response = client.post("/admin/stores/store/", {"action": "refresh_carriers_action",
                                                     "_selected_action": [connected_store.pk]}, follow=True)
    assert "Carriers refreshed" in response.content.decode()
    assert sandbox.requests_for("carriers_query").__len__() == 3


def test_refresh_needs_a_connected_store(store):
    with pytest.raises(Conflict, match="not connected"):
        carriers_refresh(store=store)
