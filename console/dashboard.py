"""The admin home page: what needs the seller's attention now (filled by the dashboard work)."""

from __future__ import annotations


def dashboard_callback(request, context: dict) -> dict:
    return context
