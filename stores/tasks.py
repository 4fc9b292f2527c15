"""django-q tasks of the stores app (thin doors)."""

from __future__ import annotations

from stores import services


def runs_mark_stale_task() -> int:
    """Every few minutes (global schedule ``global:runs_mark_stale``): close the runs whose worker died."""
    return services.runs_mark_stale()
