"""A log filter that scrubs anything that looks like a marketplace secret."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    re.compile(r"(<key>)[^<]*(</key>)", re.I),
    re.compile(r"(<token>)[^<]*(</token>)", re.I),
    re.compile(r"(\btoken=[\"']?)[0-9a-fA-F-]{8,}", re.I),
    re.compile(r"(Authorization[\"']?\s*[:=]\s*[\"']?)[^\s\"',}]+", re.I),
    re.compile(r"(\b(?:key|api_key|fnac_key|mirakl_api_key|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+", re.I),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "[REDACTED]" + (m.group(2) if m.lastindex == 2 else ""),
                           text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken log call must not break the caller
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
