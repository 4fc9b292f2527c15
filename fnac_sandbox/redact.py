"""Masks credentials in what the sandbox keeps in its request log.

The log is served without login (``GET /sandbox/requests``), and a connector pointed at the sandbox by mistake
may send a real FNAC key, so the log never holds a key or a token in full: ``<key>`` elements (FNAC ``auth``),
``token="..."`` attributes (every other FNAC call), ``<token>`` elements and credential-like query parameters
keep their last 4 characters only (``****3a21``). Everything else in the body is kept byte for byte, so the
recorded XML still parses and tests can assert on it. The requests themselves are answered from the
unmasked body. Mirakl's ``Authorization`` header is not recorded at all.
"""

from __future__ import annotations

import re

MASK = "****"
KEEP = 4  # trailing characters kept, so a log reader can tell which key was sent
MIN_LENGTH_TO_KEEP = 12  # shorter values are masked whole: 4 characters would be too much of them

_ELEMENTS = re.compile(rb"(<(?:[\w.-]+:)?(?:key|token)\b[^>]*>)(.*?)(</(?:[\w.-]+:)?(?:key|token)\s*>)",
                       re.I | re.S)
_ATTRIBUTES = re.compile(rb"""(\btoken\s*=\s*)(["'])(.*?)(\2)""", re.I | re.S)
SECRET_QUERY_PARAMETERS = frozenset({"key", "api_key", "apikey", "token", "access_token", "authorization"})


def mask(value: str) -> str:
    """``****`` plus the last 4 characters; empty stays empty (the log shows that nothing was sent)."""
    if not value:
        return value
    return MASK + (value[-KEEP:] if len(value) >= MIN_LENGTH_TO_KEEP else "")


def _mask_bytes(value: bytes) -> bytes:
    return mask(value.decode("utf-8", "replace")).encode()


def mask_body(body: bytes) -> bytes:
    lowered = body.lower()
    # most bodies (a 10,000-offer offers_update) hold no key or token element: skip that slower pass then
    if b"key" in lowered or b"</token" in lowered or b":token" in lowered:
        body = _ELEMENTS.sub(lambda m: m.group(1) + _mask_bytes(m.group(2)) + m.group(3), body)
    return _ATTRIBUTES.sub(lambda m: m.group(1) + m.group(2) + _mask_bytes(m.group(3)) + m.group(4), body)


def mask_query(query: dict) -> dict:
    return {name: mask(value) if name.lower() in SECRET_QUERY_PARAMETERS else value for name, value in query.items()}
