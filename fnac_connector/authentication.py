"""API token authentication: hashed, expiring tokens (django-rest-knox) with a limit on bad tokens per client.

``Authorization: Token <key>`` as before, or ``Authorization: Bearer <key>`` (what Swagger UI's Authorize
sends for the key pasted as it was printed: the schema declares an HTTP bearer scheme). A client address that
sends ``API_TOKEN_FAILURE_LIMIT`` bad tokens (unknown, expired, revoked, malformed) within
``API_TOKEN_FAILURE_WINDOW_SECONDS`` gets 429 with ``Retry-After`` on every token request until its window
ends, good token or not, so guessing stops paying. Failures are counted in the ``counters`` cache, shared by
every process: Redis with ``REDIS_URL``, else a table in the database (``settings.COUNTERS_CACHE_TABLE``), so
several gunicorn workers do not each allow the limit.
"""

from __future__ import annotations

import ipaddress
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

_PREFIX = "api-token-failures"
# the words an Authorization header may start with for a token; "Bearer Token <key>" (the key pasted with the
# prefix into Swagger's bearer field) is read as "Token <key>"
TOKEN_PREFIXES = (b"token", b"bearer")


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind ``TRUSTED_PROXY_COUNT`` proxies the address the outermost
    trusted proxy saw (X-Forwarded-For entries further left are the client's own claims, never trusted).
    None when there is no valid address (django-axes stores it in an IP address column)."""
    candidate = request.META.get("REMOTE_ADDR") or ""
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
                     if part.strip()]
        if len(forwarded) >= proxies:
            candidate = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def _counters():
    return caches["counters"]


def _keys(ip: str | None) -> tuple[str, str]:
    return f"{_PREFIX}:{ip or 'unknown'}:count", f"{_PREFIX}:{ip or 'unknown'}:since"


def token_failures_wait(ip: str | None) -> int | None:
    """Seconds until ``ip`` may try tokens again, or None when it is not over the limit."""
    count_key, since_key = _keys(ip)
    values = _counters().get_many([count_key, since_key])
    if values.get(count_key, 0) < settings.API_TOKEN_FAILURE_LIMIT:
        return None
    since = values.get(since_key) or time.time()
    return max(1, math.ceil(since + settings.API_TOKEN_FAILURE_WINDOW_SECONDS - time.time()))


def token_failure_record(ip: str | None) -> None:
    window = settings.API_TOKEN_FAILURE_WINDOW_SECONDS
    count_key, since_key = _keys(ip)
    cache = _counters()
    cache.add(since_key, time.time(), window)
    cache.add(count_key, 0, window)
    try:
        cache.incr(count_key)
    except ValueError:  # the window ended between add and incr
        cache.set(count_key, 1, window)


class ThrottledTokenAuthentication(TokenAuthentication):
    """knox's hashed-token check, refused with 429 once the client address has sent too many bad tokens."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() not in TOKEN_PREFIXES:
            return None  # not a token request: session authentication may apply
        ip = client_ip(request)
        wait = token_failures_wait(ip)
        if wait is not None:
            raise exceptions.Throttled(wait=wait, detail="Too many invalid API tokens from this address.")
        try:
            return self._authenticate_parts(header)
        except exceptions.AuthenticationFailed:
            token_failure_record(ip)
            raise

    def _authenticate_parts(self, header: list[bytes]):
        if len(header) == 3 and header[0].lower() == b"bearer" and header[1].lower() == b"token":
            header = header[1:]
        if len(header) == 1:
            raise exceptions.AuthenticationFailed("Invalid token header. No credentials provided.")
        if len(header) > 2:
            raise exceptions.AuthenticationFailed("Invalid token header. Token string should not contain spaces.")
        return self.authenticate_credentials(header[1])

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(token)

    def _cleanup_token(self, auth_token) -> bool:
        """True (refused) when the presented token has expired. Unlike knox, the row is kept, listed as expired
        in the admin until revoked (an operator then sees why a client gets 401), and the user's other tokens
        are not swept on every request (a query each time; `api_token revoke --expired` cleans up)."""
        return auth_token.expiry is not None and auth_token.expiry <= timezone.now()


class ThrottledTokenScheme(OpenApiAuthenticationExtension):
    """The schema names the scheme as DRF did (``tokenAuth``), so generated clients keep working. It is an HTTP
    bearer scheme: Swagger UI's Authorize takes the key exactly as ``make demo`` prints it and sends
    ``Authorization: Bearer <key>``, which the API accepts like ``Token <key>``."""

    target_class = ThrottledTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {**build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer"),
                "description": "Paste the API key as it was printed (no prefix). Clients may send "
                               "`Authorization: Bearer <key>` or `Authorization: Token <key>`."}
