"""Entry point other apps call when a product's sellable quantity or price may have changed.

Owned by the inventory capability; until it lands this records nothing.
"""

from __future__ import annotations

from collections.abc import Iterable


def record_change(*, store_id: int, product_ids: Iterable[int], reason: str = "") -> None:
    """Record, in the caller's transaction, that these products must be pushed to FNAC."""
    return None
