"""Inventory reads: which products need the seller's eye (the dashboard's figures and the Stock list's filters)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, Q
from django.utils import timezone

from catalogue.models import Product

# a stock/price change not answered by FNAC after this long is worth a look (a push normally takes seconds)
PUSH_WAIT_LIMIT = dt.timedelta(minutes=10)


def push_rejected_q() -> Q:
    """Products whose last stock/price push FNAC refused."""
    return Q(push_state=Product.PushState.REJECTED)


def push_waiting_q(*, now: dt.datetime | None = None) -> Q:
    """Products with a stock/price change waiting for FNAC for more than ``PUSH_WAIT_LIMIT`` (the latest change
    to the product was recorded before that and it is still not pushed)."""
    return Q(push_state=Product.PushState.PENDING,
             offer_change__changed_at__lt=(now or timezone.now()) - PUSH_WAIT_LIMIT)


def out_of_stock_q() -> Q:
    """Active offers live on FNAC with nothing to sell there: on hand minus reserved minus the store's safety stock
    is zero or less (catalogue.rules.sellable_quantity)."""
    return Q(is_active=True, listing_state=Product.ListingState.LIVE,
             stock_on_hand__lte=F("stock_reserved") + F("store__safety_stock"))
