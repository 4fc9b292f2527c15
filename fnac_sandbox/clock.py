"""Simulated time for the sandbox: real time plus an offset that ``tick()`` advances.

Every date the sandbox shows is in Europe/Paris (offsets +01:00 / +02:00, like FNAC) and truncated to the
second, so what a client reads back can be used as-is as a ``min`` filter.
"""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class SimClock:
    def __init__(self) -> None:
        self._offset = dt.timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            offset = self._offset
        return (dt.datetime.now(dt.UTC) + offset).astimezone(PARIS).replace(microsecond=0)

    def advance(self, seconds: float) -> dt.datetime:
        with self._lock:
            self._offset += dt.timedelta(seconds=seconds)
        return self.now()

    @property
    def offset_seconds(self) -> float:
        return self._offset.total_seconds()

    def reset(self) -> None:
        with self._lock:
            self._offset = dt.timedelta(0)


def fmt(value: dt.datetime | None) -> str:
    """ISO 8601 with the Paris offset, e.g. ``2024-08-25T10:44:25+02:00``."""
    if value is None:
        return ""
    return value.astimezone(PARIS).isoformat(timespec="seconds")


def parse(text: str) -> dt.datetime:
    """Parse an xs:dateTime; naive values are taken as Paris time. Raises ValueError."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=PARIS)
    return value
