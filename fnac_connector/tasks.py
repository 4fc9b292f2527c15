"""Enqueueing django-q tasks after the surrounding transaction commits."""

from __future__ import annotations

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def enqueue(func: str, *args, group: str | None = None, task_name: str | None = None, **kwargs) -> None:
    """Enqueue ``func(*args, **kwargs)`` once the current transaction commits (immediately if none)."""

    def _send():
        from django_q.tasks import async_task

        options = {}
        if group:
            options["group"] = group
        if task_name:
            options["task_name"] = task_name
        async_task(func, *args, **kwargs, **({"q_options": options} if options else {}))

    transaction.on_commit(_send)
