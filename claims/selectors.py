"""Reads of claims and refunds, scoped to the stores a user may see (stores.selectors.stores_for_user)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from claims.models import Claim, LineRefund
from stores.selectors import stores_for_user


def claims_for_user(user) -> QuerySet[Claim]:
    return Claim.objects.filter(store__in=stores_for_user(user)).select_related("store", "order")


def refunds_for_user(user) -> QuerySet[LineRefund]:
    return LineRefund.objects.filter(store__in=stores_for_user(user)).select_related("store", "order", "claim")


def claims_waiting_q() -> Q:
    """Open claims waiting for the seller's answer: the dashboard figure and the claims list's filter."""
    return Q(status=Claim.Status.OPENED, waiting_for_seller=True)
