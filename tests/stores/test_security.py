"""Issue 9, item 1: a store's keys go only to hosts meant for them.

Base URLs are checked against the allowed hosts when saved and again before every call; changing a URL clears
the keys entered for the old one (and the cached FNAC token); only stores.change_store_credentials may change
URLs or keys."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from stores.endpoints import EndpointNotAllowed, url_problem
from stores.models import Store, SyncRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_sandbox():
    """A second marketplace on another address, with keys of its own (the "new host" of a URL change)."""
    from fnac_sandbox.server import SandboxCredentials, SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0, seed=11,
                           credentials=SandboxCredentials(key="B0000000-1111-2222-3333-444444444444",
                                                          mirakl_key="mirakl-key-of-the-other-host"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ---------------------------------------------------------------- the host rules
@pytest.mark.parametrize(("kind", "url", "allowed"), [
    ("fnac", "https://vendeur.fnac.com/api.php/", True),
    ("fnac", "https://partners-test.mp.fnacdarty.com/api.php/", True),
    ("fnac", "http://vendeur.fnac.com/api.php/", False),  # keys never travel in clear
    ("fnac", "https://vendeur.fnac.com:8443/api.php/", False),
    ("fnac", "https://vendeur.fnac.com.attacker.example/api.php/", False),
    ("fnac", "https://vendeur.fnac.com@attacker.example/api.php/", False),
    ("fnac", "https://attacker.example\\@vendeur.fnac.com/", False),
    ("fnac", "http://attacker.example/api.php/", False),
    ("fnac", "https://fnac-prod.mirakl.net", False),  # a Mirakl host is not an FNAC host
    ("fnac", "http://127.0.0.1:8100/api.php/", True),  # MARKETPLACE_EXTRA_HOSTS (this test: 127.0.0.1:8100)
    ("fnac", "http://127.0.0.1:8101/api.php/", False),  # ... that port only
    ("mirakl", "https://fnac-prod.mirakl.net", True),
    ("mirakl", "https://fnac-prod.mirakl.net:444", False),
    ("mirakl", "https://mirakl.net", False),
    ("mirakl", "https://evilmirakl.net", False),
    ("mirakl", "https://fnac-prod.mirakl.net.attacker.example", False),
    ("mirakl", "http://fnac-prod.mirakl.net", False),
    ("mirakl", "", False),
    ("wms", "https://wms.example.com/hooks/fnac", True),
    ("wms", "", True),  # no WMS
    ("wms", "http://wms.example.com/hooks/fnac", False),
    ("wms", "https://169.254.169.254/latest/meta-data/", False),
    ("wms", "https://10.1.2.3/hook", False),
    ("wms", "https://localhost/hook", False),
    ("wms", "http://127.0.0.1:8100/hook", True),
])
def test_allowed_hosts(settings, kind, url, allowed):
    settings.MARKETPLACE_EXTRA_HOSTS = ["127.0.0.1:8100"]
    problem = url_problem(url, kind=kind)
    assert (problem is None) is allowed, problem


# ---------------------------------------------------------------- saving a URL
@pytest.mark.parametrize(("field", "url"), [
    ("fnac_base_url", "http://attacker.example/api.php/"),
    ("mirakl_base_url", "https://mirakl.attacker.example"),
    ("wms_webhook_url", "http://169.254.169.254/latest/meta-data/"),
])
def test_patching_a_url_to_a_foreign_host_is_refused_naming_the_field(token_client, superuser, connected_store,
                                                                     field, url):
    before = Store.objects.get(pk=connected_store.pk)
    response = token_client(superuser).patch(f"/api/stores/{connected_store.pk}/", {field: url}, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["errors"]) == [field] and "MARKETPLACE_EXTRA_HOSTS" in body["errors"][field][0]
    after = Store.objects.get(pk=connected_store.pk)
    assert getattr(after, field) == getattr(before, field)
    assert (after.fnac_key, after.mirakl_api_key, after.status) == (before.fnac_key, before.mirakl_api_key,
                                                                    Store.Status.CONNECTED)


def test_creating_a_store_with_a_foreign_url_is_refused(token_client, superuser):
    response = token_client(superuser).post("/api/stores/", {
        "name": "Evil", "partner_id": "P", "shop_id": "S", "fnac_key": "k",
        "fnac_base_url": "https://attacker.example/api.php/"}, format="json")
    assert response.status_code == 400 and "fnac_base_url" in response.json()["errors"]
    assert not Store.objects.filter(name="Evil").exists()


def test_admin_form_refuses_a_foreign_url_on_the_field(client, superuser, store):
    from django.urls import reverse

    client.force_login(superuser)
    url = reverse("admin:stores_store_change", args=[store.pk])
    page = client.get(url)
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | tuple)}
    data.update({"fnac_base_url": "http://attacker.example/api.php/", "users": [],
                 "sync_runs-TOTAL_FORMS": 0, "sync_runs-INITIAL_FORMS": 0})
    response = client.post(url, data)
    assert response.status_code == 200  # the form again, with the error on the field
    assert "fnac_base_url" in response.context["adminform"].form.errors
    store.refresh_from_db()
    assert store.fnac_base_url.startswith("http://127.0.0.1:")


# ---------------------------------------------------------------- a URL change clears the old keys
def test_url_change_clears_the_keys_so_the_new_host_never_gets_them(token_client, superuser, connected_store,
                                                                     sandbox, other_sandbox):
    old_key, old_mirakl = connected_store.fnac_key, connected_store.mirakl_api_key
    assert connected_store.fnac_token  # the connect cached a token
    api = token_client(superuser)
    response = api.patch(f"/api/stores/{connected_store.pk}/", {
        "fnac_base_url": other_sandbox.fnac_url, "mirakl_base_url": other_sandbox.mirakl_url}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "not_connected"
    assert body["fnac_key_masked"] == "" and body["mirakl_api_key_masked"] == ""
    assert "FNAC key was cleared" in body["last_error"] and "Mirakl API key was cleared" in body["last_error"]
    store = Store.objects.get(pk=connected_store.pk)
    assert (store.fnac_key, store.mirakl_api_key, store.fnac_token, store.fnac_token_validity) == ("", "", "", None)

    sent_before = sandbox.last_seq
    response = api.post(f"/api/stores/{store.pk}/connect/", {}, format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "no key is stored" in errors["fnac"] and "enter the FNAC key" in errors["fnac"]
    assert "no API key is stored" in errors["mirakl"]
    assert other_sandbox.requests == []  # nothing at all reached the new host
    assert sandbox.last_seq == sent_before  # nor the old one
    assert not any(old_key.encode() in r.body or old_mirakl.encode() in r.body for r in other_sandbox.requests)

    # the keys of the new host, entered again: connected there
    creds = other_sandbox.credentials
    response = api.post(f"/api/stores/{store.pk}/connect/", {"fnac_key": creds.key,
                                                             "mirakl_api_key": creds.mirakl_key}, format="json")
    assert response.status_code == 200, response.content
    assert [r.service for r in other_sandbox.requests if r.api != "control"][:2] == ["auth", "A01"]


def test_url_change_with_new_keys_in_the_same_change_keeps_them(token_client, superuser, connected_store,
                                                                 other_sandbox):
    creds = other_sandbox.credentials
    response = token_client(superuser).patch(f"/api/stores/{connected_store.pk}/", {
        "fnac_base_url": other_sandbox.fnac_url, "fnac_key": creds.key,
        "mirakl_base_url": other_sandbox.mirakl_url, "mirakl_api_key": creds.mirakl_key}, format="json")
    assert response.status_code == 200, response.content
    store = Store.objects.get(pk=connected_store.pk)
    assert (store.fnac_key, store.mirakl_api_key, store.fnac_token) == (creds.key, creds.mirakl_key, "")
    assert token_client(superuser).post(f"/api/stores/{store.pk}/connect/").status_code == 200


def test_changing_only_the_mirakl_url_keeps_the_fnac_key(token_client, superuser, connected_store, other_sandbox):
    key = connected_store.fnac_key
    response = token_client(superuser).patch(f"/api/stores/{connected_store.pk}/",
                                             {"mirakl_base_url": other_sandbox.mirakl_url}, format="json")
    assert response.status_code == 200
    store = Store.objects.get(pk=connected_store.pk)
    assert store.fnac_key == key and store.mirakl_api_key == ""


# ---------------------------------------------------------------- checked again before every call
def test_a_url_stored_before_the_rules_is_refused_before_any_call(settings, token_client, superuser,
                                                                 connected_store, sandbox):
    from orders.services import orders_sync

    settings.MARKETPLACE_EXTRA_HOSTS = ["localhost"]  # the sandbox's 127.0.0.1 is no longer an allowed host
    sent_before = sandbox.last_seq
    response = token_client(superuser).post(f"/api/stores/{connected_store.pk}/connect/")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "FNAC API URL refused, nothing was sent" in errors["fnac"]
    assert "Mirakl API URL refused, nothing was sent" in errors["mirakl"]
    with pytest.raises(EndpointNotAllowed):
        orders_sync(store=connected_store, trigger="test")
    run = SyncRun.objects.filter(kind=SyncRun.Kind.ORDERS_IMPORT).latest("id")
    assert run.state == SyncRun.State.FAILED and "nothing was sent" in run.message
    assert sandbox.last_seq == sent_before


# ---------------------------------------------------------------- who may change URLs and keys
@pytest.fixture
def store_editor(staff_user, connected_store):
    """A staff user of the store with every permission except stores.change_store_credentials."""
    connected_store.users.add(staff_user)
    staff_user.user_permissions.remove(Permission.objects.get(codename="change_store_credentials"))
    return staff_user


@pytest.mark.parametrize("data", [
    {"fnac_base_url": "https://partners-test.mp.fnacdarty.com/api.php/"},
    {"mirakl_base_url": "https://other.mirakl.net"},
    {"wms_webhook_url": "https://wms.example.com/hook"},
    {"fnac_key": "a-new-key"},
    {"wms_secret": "a-new-secret"},
])
def test_urls_and_keys_need_the_credentials_permission(token_client, store_editor, connected_store, data):
    before = Store.objects.filter(pk=connected_store.pk).values().get()
    response = token_client(store_editor).patch(f"/api/stores/{connected_store.pk}/", data, format="json")
    assert response.status_code == 403
    assert "stores.change_store_credentials" in response.json()["detail"]
    assert Store.objects.filter(pk=connected_store.pk).values().get() == before


def test_other_settings_need_only_change_store(token_client, store_editor, connected_store):
    api = token_client(store_editor)
    response = api.patch(f"/api/stores/{connected_store.pk}/", {
        "safety_stock": 2, "fnac_base_url": connected_store.fnac_base_url}, format="json")  # same URL: no change
    assert response.status_code == 200, response.content
    assert Store.objects.get(pk=connected_store.pk).safety_stock == 2
    # connect with the stored keys: yes; with new keys: no
    assert api.post(f"/api/stores/{connected_store.pk}/connect/").status_code == 200
    assert api.post(f"/api/stores/{connected_store.pk}/connect/", {"fnac_key": "x"}, format="json").status_code == 403


def test_admin_hides_keys_and_urls_from_users_without_the_permission(client, store_editor, connected_store):
    from django.urls import reverse

    client.force_login(store_editor)
    page = client.get(reverse("admin:stores_store_change", args=[connected_store.pk]))
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert not {"fnac_key", "mirakl_api_key", "wms_secret", "fnac_base_url", "mirakl_base_url",
                "wms_webhook_url", "users"} & set(form.fields)
    html = page.content.decode()
    assert connected_store.fnac_key[-4:] in html and connected_store.fnac_key not in html  # masked
    connect = client.get(reverse("admin:stores_store_connect", args=[connected_store.pk]))
    assert connect.status_code == 200 and not connect.context["form"].fields
