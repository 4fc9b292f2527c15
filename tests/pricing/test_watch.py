"""The price watch against the sandbox over real HTTP: what it sends, what it stores, how it backs off."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from catalogue.models import Product
from pricing.models import Competition
from stores.models import SyncRun

from .conftest import competitors


def refs_sent(sandbox) -> list[list[str]]:
    calls = []
    for rec in sandbox.requests_for("pricing_query"):
        root = etree.fromstring(rec.body)
        calls.append([el.text for el in root if etree.QName(el).localname == "product_reference"])
    return calls


def test_live_products_are_read_ten_per_call_and_others_skipped(live, sandbox, watch, connected_store, sleeps):
    products = live(25)
    Product.objects.create(store=connected_store, sku="NO-EAN", listing_state=Product.ListingState.LIVE)
    Product.objects.create(store=connected_store, sku="NOT-LIVE", ean="4006381333931",
                           listing_state=Product.ListingState.NOT_LISTED)
    sandbox.clear_requests()
    run = watch()
    calls = refs_sent(sandbox)
    assert [len(c) for c in calls] == [10, 10, 5]
    assert sorted(sum(calls, [])) == sorted(p.ean for p in products)
    assert run.state == SyncRun.State.SUCCEEDED and run.kind == SyncRun.Kind.PRICE_WATCH
    assert run.counts["read"] == 25 and run.counts["calls"] == 3
    assert Competition.objects.filter(store=connected_store, state=Competition.State.OK).count() == 25
    assert not Competition.objects.filter(product__sku__in=["NO-EAN", "NOT-LIVE"]).exists()
    assert len(sleeps) == 2 and all(0 < s <= 0.5 for s in sleeps)  # paced: one call per 0.5 s at most


def test_lowest_in_same_condition_only_and_position(live, sandbox, watch):
    ours, other = live(2, price="20.00")
    # a cheaper used offer must not count against our new one
    competitors(sandbox, ours, ("30.00", "0", "11"), ("25.00", "1.00", "11"), ("5.00", "0", "2"))
    competitors(sandbox, other, ("10.00", "2.00", "11", "fnac"))
    watch()
    a = Competition.objects.get(product=ours)
    assert (a.lowest_total, a.competitors, a.condition) == (Decimal("26.00"), 2, "11")
    assert a.our_total == Decimal("22.39") and a.is_lowest is True  # 20.00 + the sandbox's 2.39 shipping
    b = Competition.objects.get(product=other)
    assert b.lowest_total == Decimal("12.00") and b.is_lowest is False and b.lowest_seller_type == "fnac"
    assert len(a.history) == 1 and a.history[0][1:] == ["26.00", "22.39"]


def test_history_is_bounded(live, sandbox, watch, settings):
    settings.PRICING_HISTORY_POINTS = 3
    [product] = live(1)
    for _ in range(5):
        watch()
    assert len(Competition.objects.get(product=product).history) == 3


def test_invalid_eans_are_marked_and_not_retried_each_run(live, sandbox, watch, connected_store):
    [good] = live(1)
    bad = Product.objects.create(store=connected_store, sku="BAD", ean="1234567890123",
                                 listing_state=Product.ListingState.LIVE)
    unknown = Product.objects.create(store=connected_store, sku="UNK", ean="0001234567895",
                                     listing_state=Product.ListingState.LIVE)
    Product.objects.create(store=connected_store, sku="LOCAL", ean="12 34", listing_state=Product.ListingState.LIVE)
    run = watch()
    assert run.state == SyncRun.State.PARTIAL and run.counts["invalid_ean"] == 3
    states = dict(Competition.objects.values_list("product__sku", "state"))
    assert states == {good.sku: "ok", "BAD": "invalid", "UNK": "invalid", "LOCAL": "invalid"}
    assert Competition.objects.get(product=unknown).error_code == "ERR_026"
    assert "12 34" not in sum(refs_sent(sandbox), [])  # never sent: it would refuse the whole call
    sandbox.clear_requests()
    watch()
    assert refs_sent(sandbox) == [[good.ean]]  # the refused EANs wait for their back-off
    comp = Competition.objects.get(product=bad)
    assert comp.failures == 1 and comp.retry_after > comp.checked_at + dt.timedelta(days=6)
    # once the back-off is over they are asked again, and the next back-off is longer
    Competition.objects.filter(product=bad).update(retry_after=comp.checked_at)
    sandbox.clear_requests()
    watch()
    assert sorted(sum(refs_sent(sandbox), [])) == sorted([good.ean, bad.ean])
    again = Competition.objects.get(product=bad)
    assert again.failures == 2 and again.retry_after - again.checked_at > dt.timedelta(days=13)


def test_rate_limited_backs_off_then_leaves_the_rest_for_the_next_run(live, sandbox, watch, sleeps):
    products = live(12)
    sandbox.set_faults(1.0, ["429"])
    run = watch()
    assert run.counts["backoffs"] == 2 and run.counts["read"] == 0
    assert [s for s in sleeps if s >= 30] == [30, 60]  # PRICING_BACKOFF_SECONDS, doubled
    assert "remaining products wait for the next run" in run.message
    assert not Competition.objects.filter(state=Competition.State.INVALID).exists()
    sandbox.set_faults(0.0)
    run = watch()
    assert run.counts["read"] == 12 and Competition.objects.filter(state="ok").count() == len(products)


def test_unavailable_is_backed_off_too(live, sandbox, watch, sleeps, settings):
    settings.PRICING_MAX_BACKOFFS = 0
    live(3)
    sandbox.set_faults(1.0, ["503"])
    run = watch()
    assert run.counts["read"] == 0 and "Unavailable" in run.message


def test_scheduled_tick_takes_its_share_recent_changes_first(live, sandbox, watch, connected_store, settings):
    settings.PRICING_WATCH_INTERVAL_HOURS = 1
    settings.PRICING_WATCH_TICK_MINUTES = 15  # a quarter of the products per tick
    products = live(20)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    Product.objects.filter(pk__in=[p.pk for p in products]).update(updated_at=old)
    Product.objects.filter(pk=products[-1].pk).update(updated_at=dt.datetime.now(dt.UTC))
    sandbox.clear_requests()
    watch(full=False)
    sent = sum(refs_sent(sandbox), [])
    assert len(sent) == 5 and sent[0] == products[-1].ean
    watch(full=False)
    watch(full=False)
    watch(full=False)
    assert Competition.objects.filter(store=connected_store).count() == 20  # every product within the interval


def test_sku_option_reads_only_those(live, sandbox, watch):
    a, b, c = live(3)
    sandbox.clear_requests()
    run = watch(skus=[b.sku, "NOPE"])
    assert refs_sent(sandbox) == [[b.ean]]
    assert run.issues.filter(reference="NOPE").exists()


def refs_with_type(sandbox) -> list[list[tuple[str, str]]]:
    calls = []
    for rec in sandbox.requests_for("pricing_query"):
        root = etree.fromstring(rec.body)
        calls.append([(el.get("type"), el.text) for el in root if etree.QName(el).localname == "product_reference"])
    return calls


def test_products_without_ean_are_watched_by_fnac_product_id(live, sandbox, watch, connected_store):
    """A catalogue imported from FNAC has no EAN (offers_query carries none), only FNAC's product id: those
    products are asked for with product_reference type="FnacId", in calls of their own, and read like the rest."""
    with_ean = live(3)
    imported = live(12, price="20.00")
    fnac_ids = {}
    with sandbox.state.lock:
        by_sku = {o.sku: o for o in sandbox.state.offers.values()}
    for p in imported:
        fnac_ids[p.pk] = by_sku[p.sku].product_fnac_id
    for p in imported:  # as catalogue_sync leaves them: no EAN, FNAC's product id
        Product.objects.filter(pk=p.pk).update(ean="", fnac_product_id=fnac_ids[p.pk])
    competitors(sandbox, imported[0], ("15.00", "0", "11"))  # pinned on the product's EAN, found through its id
    Product.objects.create(store=connected_store, sku="UNKNOWN-ID", fnac_product_id="999999999",
                           listing_state=Product.ListingState.LIVE)
    Product.objects.create(store=connected_store, sku="NOTHING", listing_state=Product.ListingState.LIVE)
    sandbox.clear_requests()

    run = watch()
    calls = refs_with_type(sandbox)
    assert [len(c) for c in calls] == [3, 10, 3]
    assert {t for t, _ in calls[0]} == {"Ean"} and {t for c in calls[1:] for t, _ in c} == {"FnacId"}
    assert sorted(v for c in calls[1:] for _, v in c) == sorted([*fnac_ids.values(), "999999999"])
    assert run.counts["read"] == 15 and run.counts["invalid_ean"] == 1
    assert "12 asked by FNAC product id" not in run.message and "13 asked by FNAC product id" in run.message
    first = Competition.objects.get(product=imported[0])
    assert first.state == Competition.State.OK and first.lowest_total == Decimal("15.00")
    assert first.is_lowest is False  # ours is 20.00 + 2.39
    unknown = Competition.objects.get(product__sku="UNKNOWN-ID")
    assert unknown.state == Competition.State.INVALID and unknown.error_code
    issue = run.issues.get(reference="UNKNOWN-ID")
    assert "FNAC product id 999999999" in issue.message
    assert not Competition.objects.filter(product__sku="NOTHING").exists()
    assert Competition.objects.filter(product__in=with_ean, state=Competition.State.OK).count() == 3
