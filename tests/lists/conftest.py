from __future__ import annotations

import pytest
from django.utils import timezone

from stores.models import Store


@pytest.fixture
def two_stores(db):
    return [Store.objects.create(name=f"Shop {c}", shop_id=f"shop-{c}", status=Store.Status.CONNECTED,
                                 connected_at=timezone.now()) for c in "AB"]
