"""Fault injection: which requests get a fault, and of which kind.

A FNAC or Mirakl API request is faulted with probability ``rate``; the kind is drawn from ``kinds``. The draw
uses a ``random.Random`` seeded from the sandbox seed, so a sequential client sees the same faults run after
run. Control endpoints (``/sandbox/...``) are never faulted.

What each kind does, and whether a WRITE (offers_update, orders_update, Mirakl P41) was applied:

==============  ===================================================================  ============
kind            answer                                                               write applied
==============  ===================================================================  ============
``429``         HTTP 429, ``Retry-After: 1``, before anything is read or processed  no
``500``         HTTP 500 (HTML body), before processing                             no
``503``         HTTP 503, ``Retry-After: 1``, before processing                     no
``drop``        connection closed without any answer, before processing             no
``expired_token`` FNAC only (not auth): a normal-looking ERR_097 answer, no processing  no
``slow``        processed normally, answer sent after 2-3 s (``slow_range``)         yes
``truncated``   processed, then only the first half of the body is sent (the         yes
                Content-Length header announces that half, so HTTP is clean but the
                XML/JSON is cut)
==============  ===================================================================  ============

``slow`` and ``truncated`` are the "unknown outcome" cases: the write landed but the client cannot tell (a
client timeout shorter than the delay turns ``slow`` into a timeout after the write was applied).
"""

from __future__ import annotations

import random
import threading

FAULT_KINDS = ("429", "500", "503", "slow", "drop", "truncated", "expired_token")
APPLIES_WRITE = {
    "429": False,
    "500": False,
    "503": False,
    "drop": False,
    "expired_token": False,
    "slow": True,
    "truncated": True,
}


class FaultInjector:
    def __init__(self, seed: int, rate: float = 0.0, kinds=None) -> None:
        self.seed = seed
        self._lock = threading.Lock()
        self._rng = random.Random(f"{seed}:faults")
        self.slow_range = (2.0, 3.0)
        self.rate = 0.0
        self.kinds: tuple[str, ...] = FAULT_KINDS
        self.set(rate, kinds)

    def set(self, rate: float, kinds=None) -> None:
        rate = float(rate)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fault rate must be between 0 and 1")
        if kinds is None or kinds == [] or kinds == ():
            kinds = FAULT_KINDS
        if isinstance(kinds, str):
            kinds = [k.strip() for k in kinds.split(",") if k.strip()]
        kinds = tuple(str(k) for k in kinds)
        unknown = [k for k in kinds if k not in FAULT_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; known: {list(FAULT_KINDS)}")
        with self._lock:
            self.rate = rate
            self.kinds = kinds

    def reseed(self) -> None:
        with self._lock:
            self._rng = random.Random(f"{self.seed}:faults")

    def decide(self, api: str, service: str) -> str | None:
        """The fault for this request, or None. ``expired_token`` only applies to FNAC services other than
        auth; when it is the only kind left for a request, the request is not faulted."""
        with self._lock:
            if self.rate <= 0:
                return None
            if self._rng.random() >= self.rate:
                return None
            kinds = [k for k in self.kinds if k != "expired_token" or (api == "fnac" and service != "auth")]
            if not kinds:
                return None
            return self._rng.choice(kinds)

    def slow_delay(self) -> float:
        with self._lock:
            lo, hi = self.slow_range
            return self._rng.uniform(lo, hi)
