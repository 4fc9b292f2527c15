"""Settings of the worker processes the chaos test starts and kills (``DJANGO_SETTINGS_MODULE=tests.chaos_settings``):
the product's settings, with short leases and small pages so that a kill lands in the middle of something and a
dead worker's lease lapses within the test. The test process applies the same ``CHAOS_OVERRIDES`` to itself."""

from fnac_connector.settings import *  # noqa: F403

CHAOS_OVERRIDES = {
    "SYNC_LOCK_TTL_SECONDS": 2.0,  # a killed worker's store lock lapses after 2 s (60 s in production)
    "INVENTORY_PUSH_LEASE_SECONDS": 2.0,  # and its claimed outbox rows too
    "SYNC_RUN_STALE_SECONDS": 3.0,  # its run is closed as failed ("worker died") after 3 s without heartbeat
    "ORDERS_PAGE_SIZE": 10,  # one transaction per 10 orders: an import is killed between pages or inside one
    "INVENTORY_PUSH_MAX_OFFERS": 40,  # a push takes several offers_update calls: a kill lands between them
    "INVENTORY_BATCH_POLL": (0.05, 0.1, 0.1, 0.2, 0.2, 0.3, 0.5),
    "INVENTORY_PUSH_BURST_WINDOW_SECONDS": 0,
    "MARKETPLACE_TIMEOUT": (2.0, 1.5),  # the sandbox's "slow" fault (2-3 s) becomes a read timeout: outcome unknown
    "MARKETPLACE_MAX_RETRIES": 2,
}
globals().update(CHAOS_OVERRIDES)
