"""Carrier adapters by name. ``get_adapter`` returns one instance per name per process, so state an
adapter keeps (a session, the sandbox's shipments) survives between create and cancel.

Real carriers register themselves at start-up, e.g. ``register("colissimo", lambda: Colissimo(...))``;
the factory is where credentials are passed in, so this module never reads settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from .base import CarrierAdapter
from .sandbox import SandboxCarrier

_factories: dict[str, Callable[[], CarrierAdapter]] = {}
_instances: dict[str, CarrierAdapter] = {}
_lock = threading.Lock()


class UnknownCarrier(LookupError):
    pass


def register(name: str, factory: Callable[[], CarrierAdapter], *, replace: bool = False) -> None:
    """Make ``factory`` the maker of adapter ``name``. Registering a taken name needs ``replace=True``
    (tests swapping in a fake); it drops the cached instance."""
    key = _key(name)
    with _lock:
        if key in _factories and not replace:
            raise ValueError(f"carrier adapter {key!r} is already registered")
        _factories[key] = factory
        _instances.pop(key, None)


def get_adapter(name: str) -> CarrierAdapter:
    key = _key(name)
    with _lock:
        if key not in _instances:
            try:
                factory = _factories[key]
            except KeyError:
                raise UnknownCarrier(
                    f"no carrier adapter {key!r}; known: {', '.join(sorted(_factories))}"
                ) from None
            _instances[key] = factory()
        return _instances[key]


def registered() -> list[str]:
    with _lock:
        return sorted(_factories)


def reset() -> None:
    """Forget cached instances (their in-memory state); factories stay. For tests."""
    with _lock:
        _instances.clear()


def _key(name: str) -> str:
    return name.strip().lower()


register("sandbox", SandboxCarrier)
