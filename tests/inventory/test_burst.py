"""Changes arriving in bulk are gathered into one call; a single change still goes at once."""

from __future__ import annotations

import pytest

from catalogue.models import Product
from inventory import push, services
from tests.inventory.conftest import offers_sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def burst(settings):
    settings.INVENTORY_PUSH_BURST_WINDOW_SECONDS = 15
    settings.INVENTORY_PUSH_BURST_THRESHOLD = 100


def test_a_burst_waits_for_its_window_then_goes_in_one_call(burst, live_products, sandbox, connected_store):
    products = live_products(150)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk for p in products], reason="test")
    sandbox.clear_requests()
    sleeps: list[float] = []
    report = push.stock_push(store=connected_store, sleep=sleeps.append)
    # changes still "arriving" (the fake clock never moves): held in 1 s steps up to the 15 s window
    assert 13 < report.held_seconds <= 15 and all(s <= 1.0 for s in sleeps[:10])
    assert [len(c) for c in offers_sent(sandbox)] == [150]


def test_a_burst_that_has_stopped_arriving_goes_at_once(burst, live_products, sandbox, connected_store):
    import datetime as dt

    from django.utils import timezone

    from inventory.models import OfferChange

    products = live_products(150)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk for p in products], reason="test")
    OfferChange.objects.update(changed_at=timezone.now() - dt.timedelta(seconds=3))  # quiet for 3 s
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store, sleep=lambda s: None)
    assert report.held_seconds == 0
    assert [len(c) for c in offers_sent(sandbox)] == [150]


def test_a_single_change_is_not_held(burst, live_products, sandbox, connected_store):
    (product,) = live_products(1)
    services.stock_adjust(product=product, delta=-1, source="api")
    sandbox.clear_requests()
    sleeps: list[float] = []
    report = push.stock_push(store=connected_store, sleep=sleeps.append)
    assert report.held_seconds == 0 and report.calls == 1
    assert all(s < 13 for s in sleeps)  # only batch_status polling waits


def test_a_full_call_is_not_held(burst, connected_store, sandbox, settings):
    import datetime as dt

    from django.db.models import F

    from inventory.models import OfferChange

    settings.INVENTORY_PUSH_MAX_OFFERS = 200
    Product.objects.bulk_create([Product(store=connected_store, sku=f"B-{i}", stock_on_hand=1,
                                         listing_state=Product.ListingState.LIVE) for i in range(250)])
    ids = list(Product.objects.filter(store=connected_store).values_list("id", flat=True))
    services.products_mark_changed(store=connected_store, product_ids=ids, reason="test")

    def sleep(seconds):  # the clock moves: the changes get older
        OfferChange.objects.update(changed_at=F("changed_at") - dt.timedelta(seconds=seconds))

    report = push.stock_push(store=connected_store, sleep=sleep)
    # 250 pending: a full call of 200 goes at once; the 50 left wait until no change has arrived for the quiet
    # time (they may be the head of a stream: 250 changed within the window), then go
    assert report.calls == 2 and report.held_seconds <= 2
    assert [len(call) for call in offers_sent(sandbox)] == [200, 50]


def test_changing_safety_stock_pushes_every_product_again(live_products, sandbox, connected_store):
    from stores.services import store_update

    products = live_products(3, on_hand=10)
    sandbox.clear_requests()
    store_update(store=connected_store, data={"safety_stock": 4})
    push.stock_push(store=connected_store)
    calls = offers_sent(sandbox)
    assert len(calls) == 1
    assert {o["sku"]: o["quantity"] for o in calls[0]} == {p.sku: "6" for p in products}


def test_the_head_of_a_flood_is_not_sprayed_in_small_calls(burst, live_products, sandbox, connected_store,
                                                           monkeypatch):
    """The first call of a flood goes at once; changes that keep arriving right after it (fewer than the burst
    threshold yet) wait with the flood instead of going out a dozen at a time (bench/stock_push.py saw 7 calls)."""
    import datetime as dt

    from django.db.models import F

    from inventory.models import OfferChange

    first, arriving, more = live_products(5), live_products(20), live_products(20)
    real_send = push._send_batch
    calls = {"n": 0}

    def send_while_changes_arrive(*args, **kwargs):
        ok = real_send(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 1:  # the flood goes on while the first call is out
            services.products_mark_changed(store=connected_store, product_ids=[p.pk for p in arriving], reason="t")
        return ok

    def sleep(seconds):  # the clock moves; one more wave arrives during the first hold
        OfferChange.objects.update(changed_at=F("changed_at") - dt.timedelta(seconds=seconds))
        if len(sleeps) == 0:
            services.products_mark_changed(store=connected_store, product_ids=[p.pk for p in more], reason="t")
        sleeps.append(seconds)

    sleeps: list[float] = []
    monkeypatch.setattr(push, "_send_batch", send_while_changes_arrive)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk for p in first], reason="test")
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store, sleep=sleep, follow_batches=False)
    # 5 at once, then the 40 that kept coming in one call once they had been quiet for the quiet time
    assert [len(c) for c in offers_sent(sandbox)] == [5, 40]
    assert report.held_seconds >= 2 and report.calls == 2


def test_a_few_changes_right_after_a_call_are_not_held(burst, live_products, connected_store):
    """Up to the spray minimum (2: a couple of manual edits) nothing waits; more, right after a call, is a stream."""
    products = live_products(2)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk for p in products], reason="test")
    assert push._burst_hold(connected_store.pk, ignore_backoff=False, just_sent=True) == 0
    products += live_products(1)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk for p in products], reason="test")
    assert push._burst_hold(connected_store.pk, ignore_backoff=False, just_sent=True) > 0
    assert push._burst_hold(connected_store.pk, ignore_backoff=False, just_sent=False) == 0
