"""API tokens: stored hashed, expiring, revocable from the command and the admin (issue 9, item 5)."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io
import types

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts.models import ApiToken
from tests.conftest import api_token_for

pytestmark = pytest.mark.django_db


def _get(api_client, key, path="/api/stores/"):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api_client.get(path)


def _every_stored_value() -> list[str]:
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - table names
            values += [str(value) for row in cursor.fetchall() for value in row if value is not None]
    return values


def test_the_raw_key_is_stored_nowhere_only_its_hash(api_client, superuser):
    key = api_token_for(superuser)
    assert _get(api_client, key).status_code == 200
    assert not [value for value in _every_stored_value() if key in value]
    token = ApiToken.objects.get(user=superuser)
    assert token.digest == hashlib.sha512(key.encode()).hexdigest()
    assert token.expiry is not None


def test_tokens_expire_after_the_configured_days(api_client, superuser, settings):
    settings.API_TOKEN_TTL_DAYS = 30
    before = timezone.now()
    key = api_token_for(superuser)
    token = ApiToken.objects.get(user=superuser)
    assert before + dt.timedelta(days=30) <= token.expiry <= timezone.now() + dt.timedelta(days=30)
    assert _get(api_client, key).status_code == 200


def test_an_expired_token_is_401(api_client, superuser):
    key = api_token_for(superuser)
    ApiToken.objects.filter(user=superuser).update(expiry=timezone.now() - dt.timedelta(seconds=1))
    response = _get(api_client, key)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"] == "Invalid token."
    assert ApiToken.objects.filter(user=superuser).exists()  # kept, listed as expired until revoked


def test_a_revoked_token_is_401_and_other_tokens_keep_working(api_client, superuser):
    revoked, kept = api_token_for(superuser), api_token_for(superuser)
    assert _get(api_client, revoked).status_code == 200
    out = io.StringIO()
    call_command("api_token", "revoke", "--prefix", revoked[:8], stdout=out)
    assert "1 API token(s) revoked" in out.getvalue()
    assert _get(api_client, revoked).status_code == 401
    assert _get(api_client, kept).status_code == 200


def test_an_unknown_or_malformed_token_is_401(api_client):
    for header in ("Token " + "0" * 64, "Token", "Token a b", "Token \u00e9t\u00e9"):
        api_client.credentials(HTTP_AUTHORIZATION=header)
        assert api_client.get("/api/stores/").status_code == 401, header


# ---------------------------------------------------------------- the api_token command
def test_command_creates_a_token_printed_once(api_client, superuser):
    out, err = io.StringIO(), io.StringIO()
    call_command("api_token", "create", superuser.username, "--days", "7", stdout=out, stderr=err)
    key = out.getvalue().strip()
    assert len(key) == 64 and _get(api_client, key).status_code == 200
    token = ApiToken.objects.get(user=superuser)
    assert token.expiry - timezone.now() <= dt.timedelta(days=7)
    assert token.expiry - timezone.now() > dt.timedelta(days=6, hours=23)
    assert f"{key[:8]}…" in err.getvalue() and key not in err.getvalue()
    listing = io.StringIO()
    call_command("api_token", "list", stdout=listing)
    assert f"{key[:8]}…  {superuser.username}" in listing.getvalue() and key not in listing.getvalue()


def test_command_refuses_bad_input_and_creates_nothing(superuser, django_user_model):
    with pytest.raises(CommandError, match="no user named 'ghost'"):
        call_command("api_token", "create", "ghost", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="days: must be between 1 and 3650"):
        call_command("api_token", "create", superuser.username, "--days", "0", stdout=io.StringIO())
    inactive = django_user_model.objects.create_user("gone", password="pw-gone-123", is_active=False)
    with pytest.raises(CommandError, match="user: gone is inactive"):
        call_command("api_token", "create", inactive.username, stdout=io.StringIO())
    with pytest.raises(CommandError, match="at least the 8 characters"):
        call_command("api_token", "revoke", "--prefix", "abc", stdout=io.StringIO())
    with pytest.raises(CommandError, match="no API token starts with"):
        call_command("api_token", "revoke", "--prefix", "zzzzzzzz", stdout=io.StringIO())
    assert not ApiToken.objects.exists()


def test_command_revokes_a_users_tokens_and_expired_ones(api_client, superuser, staff_user):
    root_keys = [api_token_for(superuser), api_token_for(superuser)]
    staff_key = api_token_for(staff_user)
    old = api_token_for(staff_user)
    ApiToken.objects.filter(token_key=old[:15]).update(expiry=timezone.now() - dt.timedelta(days=1))
    call_command("api_token", "revoke", "--expired", stdout=io.StringIO())
    assert not ApiToken.objects.filter(token_key=old[:15]).exists()
    call_command("api_token", "revoke", "--user", superuser.username, stdout=io.StringIO())
    assert [_get(api_client, key).status_code for key in root_keys] == [401, 401]
    assert _get(api_client, staff_key, "/api/sync-runs/").status_code == 200


# ---------------------------------------------------------------- the admin
def test_admin_lists_tokens_masked_and_revokes_them(client, api_client, superuser):
    key = api_token_for(superuser)
    client.force_login(superuser)
    page = client.get("/admin/accounts/apitoken/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"{key[:8]}…" in body and key[:9] not in body and superuser.username in body
    assert "active" in body
    token = ApiToken.objects.get(user=superuser)
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403  # created by the command only
    response = client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert not ApiToken.objects.exists()
    assert _get(api_client, key).status_code == 401


def test_admin_token_pages_need_the_token_permissions(client, api_client, staff_user, superuser):
    key = api_token_for(superuser)
    token = ApiToken.objects.get(user=superuser)
    client.force_login(staff_user)
    assert client.get("/admin/accounts/apitoken/").status_code == 403
    response = client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 403 and ApiToken.objects.filter(pk=token.pk).exists()
    staff_user.user_permissions.add(Permission.objects.get(codename="view_apitoken"))
    staff_user = type(staff_user).objects.get(pk=staff_user.pk)  # fresh permission cache
    client.force_login(staff_user)
    assert client.get("/admin/accounts/apitoken/").status_code == 200
    client.post("/admin/accounts/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert ApiToken.objects.filter(pk=token.pk).exists()  # viewing is not revoking
    staff_user.user_permissions.add(Permission.objects.get(codename="delete_apitoken"))
    staff_user = type(staff_user).objects.get(pk=staff_user.pk)
    client.force_login(staff_user)
    response = client.post(f"/admin/accounts/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not ApiToken.objects.exists()
    assert _get(api_client, key).status_code == 401


def test_admin_shows_expired_tokens_as_expired(client, superuser):
    api_token_for(superuser)
    ApiToken.objects.update(expiry=timezone.now() - dt.timedelta(minutes=1))
    client.force_login(superuser)
    assert ">expired<" in client.get("/admin/accounts/apitoken/").content.decode()
    listed = client.get("/admin/accounts/apitoken/", {"state": "active"}).context["cl"].result_count
    assert listed == 0


# ---------------------------------------------------------------- upgrade from DRF's plaintext tokens
def test_legacy_plaintext_tokens_become_hashed_and_keep_working(api_client, superuser):
    migration = importlib.import_module("accounts.migrations.0002_hash_legacy_drf_tokens")
    legacy_key = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {quote('authtoken_token')} ({quote('key')} varchar(40) PRIMARY KEY, "
                       f"{quote('created')} timestamp, {quote('user_id')} integer)")
        cursor.execute(f"INSERT INTO {quote('authtoken_token')} VALUES (%s, %s, %s)",
                       [legacy_key, timezone.now(), superuser.pk])
    migration.hash_legacy_tokens(apps, types.SimpleNamespace(connection=connection, quote_name=quote))
    assert not [value for value in _every_stored_value() if legacy_key in value]
    assert _get(api_client, legacy_key).status_code == 200
    assert ApiToken.objects.get(user=superuser).expiry is not None


# ---------------------------------------------------------------- the demo
def test_demo_setup_prints_a_working_key_and_revokes_the_previous_one(api_client, sandbox):
    def run() -> str:
        out = io.StringIO()
        call_command("demo_setup", "--sandbox-url", sandbox.base_url, stdout=out)
        return next(line.split()[2] for line in out.getvalue().splitlines() if "API token:" in line)

    first = run()
    assert _get(api_client, first).status_code == 200
    second = run()
    assert second != first
    assert _get(api_client, first).status_code == 401
    assert _get(api_client, second).status_code == 200
