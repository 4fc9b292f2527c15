"""Staff users see and act only on the stores they are assigned to; superusers see all."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stores(make_store, staff_user):
    mine = make_store(name="Mine")
    other = make_store(name="Other")
    mine.users.add(staff_user)
    return mine, other


def test_api_lists_only_assigned_stores(token_client, staff_user, two_stores):
    mine, other = two_stores
    api = token_client(staff_user)
    names = [s["name"] for s in api.get("/api/stores/").json()["results"]]
    assert names == ["Mine"]
    assert api.get(f"/api/stores/{other.pk}/").status_code == 404
    assert api.post(f"/api/stores/{other.pk}/connect/").status_code == 404
    assert api.post(f"/api/stores/{mine.pk}/connect/").status_code == 200


def test_superuser_sees_all(token_client, superuser, two_stores):
    names = sorted(s["name"] for s in token_client(superuser).get("/api/stores/").json()["results"])
    assert names == ["Mine", "Other"]


def test_admin_scoping(client, staff_user, two_stores):
    mine, other = two_stores
    client.force_login(staff_user)
    listing = client.get(reverse("admin:stores_store_changelist"))
    assert listing.status_code == 200
    assert b"Mine" in listing.content and b"Other" not in listing.content
    assert client.get(reverse("admin:stores_store_change", args=[other.pk])).status_code in (302, 403, 404)
    assert client.get(reverse("admin:stores_store_connect", args=[other.pk])).status_code == 404
    assert client.get(reverse("admin:stores_store_connect", args=[mine.pk])).status_code == 200


def test_sync_runs_scoped(token_client, staff_user, two_stores):
    from stores import services

    mine, other = two_stores
    services.store_connect(store=mine)
    services.store_connect(store=other)
    runs = token_client(staff_user).get("/api/sync-runs/").json()["results"]
    assert runs and {r["store"] for r in runs} == {mine.pk}
