"""Reads for the doors (store-scoped like every app)."""

from __future__ import annotations

from django.db.models import QuerySet

from pricing.models import Competition, RepriceLog, RepricingRule
from stores.selectors import stores_for_user


def competition_for_user(user) -> QuerySet[Competition]:
    return Competition.objects.filter(store__in=stores_for_user(user)).select_related("product", "store")


def rules_for_user(user) -> QuerySet[RepricingRule]:
    return RepricingRule.objects.filter(store__in=stores_for_user(user)).select_related("product", "store")


def logs_for_user(user) -> QuerySet[RepriceLog]:
    return RepriceLog.objects.filter(store__in=stores_for_user(user)).select_related("product", "store")
