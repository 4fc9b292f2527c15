"""django-q tasks (thin doors): each calls an inbox service."""

from __future__ import annotations

import datetime as dt

from inbox import services
from stores.models import Store


def inbox_sync_task(store_id: int, what: str = "messages", since: str | None = None, run_id: int | None = None,
                    trigger: str = "task") -> int | None:
    return services.inbox_sync_task_run(store_id=store_id, what=what, run_id=run_id, trigger=trigger,
                                        since=dt.datetime.fromisoformat(since) if since else None)


def messages_new_task(store_id: int) -> int | None:
    """Every 5 minutes per connected store: messages changed since the cursor."""
    if not Store.objects.filter(pk=store_id).exists():
        return None
    return inbox_sync_task(store_id, what="messages", trigger="schedule")


def comments_new_task(store_id: int) -> int | None:
    if not Store.objects.filter(pk=store_id).exists():
        return None
    return inbox_sync_task(store_id, what="comments", trigger="schedule")


def replies_resume_task() -> dict:
    """Global safety net: replies whose outcome is unknown or whose worker died are checked, sent only if absent."""
    return services.replies_resume()
