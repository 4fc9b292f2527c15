"""The outbox drained to the sandbox over HTTP: coalescing, batch limit, per-SKU results, dead workers, FNAC down,
in-flight changes, store switches."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from catalogue.models import Product
from inventory import push, services
from inventory.models import OfferChange, PushBatch, PushQueue
from stores.models import SyncRun

from .conftest import offers_sent


def test_a_change_reaches_fnac_after_commit(live_products, sandbox, django_capture_on_commit_callbacks):
    p, other = live_products(2, on_hand=10)
    sandbox.clear_requests()
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_adjust(product=p, delta=-3, source="api")
    calls = offers_sent(sandbox)
    assert calls == [[{"sku": p.sku, "price": "19.90", "quantity": "7"}]]  # sku, price, quantity only
    assert sandbox.state.offers[p.sku].quantity == 7
    p.refresh_from_db()
    assert (p.push_state, p.pushed_quantity, p.pushed_price, p.push_message) == (
        Product.PushState.IN_SYNC, 7, Decimal("19.90"), "")
    assert not OfferChange.objects.get(product=p).is_pending
    run = SyncRun.objects.get(kind=SyncRun.Kind.STOCK_PUSH)
    assert run.state == SyncRun.State.SUCCEEDED and run.counts["accepted"] == 1
    assert PushBatch.objects.get().status == "OK"


def test_pending_changes_are_coalesced_newest_value_per_sku(live_products, sandbox, connected_store):
    a, b, c = live_products(3, on_hand=10)
    for delta in (-1, -2, 5):
        services.stock_adjust(product=a, delta=delta, source="api")
    services.stock_set(product=b, quantity=4, source="api")
    services.stock_set(product=b, quantity=6, source="api")
    services.price_set(product=Product.objects.select_related("store").get(pk=c.pk), price="25.00", source="api")
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store)
    calls = offers_sent(sandbox)
    assert report.calls == 1 and len(calls) == 1
    by_sku = {o["sku"]: o for o in calls[0]}
    assert len(calls[0]) == 3
    assert by_sku[a.sku]["quantity"] == "12" and by_sku[b.sku]["quantity"] == "6"
    assert by_sku[c.sku]["price"] == "25.00"
    assert sandbox.state.offers[c.sku].price == Decimal("25.00")


def test_ten_thousand_and_one_changes_take_two_calls(connected_store, sandbox):
    products = [Product(store=connected_store, sku=f"BULK-{i:05d}", stock_on_hand=i % 50, price=Decimal("9.90"),
                        listing_state=Product.ListingState.LIVE) for i in range(10_001)]
    Product.objects.bulk_create(products, batch_size=2000)
    ids = list(Product.objects.filter(store=connected_store).values_list("id", flat=True))
    services.products_mark_changed(store=connected_store, product_ids=ids, reason="test")
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store)
    calls = offers_sent(sandbox)
    assert [len(c) for c in calls] == [10_000, 1]
    assert report.calls == 2 and report.sent == 10_001
    # the sandbox does not know these SKUs: each is rejected with FNAC's reason, and nothing stays pending
    assert report.rejected == 10_001
    assert not OfferChange.objects.filter(store=connected_store, version__gt=0).exclude(
        done_version=1).exists()


def test_per_sku_rejections_are_kept_on_the_product(live_products, sandbox, connected_store):
    good, = live_products(1, on_hand=3)
    ghost = Product.objects.create(store=connected_store, sku="GHOST-1", stock_on_hand=2, price=Decimal("5.00"),
                                   listing_state=Product.ListingState.LIVE)
    services.products_mark_changed(store=connected_store, product_ids=[good.pk, ghost.pk], reason="test")
    report = push.stock_push(store=connected_store)
    assert (report.accepted, report.rejected) == (1, 1)
    good.refresh_from_db(), ghost.refresh_from_db()
    assert good.push_state == Product.PushState.IN_SYNC and good.pushed_quantity == 3
    assert ghost.push_state == Product.PushState.REJECTED
    assert "ERR_106" in ghost.push_message and ghost.pushed_quantity is None
    assert PushBatch.objects.get().rejected == 1


def test_a_worker_killed_mid_push_is_taken_over_after_its_lease(live_products, sandbox, connected_store):
    a, b = live_products(2, on_hand=10)
    services.stock_set(product=a, quantity=4, source="api")
    services.stock_set(product=b, quantity=5, source="api")
    token, rows = push.claim(store_id=connected_store.pk)  # a worker claims, then dies before answering
    assert len(rows) == 2
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store)
    assert report.calls == 0 and offers_sent(sandbox) == []  # the lease is still running: not taken twice
    OfferChange.objects.filter(claim_token=token).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    report = push.stock_push(store=connected_store)
    assert report.accepted == 2
    assert {o["sku"]: o["quantity"] for o in offers_sent(sandbox)[0]} == {a.sku: "4", b.sku: "5"}
    assert sandbox.state.offers[a.sku].quantity == 4
    assert not OfferChange.objects.filter(claim_token=token).exists()


def test_fnac_unavailable_then_back(live_products, sandbox, connected_store):
    from django_q.models import Schedule

    p, = live_products(1, on_hand=10)
    services.stock_set(product=p, quantity=6, source="api")
    sandbox.set_faults(1.0, ["503"])
    report = push.stock_push(store=connected_store)
    assert report.deferred == 1 and "Unavailable" in report.error
    row = OfferChange.objects.get(product=p)
    assert row.is_pending and row.attempts == 1 and row.next_attempt_at > timezone.now()
    assert row.claim_token == ""
    assert Schedule.objects.filter(name=f"{push.RETRY_SCHEDULE_PREFIX}{connected_store.pk}").exists()
    p.refresh_from_db()
    assert p.push_state == Product.PushState.PENDING and "deferred" in p.push_message
    # backoff: a drain right now leaves it alone (the row's backoff and the store's: FNAC said "not now")
    assert PushQueue.objects.get(store=connected_store).backoff_until > timezone.now()
    assert push.stock_push(store=connected_store).calls == 0
    sandbox.set_faults(0.0)
    OfferChange.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    PushQueue.objects.update(backoff_until=None)
    report = push.stock_push(store=connected_store)
    assert report.accepted == 1
    assert sandbox.state.offers[p.sku].quantity == 6
    row.refresh_from_db()
    assert not row.is_pending and row.attempts == 0


class _ChangingClient:
    """Wraps the real client; the first offers_update makes another stock change while the batch is in flight."""

    def __init__(self, client, change):
        self.client, self.change, self.done = client, change, False

    def offers_update(self, offers):
        batch_id = self.client.offers_update(offers)
        if not self.done:
            self.done = True
            self.change()
        return batch_id

    def batch_status(self, batch_id):
        return self.client.batch_status(batch_id)


def test_a_sku_changed_while_in_flight_is_pushed_again_with_the_newest_value(live_products, sandbox,
                                                                            connected_store):
    from stores.clients import fnac_client_for

    p, = live_products(1, on_hand=10)
    services.stock_set(product=p, quantity=8, source="api")
    client = _ChangingClient(fnac_client_for(connected_store),
                             lambda: services.stock_set(product=p, quantity=3, source="api"))
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store, client=client)
    # 3 goes at once, while the batch carrying 8 is in flight; FNAC does not say in which order it applies two
    # batches, so once both are answered the current value is sent once more
    assert [[o["quantity"] for o in call] for call in offers_sent(sandbox)] == [["8"], ["3"], ["3"]]
    assert report.calls == 3
    assert sandbox.state.offers[p.sku].quantity == 3
    p.refresh_from_db()
    assert p.pushed_quantity == 3 and not OfferChange.objects.get(product=p).is_pending


def test_safety_stock_cap_and_deactivated_products_on_the_wire(live_products, sandbox, connected_store):
    connected_store.safety_stock = 2
    connected_store.save()
    big, small, off = live_products(3)
    Product.objects.filter(pk=big.pk).update(stock_on_hand=20_000, stock_reserved=5)
    Product.objects.filter(pk=small.pk).update(stock_on_hand=3, stock_reserved=2)
    Product.objects.filter(pk=off.pk).update(stock_on_hand=50, is_active=False)
    services.products_mark_changed(store=connected_store, product_ids=[big.pk, small.pk, off.pk], reason="t")
    sandbox.clear_requests()
    push.stock_push(store=connected_store)
    sent = {o["sku"]: o["quantity"] for o in offers_sent(sandbox)[0]}
    assert sent == {big.sku: "9999", small.sku: "0", off.sku: "0"}
    off.refresh_from_db()
    assert off.push_state == Product.PushState.HELD


def test_store_switches_are_respected(live_products, sandbox, connected_store):
    p, = live_products(1, on_hand=10)
    connected_store.sync_stock_enabled = False
    connected_store.save()
    services.stock_set(product=p, quantity=2, source="api")
    services.price_set(product=Product.objects.select_related("store").get(pk=p.pk), price="30.00", source="api")
    sandbox.clear_requests()
    push.stock_push(store=connected_store)
    assert offers_sent(sandbox) == [[{"sku": p.sku, "price": "30.00"}]]
    connected_store.sync_prices_enabled = False
    connected_store.save()
    services.stock_set(product=p, quantity=1, source="api")
    sandbox.clear_requests()
    assert push.stock_push(store=connected_store).calls == 0
    assert offers_sent(sandbox) == []
    assert OfferChange.objects.get(product=p).is_pending  # kept until a flow is switched on again


def test_unchanged_values_are_not_sent_again(live_products, sandbox, connected_store):
    p, = live_products(1, on_hand=10)
    services.stock_set(product=p, quantity=5, source="api")
    push.stock_push(store=connected_store)
    services.stock_adjust(product=p, delta=2, source="api")
    services.stock_adjust(product=p, delta=-2, source="api")  # back to what FNAC has
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store)
    assert report.calls == 0 and report.skipped == 1
    p.refresh_from_db()
    assert p.push_state == Product.PushState.IN_SYNC


def test_not_listed_products_are_not_pushed(connected_store, sandbox):
    p = Product.objects.create(store=connected_store, sku="NEW-1", stock_on_hand=4, price=Decimal("5.00"))
    services.stock_set(product=p, quantity=5, source="api")
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store)
    assert report.calls == 0 and report.skipped == 1
    assert not OfferChange.objects.get(product=p).is_pending


def test_a_drain_queued_per_burst_not_per_change(live_products, connected_store, django_capture_on_commit_callbacks,
                                                 monkeypatch):
    calls = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *a, **k: calls.append(a))
    a, b = live_products(2)
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_set(product=a, quantity=1, source="api")
    with django_capture_on_commit_callbacks(execute=True):
        services.stock_set(product=b, quantity=1, source="api")
    assert len(calls) == 1  # the first drain is queued and has not started: the second change rides along


def test_a_push_fnac_refuses_whole_is_split_and_only_the_offending_sku_is_rejected(live_products, sandbox,
                                                                                      connected_store):
    products = live_products(5, on_hand=10)
    bad = products[1]
    for p in products:
        services.stock_set(product=p, quantity=4, source="api")
    sandbox.refuse(skus=[bad.sku])
    sandbox.clear_requests()
    report = push.stock_push(store=connected_store)
    assert report.rejected == 1 and report.accepted == 4 and not report.error
    assert report.calls == len(sandbox.requests_for("offers_update")) > 1
    assert [sandbox.state.offers[p.sku].quantity for p in products if p != bad] == [4, 4, 4, 4]
    assert sandbox.state.offers[bad.sku].quantity != 4
    bad.refresh_from_db()
    assert bad.push_state == Product.PushState.REJECTED and bad.push_message.startswith("ERR_096: XML Validation")
    assert not OfferChange.objects.filter(version__gt=F("done_version")).exists()  # nothing left pending
    assert [len(call) for call in offers_sent(sandbox) if bad.sku in {o["sku"] for o in call}][-1] == 1


class _DownAfter:
    """The real client, but offers_update fails (FNAC unreachable, nothing sent) from its ``n``-th call on."""

    def __init__(self, client, n):
        self.client, self.n, self.calls = client, n, 0

    def offers_update(self, offers):
        from fnac_connector.marketplace.errors import Unavailable

        self.calls += 1
        if self.calls >= self.n:
            raise Unavailable("FNAC unreachable")
        return self.client.offers_update(offers)

    def batch_status(self, batch_id):
        return self.client.batch_status(batch_id)


def test_fnac_going_down_while_a_refused_push_is_split_keeps_what_was_sent_and_defers_the_rest(
        live_products, sandbox, connected_store):
    from stores.clients import fnac_client_for

    products = live_products(4, on_hand=10)
    for p in products:
        services.stock_set(product=p, quantity=3, source="api")
    sandbox.refuse(skus=[products[3].sku])  # the whole call is refused; its first half goes; then FNAC is down
    report = push.stock_push(store=connected_store, client=_DownAfter(fnac_client_for(connected_store), 3))
    assert report.accepted == 2 and report.deferred == 2 and report.unknown == 0 and "unreachable" in report.error
    assert [sandbox.state.offers[p.sku].quantity for p in products[:2]] == [3, 3]
    pending = {c.product_id: c for c in OfferChange.objects.filter(version__gt=F("done_version"))}
    assert set(pending) == {products[2].pk, products[3].pk} and all(c.force for c in pending.values())
    assert {b.status for b in PushBatch.objects.all()} == {"OK", "FAILED"}
