"""Connect Store through its three doors: admin, API, command."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from stores.models import Store

pytestmark = pytest.mark.django_db


def test_admin_connect_page(client, superuser, store):
    client.force_login(superuser)
    url = reverse("admin:stores_store_connect", args=[store.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b"Connect Store" in page.content
    assert store.fnac_key.encode() not in page.content
    response = client.post(url, {"fnac_key": "", "mirakl_api_key": ""})
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED


def test_admin_connect_wrong_key_shows_reason(client, superuser, store):
    client.force_login(superuser)
    url = reverse("admin:stores_store_connect", args=[store.pk])
    response = client.post(url, {"fnac_key": "00000000-0000-0000-0000-000000000000", "mirakl_api_key": ""})
    assert response.status_code == 200
    assert b"FNAC refused the credentials" in response.content
    store.refresh_from_db()
    assert store.status == Store.Status.FAILED


def test_admin_change_page_masks_secrets(client, superuser, store):
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_store_change", args=[store.pk]))
    assert page.status_code == 200
    assert store.fnac_key.encode() not in page.content
    assert store.mirakl_api_key.encode() not in page.content
    assert store.fnac_key[-4:].encode() in page.content  # masked hint


def test_admin_disconnect_action(client, superuser, connected_store):
    client.force_login(superuser)
    page = client.post(reverse("admin:stores_store_changelist"),
                       {"action": "disconnect_stores", "_selected_action": [connected_store.pk]})
    assert page.status_code == 200 and b"Reason" in page.content  # destructive: it confirms first
    connected_store.refresh_from_db()
    assert connected_store.status == Store.Status.CONNECTED
    response = client.post(reverse("admin:stores_store_changelist"),
                           {"action": "disconnect_stores", "_selected_action": [connected_store.pk], "apply": "1",
                            "reason": "Closing the shop for the holidays"})
    assert response.status_code == 302
    connected_store.refresh_from_db()
    assert connected_store.status == Store.Status.DISCONNECTED
    assert connected_store.disconnect_reason == "Closing the shop for the holidays"


def test_api_connect_and_disconnect(token_client, superuser, store):
    api = token_client(superuser)
    response = api.post(f"/api/stores/{store.pk}/connect/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "connected"
    assert "fnac_key" not in response.json()
    assert response.json()["fnac_key_masked"].endswith(store.fnac_key[-4:])
    response = api.post(f"/api/stores/{store.pk}/disconnect/")
    assert response.status_code == 200
    assert response.json()["status"] == "disconnected"
    response = api.post(f"/api/stores/{store.pk}/disconnect/")
    assert response.status_code == 409


def test_api_connect_wrong_key(token_client, superuser, store):
    api = token_client(superuser)
    response = api.post(f"/api/stores/{store.pk}/connect/", {"mirakl_api_key": "wrong"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "connect_failed"
    assert "Mirakl refused the API key" in body["errors"]["mirakl"]
    assert body["store"]["status"] == "failed"


def test_api_create_and_patch_store(token_client, superuser, sandbox):
    api = token_client(superuser)
    creds = sandbox.credentials
    response = api.post("/api/stores/", {
        "name": "API store", "partner_id": creds.partner_id, "shop_id": creds.shop_id, "fnac_key": creds.key,
        "mirakl_api_key": creds.mirakl_key, "fnac_base_url": sandbox.fnac_url, "mirakl_base_url": sandbox.mirakl_url,
    }, format="json")
    assert response.status_code == 201, response.content
    store_id = response.json()["id"]
    assert "fnac_key" not in response.json()
    response = api.patch(f"/api/stores/{store_id}/", {"safety_stock": 3}, format="json")
    assert response.status_code == 200
    assert Store.objects.get(pk=store_id).safety_stock == 3
    response = api.patch(f"/api/stores/{store_id}/", {"orders_interval_minutes": "soon"}, format="json")
    assert response.status_code == 400
    assert "orders_interval_minutes" in response.json()["errors"]  # the API's one error format


def test_api_requires_token(api_client, store):
    assert api_client.get("/api/stores/").status_code == 401


def test_command_connects_with_keys_from_environment(sandbox, monkeypatch, db):
    creds = sandbox.credentials
    monkeypatch.setenv("FNAC_KEY", creds.key)
    monkeypatch.setenv("MIRAKL_API_KEY", creds.mirakl_key)
    out = io.StringIO()
    call_command("connect_store", "--name", "Cmd store", "--partner-id", creds.partner_id, "--shop-id",
                 creds.shop_id, "--fnac-url", sandbox.fnac_url, "--mirakl-url", sandbox.mirakl_url, stdout=out)
    store = Store.objects.get(name="Cmd store")
    assert out.getvalue().strip() == str(store.pk)
    assert store.status == Store.Status.CONNECTED


def test_command_fails_with_reason(sandbox, monkeypatch, db):
    creds = sandbox.credentials
    monkeypatch.setenv("FNAC_KEY", "00000000-0000-0000-0000-000000000000")
    monkeypatch.setenv("MIRAKL_API_KEY", creds.mirakl_key)
    with pytest.raises(CommandError, match="FNAC refused the credentials"):
        call_command("connect_store", "--name", "Bad", "--partner-id", creds.partner_id, "--shop-id",
                     creds.shop_id, "--fnac-url", sandbox.fnac_url, "--mirakl-url", sandbox.mirakl_url)
    assert Store.objects.get(name="Bad").status == Store.Status.FAILED


def test_command_refuses_without_keys(monkeypatch, db):
    monkeypatch.delenv("FNAC_KEY", raising=False)
    monkeypatch.delenv("MIRAKL_API_KEY", raising=False)
    with pytest.raises(CommandError, match="FNAC_KEY is not set"):
        call_command("connect_store", "--name", "X", "--partner-id", "p", "--shop-id", "s")


def test_command_process_exit_codes(sandbox, tmp_path, db):
    """The real process: exit 0 + id on success, non-zero + reason on failure (argv never holds keys)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    creds = sandbox.credentials
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/cmd.sqlite3", "FNAC_KEY": creds.key,
           "MIRAKL_API_KEY": creds.mirakl_key}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=repo, env=env, check=True)
    args = [sys.executable, "manage.py", "connect_store", "--name", "P", "--partner-id", creds.partner_id,
            "--shop-id", creds.shop_id, "--fnac-url", sandbox.fnac_url, "--mirakl-url", sandbox.mirakl_url]
    ok = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().isdigit()
    env["MIRAKL_API_KEY"] = "wrong"
    bad = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert bad.returncode != 0
    assert "Mirakl refused the API key" in bad.stderr
    assert "wrong" not in bad.stderr and creds.key not in bad.stdout + bad.stderr
