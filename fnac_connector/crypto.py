"""Encryption of marketplace secrets at rest (Fernet, with key rotation through MultiFernet)."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Used only outside production when FIELD_ENCRYPTION_KEY is unset (a system check warns about it).
DEV_KEY = base64.urlsafe_b64encode(hashlib.sha256(b"fnac-connector development key").digest()).decode()


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@functools.lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
            "(generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')") from exc


def configured_keys() -> tuple[str, ...]:
    keys = tuple(k for k in getattr(settings, "FIELD_ENCRYPTION_KEYS", []) if k)
    if keys:
        return keys
    if getattr(settings, "PRODUCTION", False):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEY is required in production")
    return (DEV_KEY,)


def encrypt(value: str) -> str:
    return _fernet(configured_keys()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(configured_keys()).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("stored secret cannot be decrypted with FIELD_ENCRYPTION_KEY") from exc


def mask(value: str | None, visible: int = 4) -> str:
    """What the admin and the API show of a secret: never more than its last few characters."""
    if not value:
        return ""
    if len(value) <= visible * 2:
        return "•" * 8
    return "•" * 8 + value[-visible:]
