"""The WSGI start-up (fnac_connector/wsgi.py) loads every URLconf, then freezes what start-up made, so the garbage
collector's full passes no longer walk ~180,000 long-lived objects during requests (bench/lists.py, issue 14)."""

from __future__ import annotations

import gc
import importlib
import sys


def test_wsgi_start_loads_urls_and_freezes_start_up_objects():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    sys.modules.pop("fnac_connector.wsgi", None)
    try:
        module = importlib.import_module("fnac_connector.wsgi")
        assert callable(module.application)
        assert "orders.admin" in sys.modules and "orders.api" in sys.modules
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
