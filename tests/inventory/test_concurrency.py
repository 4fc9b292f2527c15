"""Concurrent stock updates on PostgreSQL: no lost update, and two drains never push the same rows twice."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from catalogue.models import Product
from inventory import push, services
from inventory.models import OfferChange
from tests.threads import run_in_threads

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (real concurrent transactions)")


def _threads(n, target):
    errors = run_in_threads(target, n)
    assert not errors, errors


def test_concurrent_adjustments_lose_no_update(store):
    p = Product.objects.create(store=store, sku="HOT", stock_on_hand=1000, price=Decimal("5.00"))

    def work(i):
        for _ in range(20):
            services.stock_adjust(product=Product.objects.get(pk=p.pk), delta=1 if i % 2 else -1, source="t")
            services.stock_adjust(product=Product.objects.get(pk=p.pk), delta=2, source="t")

    _threads(8, work)
    p.refresh_from_db()
    assert p.stock_on_hand == 1000 + 8 * 20 * 2  # +1/-1 cancel out, +2 each time
    assert OfferChange.objects.get(product=p).version == 8 * 20 * 2


def test_concurrent_removals_never_go_below_zero(store):
    p = Product.objects.create(store=store, sku="LAST", stock_on_hand=10)
    done = []

    def work(i):
        for _ in range(5):
            try:
                services.stock_adjust(product=Product.objects.get(pk=p.pk), delta=-1, source="t")
                done.append(1)
            except services.InvalidInput:
                pass

    _threads(6, work)
    p.refresh_from_db()
    assert p.stock_on_hand == 0 and len(done) == 10


def test_concurrent_batches_and_sets(store):
    products = [Product.objects.create(store=store, sku=f"S{i}", stock_on_hand=0) for i in range(5)]

    def work(i):
        for _ in range(10):
            services.stock_batch(store=store, items=[{"sku": p.sku, "delta": 1} for p in products], source="t")

    _threads(6, work)
    assert sorted(Product.objects.filter(store=store).values_list("stock_on_hand", flat=True)) == [60] * 5


def test_two_claims_at_once_never_share_a_row(store):
    ids = [Product.objects.create(store=store, sku=f"C{i}").pk for i in range(300)]
    services.products_mark_changed(store=store, product_ids=ids, reason="t")
    claimed = []

    def work(i):
        token, rows = push.claim(store_id=store.pk, limit=100)
        claimed.append([r["id"] for r in rows])

    _threads(5, work)
    flat = [row for rows in claimed for row in rows]
    assert len(flat) == len(set(flat)) == 300
