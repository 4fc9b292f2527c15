"""HMAC-SHA256 signatures shared with a store's WMS (both directions), and signed label links.

The signature is ``X-Signature: sha256=<hex of HMAC-SHA256(store.wms_secret, raw body)>``; the body carries
``sent_at`` so a captured request cannot be replayed later (freshness is checked after the signature).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

SIGNATURE_HEADER = "X-Signature"
STORE_HEADER = "X-Store-Id"
SIGNATURE_PREFIX = "sha256="
LABEL_SALT = "fulfilment.label"


def signature_for(secret: str, body: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """Constant-time comparison of the expected and the received signature."""
    expected = signature_for(secret, body)
    return hmac.compare_digest(expected.encode(), (header or "").strip().encode())


def tolerance() -> dt.timedelta:
    return dt.timedelta(seconds=getattr(settings, "WMS_SIGNATURE_TOLERANCE_SECONDS", 300))


def parse_sent_at(value) -> dt.datetime | None:
    """``sent_at`` as ISO-8601 (with an offset) or Unix seconds; None when unreadable."""
    if isinstance(value, bool) or value in (None, ""):
        return None
    if isinstance(value, int | float):
        try:
            return dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        parsed = parse_datetime(value.strip())
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, dt.UTC)
        return parsed
    return None


def is_fresh(sent_at: dt.datetime, now: dt.datetime | None = None) -> bool:
    now = now or timezone.now()
    return abs(now - sent_at) <= tolerance()


# ---------------------------------------------------------------- label links for the WMS
def label_token(shipment_id: int) -> str:
    return signing.TimestampSigner(salt=LABEL_SALT).sign(str(shipment_id))


def label_token_shipment_id(token: str) -> int | None:
    max_age = getattr(settings, "WMS_LABEL_LINK_DAYS", 30) * 86400
    try:
        return int(signing.TimestampSigner(salt=LABEL_SALT).unsign(token, max_age=max_age))
    except (signing.BadSignature, ValueError):
        return None


def label_url(shipment_id: int) -> str:
    base = getattr(settings, "PUBLIC_BASE_URL", "") or "http://localhost:8000"
    return base.rstrip("/") + reverse("wms-label", args=[label_token(shipment_id)])
