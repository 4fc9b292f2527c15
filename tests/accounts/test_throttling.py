"""Admin sign-in lockout (django-axes) and the limit on bad API tokens per client address (issue 9, item 5)."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.http import HttpRequest

from fnac_connector.authentication import client_ip
from tests.conftest import api_token_for

pytestmark = pytest.mark.django_db

BAD = "Token " + "f" * 64


# ---------------------------------------------------------------- API tokens
@pytest.fixture
def limit(settings):
    settings.API_TOKEN_FAILURE_LIMIT = 3
    settings.API_TOKEN_FAILURE_WINDOW_SECONDS = 600
    return 3


def _get(api_client, header, ip, **extra):
    return api_client.get("/api/stores/", HTTP_AUTHORIZATION=header, REMOTE_ADDR=ip, **extra)


def test_bad_tokens_from_one_address_get_429_then_even_a_good_one(api_client, superuser, limit):
    good = f"Token {api_token_for(superuser)}"
    assert [_get(api_client, BAD, "10.0.0.1").status_code for _ in range(limit)] == [401] * limit
    for header in (BAD, good):
        refused = _get(api_client, BAD if header == BAD else good, "10.0.0.1")
        assert refused.status_code == 429
        assert 1 <= int(refused["Retry-After"]) <= 600
        assert refused.json()["detail"].startswith("Too many invalid API tokens from this address.")
    # another client address is not affected, and neither are requests without a token
    assert _get(api_client, good, "10.0.0.2").status_code == 200
    assert api_client.get("/api/stores/", REMOTE_ADDR="10.0.0.1").status_code in (401, 403)


def test_good_tokens_do_not_count_and_below_the_limit_nothing_is_refused(api_client, superuser, limit):
    good = f"Token {api_token_for(superuser)}"
    for _ in range(limit - 1):
        assert _get(api_client, BAD, "10.0.0.3").status_code == 401
        assert _get(api_client, good, "10.0.0.3").status_code == 200
    assert _get(api_client, good, "10.0.0.3").status_code == 200


def test_behind_a_proxy_the_address_is_the_proxys_view_not_the_clients_claim(api_client, superuser, limit,
                                                                            settings):
    settings.TRUSTED_PROXY_COUNT = 1
    good = f"Token {api_token_for(superuser)}"
    # every request comes from the proxy (127.0.0.1); the attacker varies the address it claims
    for n in range(limit):
        response = _get(api_client, BAD, "127.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{n}, 203.0.113.7")
        assert response.status_code == 401
    spoofed = _get(api_client, BAD, "127.0.0.1", HTTP_X_FORWARDED_FOR="9.9.9.9, 203.0.113.7")
    assert spoofed.status_code == 429
    assert _get(api_client, good, "127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200


# ---------------------------------------------------------------- admin sign-in
def _login(client, username, password, ip):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password,
                                                      "next": "/admin/"}, REMOTE_ADDR=ip)


def test_admin_sign_in_is_locked_after_n_failures_for_that_username_and_address(client, superuser, settings):
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        response = _login(client, "root", "wrong-password", "10.9.0.1")
        assert response.status_code == 200 and "Please enter the correct username" in response.content.decode()
    locked = _login(client, "root", "wrong-password", "10.9.0.1")
    assert locked.status_code == 429
    body = " ".join(locked.content.decode().split())
    assert "Sign-in locked" in body and "Too many failed sign-in attempts for <strong>root</strong>" in body
    assert f"({limit} in a row)" in body and f"for {settings.AXES_COOLOFF_TIME.seconds // 60} minutes" in body
    # the right password does not get through while the lock lasts
    assert _login(client, "root", "pw-root-123", "10.9.0.1").status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="root", ip_address="10.9.0.1").failures_since_start >= limit
    # the lock is per username and address: the same user elsewhere, another user here, still sign in
    assert _login(client, "root", "pw-root-123", "10.9.0.2").status_code == 302
    client.logout()
    type(superuser).objects.create_superuser("other", "o@example.com", "pw-other-123")
    assert _login(client, "other", "pw-other-123", "10.9.0.1").status_code == 302


def test_a_success_resets_the_count(client, superuser, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "root", "wrong-password", "10.9.0.5")
    assert _login(client, "root", "pw-root-123", "10.9.0.5").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "root", "wrong-password", "10.9.0.5").status_code == 200
    assert _login(client, "root", "pw-root-123", "10.9.0.5").status_code == 302


def test_the_limit_comes_from_the_settings(client, superuser, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert _login(client, "root", "x", "10.9.0.9").status_code == 200
    assert _login(client, "root", "x", "10.9.0.9").status_code == 429


def test_client_ip_is_a_valid_address_or_none(rf, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1")) == "10.0.0.1"
    assert client_ip(HttpRequest()) is None  # as Django's force_login builds it: axes stores NULL, not junk
    settings.TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7, 10.0.0.2")
    assert client_ip(request) == "203.0.113.7"
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="10.0.0.2")) == "127.0.0.1"
    assert client_ip(rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="junk, 10.0.0.2")) is None


def test_bad_token_counts_live_outside_the_process(api_client, limit, settings):
    """Without Redis the count is a database table, not one process's memory: several gunicorn workers share it.
    A second cache handler (what another worker process builds) reads the same count and refuses too."""
    from django.core.cache import CacheHandler
    from django.db import connection

    if settings.REDIS_URL:
        pytest.skip("with REDIS_URL the counters are in Redis, shared the same way")
    assert settings.CACHES["counters"]["BACKEND"].endswith("DatabaseCache")
    for _ in range(limit):
        assert _get(api_client, BAD, "10.0.0.9").status_code == 401
    other_worker = CacheHandler()["counters"]
    assert other_worker is not None
    from fnac_connector import authentication

    count_key, _ = authentication._keys("10.0.0.9")
    assert other_worker.get(count_key) == limit
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(settings.COUNTERS_CACHE_TABLE)}")
        assert cursor.fetchone()[0] >= 2  # the count and the start of its window
    assert _get(api_client, BAD, "10.0.0.9").status_code == 429
