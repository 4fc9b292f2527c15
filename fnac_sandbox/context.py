"""What the API modules need from the running sandbox, without importing the server (which imports them).

Dependencies run one way: ``server`` (and ``transport``, ``control``) at the top import the API modules
(``fnac_api``, ``fnac_offers``, ``fnac_orders``, ``mirakl_api``, ``simulation``), which import this module,
``state``, ``clock`` and the XML helpers, never the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .clock import SimClock
from .state import Store

DEFAULT_PARTNER_ID = "7d6f3a2e-0b1c-4e5f-8a9b-1c2d3e4f5a60"
DEFAULT_SHOP_ID = "3f8e2b1a-9c7d-4a6e-b5f4-2d1c0b9a8e71"
DEFAULT_KEY = "c0ffee00-5a9d-4b1e-9f3c-7e6d5c4b3a21"
DEFAULT_MIRAKL_KEY = "8b1d4c7e-2f5a-4e3b-a6c9-0d2e5f8a1b34"
MIRAKL_SHOP_ID = 2001


@dataclass(frozen=True)
class SandboxCredentials:
    partner_id: str = DEFAULT_PARTNER_ID
    shop_id: str = DEFAULT_SHOP_ID
    key: str = DEFAULT_KEY
    mirakl_key: str = DEFAULT_MIRAKL_KEY


class SandboxContext(Protocol):
    """The part of ``SandboxServer`` the API modules and the simulator use."""

    state: Store
    clock: SimClock
    credentials: SandboxCredentials
    mirakl_shop_id: int
    token_ttl: float
    batch_delay: float
    import_delay: float

    def process_pending(self) -> None: ...
    def batch_duration(self) -> float: ...
