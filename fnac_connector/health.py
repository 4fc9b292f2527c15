"""``/health/`` for a load balancer (django-health-check): the database, the django-q broker, the cache and the
stores' order syncs. JSON, no login; it names checks and stores, never a URL, a host or a key.

200 ``{"status": "ok", "checks": {...}}`` when every check passes, 503 ``{"status": "unhealthy", ...}`` with the
reason of each failing check otherwise.
"""

from __future__ import annotations

import asyncio
import dataclasses

from asgiref.sync import sync_to_async
from django.db import DatabaseError
from django.http import JsonResponse
from django.utils import timezone
from django_q.brokers import get_broker
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

from stores.health import stores_with_stale_order_sync


@dataclasses.dataclass
class DatabaseCheck(Database):
    """``SELECT 1`` on a fresh connection (django-health-check's check)."""

    def __repr__(self):
        return "database"


@dataclasses.dataclass
class CacheCheck(Cache):
    """Set and read back a key (Redis when REDIS_URL, else the process's memory cache)."""

    def __repr__(self):
        return "cache"


@dataclasses.dataclass
class BrokerCheck(HealthCheck):
    """The django-q broker answers: Redis PING when REDIS_URL is set, else a read of the ORM queue table."""

    def __repr__(self):
        return "broker"

    async def run(self):
        # thread_sensitive: the ORM broker reads on the request's thread and connection (no stray connections)
        await sync_to_async(self._ping, thread_sensitive=True)()

    @staticmethod
    def _ping():
        broker = get_broker()
        kind = type(broker).__name__
        try:
            if not broker.ping():
                raise ServiceUnavailable(f"{kind} broker did not answer")
            broker.queue_size()  # the ORM broker's ping is always True: read its table for real
        except ServiceUnavailable:
            raise
        except Exception as exc:  # Redis and database errors share no base class
            raise ServiceUnavailable(f"{kind} broker unreachable ({type(exc).__name__})") from exc


@dataclasses.dataclass
class OrderSyncCheck(HealthCheck):
    """Every connected store with order import on had a successful order import within
    HEALTH_ORDER_SYNC_STALE_MINUTES; the message names the stores that did not."""

    def __repr__(self):
        return "order_sync"

    async def run(self):
        # thread_sensitive: the ORM work runs on the request's thread and connection
        stale = await sync_to_async(self._stale, thread_sensitive=True)()
        if stale:
            now = timezone.now()
            raise ServiceUnavailable("; ".join(s.describe(now) for s in stale))

    @staticmethod
    def _stale():
        try:
            return stores_with_stale_order_sync()
        except DatabaseError as exc:
            raise ServiceUnavailable(f"cannot read the sync runs ({type(exc).__name__})") from exc


class HealthView(HealthCheckView):
    checks = (DatabaseCheck, BrokerCheck, CacheCheck, OrderSyncCheck)

    async def get(self, request, *args, **kwargs):
        """Always JSON (a load balancer reads the status code; people read the reasons)."""
        with self.get_executor() as executor:
            self.results = await asyncio.gather(*(check.get_result(executor) for check in self.get_checks()))
        return self.render_to_response_json(503 if any(r.error for r in self.results) else 200)

    def render_to_response_json(self, status):
        return JsonResponse({
            "status": "unhealthy" if status != 200 else "ok",
            "checks": {repr(r.check): str(r.error) if r.error else "OK" for r in self.results},
        }, status=status)
