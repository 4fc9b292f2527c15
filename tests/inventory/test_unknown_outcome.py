"""Issue 9, item 6: after a push whose outcome is unknown (the batch landed, its answer was lost), the product's
"last pushed" record proves nothing: the next push re-sends the current absolute values, even when they equal
that record, so FNAC never keeps the value of a batch the connector thinks failed."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from catalogue.models import Product
from fnac_connector.marketplace.errors import BadResponse, OutcomeUnknown
from inventory import push, services
from inventory.models import OfferChange, PushBatch, PushQueue

from .conftest import offers_sent


def _due_now(product):
    """Skip the retry backoff (what the clock would do): the rows' and the store's (FNAC's "not now")."""
    OfferChange.objects.filter(product=product).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    PushQueue.objects.update(backoff_until=None)


def test_a_batch_that_landed_with_a_cut_answer_is_sent_again_with_the_current_value(live_products, sandbox,
                                                                                     connected_store):
    p, = live_products(1, on_hand=10)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk], reason="test")
    assert push.stock_push(store=connected_store).accepted == 1  # FNAC has 10, and the product knows it
    assert sandbox.state.offers[p.sku].quantity == 10

    # 9 is sent; FNAC applies it but the answer is cut in half: the connector cannot know it landed
    services.stock_set(product=p, quantity=9, source="api")
    sandbox.set_faults(1.0, ["truncated"])
    report = push.stock_push(store=connected_store)
    sandbox.set_faults(0.0)
    assert report.deferred == 1 and report.unknown == 1 and report.accepted == 0
    assert sandbox.state.offers[p.sku].quantity == 9  # it landed
    batch = PushBatch.objects.order_by("-id").first()
    assert batch.status == "UNKNOWN" and "BadResponse" in batch.message
    row = OfferChange.objects.get(product=p)
    assert row.is_pending and row.force
    p.refresh_from_db()
    assert p.pushed_quantity == 10 and "outcome unknown" in p.push_message

    # the stock goes back to 10: equal to what the product's record says was last pushed
    services.stock_set(product=p, quantity=10, source="api")
    _due_now(p)
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store)
    # never assume: 10 is sent again, so FNAC stops showing the 9 of the "failed" batch
    assert offers_sent(sandbox) == [[{"sku": p.sku, "price": "19.90", "quantity": "10"}]]
    assert report.accepted == 1
    assert sandbox.state.offers[p.sku].quantity == 10
    row.refresh_from_db()
    assert not row.is_pending and not row.force
    p.refresh_from_db()
    assert (p.push_state, p.pushed_quantity) == (Product.PushState.IN_SYNC, 10)
    assert PushBatch.objects.order_by("-id").first().status == "OK"


class _LosesStatus:
    """The real client, except that every batch_status answer is lost (the batch was accepted: it will land)."""

    def __init__(self, client):
        self.client = client

    def offers_update(self, offers):
        return self.client.offers_update(offers)

    def batch_status(self, batch_id):
        raise BadResponse("batch_status: the answer was cut")


def test_an_accepted_batch_not_followed_to_its_end_is_unknown_and_sent_again(live_products, sandbox,
                                                                            connected_store):
    from stores.clients import fnac_client_for

    p, = live_products(1, on_hand=10)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk], reason="test")
    push.stock_push(store=connected_store)

    services.stock_set(product=p, quantity=4, source="api")
    report = push.stock_push(store=connected_store, client=_LosesStatus(fnac_client_for(connected_store)))
    assert report.unknown == 1 and sandbox.state.offers[p.sku].quantity == 4
    assert PushBatch.objects.order_by("-id").first().status == "UNKNOWN"

    services.stock_set(product=p, quantity=10, source="api")
    _due_now(p)
    sandbox.clear_requests()
    push.stock_push(store=connected_store)
    assert [[o["quantity"] for o in call] for call in offers_sent(sandbox)] == [["10"]]
    assert sandbox.state.offers[p.sku].quantity == 10


class _TimesOut:
    """offers_update reaches FNAC and lands, then the read times out (the transport's OutcomeUnknown)."""

    def __init__(self, client):
        self.client = client

    def offers_update(self, offers):
        self.client.offers_update(offers)
        raise OutcomeUnknown("fnac offers_update: ReadTimeout after the request was sent; the outcome is unknown")

    def batch_status(self, batch_id):
        return self.client.batch_status(batch_id)


def test_a_write_timeout_is_unknown_not_failed(live_products, sandbox, connected_store):
    from stores.clients import fnac_client_for

    p, = live_products(1, on_hand=10)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk], reason="test")
    push.stock_push(store=connected_store)
    services.stock_set(product=p, quantity=7, source="api")
    push.stock_push(store=connected_store, client=_TimesOut(fnac_client_for(connected_store)))
    assert PushBatch.objects.order_by("-id").first().status == "UNKNOWN"
    assert OfferChange.objects.get(product=p).force


def test_a_refused_call_is_failed_and_still_sent_again(live_products, sandbox, connected_store):
    """503 is FNAC saying "not now" before doing anything: FAILED, not UNKNOWN; the rows are re-sent anyway."""
    p, = live_products(1, on_hand=10)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk], reason="test")
    push.stock_push(store=connected_store)
    services.stock_set(product=p, quantity=5, source="api")
    sandbox.set_faults(1.0, ["503"])
    report = push.stock_push(store=connected_store)
    sandbox.set_faults(0.0)
    assert report.deferred == 1 and report.unknown == 0
    assert PushBatch.objects.order_by("-id").first().status == "FAILED"
    assert sandbox.state.offers[p.sku].quantity == 10  # nothing landed
    services.stock_set(product=p, quantity=10, source="api")
    _due_now(p)
    sandbox.clear_requests()
    push.stock_push(store=connected_store)
    assert [[o["quantity"] for o in call] for call in offers_sent(sandbox)] == [["10"]]


def test_rows_of_a_drain_that_died_mid_push_are_sent_again(live_products, sandbox, connected_store):
    """A worker killed after its batch landed and before it recorded the answer: same as an unknown outcome."""
    from fnac_connector.marketplace.fnac.types import OfferUpdate
    from stores.clients import fnac_client_for

    p, = live_products(1, on_hand=10)
    services.products_mark_changed(store=connected_store, product_ids=[p.pk], reason="test")
    push.stock_push(store=connected_store)
    services.stock_set(product=p, quantity=9, source="api")
    token, rows = push.claim(store_id=connected_store.pk)  # the dying drain claims the row...
    fnac_client_for(connected_store).offers_update([OfferUpdate(sku=p.sku, quantity=9)])  # ...its batch lands...
    assert sandbox.state.offers[p.sku].quantity == 9
    # ...and it is killed: its claim lapses (the lease is not renewed any more)
    OfferChange.objects.filter(claim_token=token).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    services.stock_set(product=p, quantity=10, source="api")  # back to what the product's record says was pushed
    sandbox.clear_requests()
    push.stock_push(store=connected_store)
    assert [[o["quantity"] for o in call] for call in offers_sent(sandbox)] == [["10"]]
    assert sandbox.state.offers[p.sku].quantity == 10
