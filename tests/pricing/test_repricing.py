"""Repricing: the rule arithmetic, then end to end with the sandbox (watch -> reprice -> push -> watch ...)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalogue.models import Product
from inventory import push
from inventory.models import OfferChange
from pricing import services
from pricing.models import Competition, RepriceLog, RepricingRule
from pricing.repricing import NoPrice, round_down, round_up, target_price
from stores.models import Store, SyncRun

from .conftest import competitors

D = Decimal
S = RepricingRule.Strategy
B = RepricingRule.Bound


def rule(**kw):
    base = dict(strategy=S.BEAT_AMOUNT, beat_by=D("0.50"), floor_mode=B.ABSOLUTE, floor_price=D("10.00"),
                ceiling_mode=B.ABSOLUTE, ceiling_price=D("100.00"))
    base.update(kw)
    return RepricingRule(**base)


def target(r, lowest, *, shipping="0", cost=None, rounding=Store.PriceRounding.CENT):
    return target_price(r, lowest_total=D(lowest), our_shipping=D(shipping), cost=None if cost is None else D(cost),
                        rounding=rounding)[0]


@pytest.mark.parametrize("lowest", ["0.50", "5.00", "10.40", "10.50", "9.99"])
def test_floor_is_never_crossed(lowest):
    for rounding in Store.PriceRounding.values:
        assert target(rule(), lowest, rounding=rounding) >= D("10.00")
        assert target(rule(strategy=S.BEAT_PERCENT, beat_by=D("50")), lowest, rounding=rounding) >= D("10.00")


def test_ceiling_and_strategies():
    assert target(rule(), "500") == D("100.00")
    assert target(rule(strategy=S.MATCH), "42.00") == D("42.00")
    assert target(rule(), "42.00") == D("41.50")
    assert target(rule(strategy=S.BEAT_PERCENT, beat_by=D("10")), "42.00") == D("37.80")
    assert target(rule(strategy=S.STAY), "42.00") is None
    assert target(rule(), "42.00", shipping="2.39") == D("39.11")  # the total is what buyers compare


def test_cost_margin_bounds_and_refusals():
    r = rule(floor_mode=B.COST_MARGIN, floor_margin=D("20"), ceiling_mode=B.COST_MARGIN, ceiling_margin=D("80"))
    assert target(r, "5.00", cost="10.00") == D("12.00")
    assert target(r, "50.00", cost="10.00") == D("18.00")
    with pytest.raises(NoPrice, match="no cost price"):
        target(r, "5.00")
    with pytest.raises(NoPrice, match="no floor"):
        target(rule(floor_price=None), "5.00")
    with pytest.raises(NoPrice, match="above the ceiling"):
        target(rule(floor_price=D("50"), ceiling_price=D("40")), "45")


def test_rounding_stays_inside_the_bounds():
    assert round_down(D("12.34"), Store.PriceRounding.END_99) == D("11.99")
    assert round_up(D("12.34"), Store.PriceRounding.END_99) == D("12.99")
    assert round_down(D("12.34"), Store.PriceRounding.EURO) == D("12.00")
    # beat 12.50 by 0.50 -> 12.00 -> .99 rounding gives 11.99, unless the floor is 12.10: then 12.99
    assert target(rule(), "12.50", rounding=Store.PriceRounding.END_99) == D("11.99")
    assert target(rule(floor_price=D("12.10")), "12.50", rounding=Store.PriceRounding.END_99) == D("12.99")
    with pytest.raises(NoPrice, match="rounding"):
        target(rule(floor_price=D("12.10"), ceiling_price=D("12.50")), "12.50", rounding=Store.PriceRounding.END_99)
    # FNAC's limits hold whatever the rule says
    assert target(rule(floor_price=D("0.90"), strategy=S.MATCH), "0.10") == D("0.90")


def store_rule(store, **kw):
    kw.setdefault("enabled", True)
    r = rule(store=store, **kw)
    return services.rule_save(rule=r, data={})


def test_dry_run_changes_nothing_and_sends_nothing(live, sandbox, watch, connected_store):
    a, b = live(2, price="20.00")
    competitors(sandbox, a, ("15.00", "0", "11"))
    competitors(sandbox, b, ("30.00", "0", "11"))
    watch()
    store_rule(connected_store, enabled=False)
    sandbox.clear_requests()
    changes_before = OfferChange.objects.count()
    runs_before = SyncRun.objects.count()
    result = services.reprice(store=connected_store, dry_run=True)
    by_sku = {p.sku: p for p in result.proposals}
    assert by_sku[a.sku].new_price == D("12.11") and by_sku[b.sku].new_price == D("27.11")  # 15-0.5-2.39
    assert len(result.changed) == 2
    assert sandbox.requests == [] and OfferChange.objects.count() == changes_before
    assert SyncRun.objects.count() == runs_before and not RepriceLog.objects.exists()
    assert list(Product.objects.filter(pk__in=[a.pk, b.pk]).values_list("price", flat=True)) == [D("20.00")] * 2
    # and a disabled rule changes nothing when applied for real either
    assert services.reprice(store=connected_store).changed == []


def test_applied_changes_go_through_the_outbox_and_are_logged(live, sandbox, watch, connected_store):
    a, b, c = live(3, price="20.00")
    competitors(sandbox, a, ("15.00", "0", "11"))
    competitors(sandbox, b, ("2.00", "0", "11"))  # below the floor: held at 10.00
    competitors(sandbox, c, ("10.00", "0", "2"))  # only a used competitor: nothing to compare
    watch()
    store_rule(connected_store)
    result = services.reprice(store=connected_store, trigger="test")
    assert {p.sku: p.new_price for p in result.changed} == {a.sku: D("12.11"), b.sku: D("10.00")}
    assert {p.sku: p.reason for p in result.proposals}[c.sku] == "no competitor in the same condition"
    prices = dict(Product.objects.values_list("sku", "price"))
    assert prices[a.sku] == D("12.11") and prices[b.sku] == D("10.00") and prices[c.sku] == D("20.00")
    assert set(OfferChange.objects.filter(reason="reprice").values_list("product_id", flat=True)) == {a.pk, b.pk}
    log = RepriceLog.objects.get(product=b)
    assert (log.old_price, log.new_price, log.competitor_total) == (D("20.00"), D("10.00"), D("2.00"))
    assert "floor 10.00" in log.rule_text and "held at the floor" in log.reason
    assert result.run.kind == SyncRun.Kind.REPRICE and result.run.counts["changed"] == 2
    push.stock_push(store=connected_store)
    assert sandbox.state.offers[a.sku].price == D("12.11")


def test_product_rule_overrides_the_store_rule_and_sale_price_mapping(live, sandbox, watch, connected_store):
    a, b = live(2, price="20.00")
    Product.objects.filter(pk=b.pk).update(sale_price=D("19.00"))
    Store.objects.filter(pk=connected_store.pk).update(price_field=Store.PriceField.SALE_PRICE)
    connected_store.refresh_from_db()
    competitors(sandbox, a, ("15.00", "0", "11"))
    competitors(sandbox, b, ("15.00", "0", "11"))
    watch()
    store_rule(connected_store)
    services.product_cost_set(product=a, cost_price="11.00")
    services.rule_save(rule=RepricingRule(store=connected_store, product=a, enabled=True, strategy=S.MATCH,
                                          floor_mode=B.COST_MARGIN, floor_margin=D("10")), data={})
    services.reprice(store=connected_store)
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.price == D("12.61")  # match 15.00 - shipping 2.39, above cost + 10 % = 12.10
    assert b.sale_price == D("12.11") and b.price == D("20.00")  # the field the store's mapping sends


def test_no_oscillation_over_many_rounds(live, sandbox, watch, connected_store):
    """Our offer becomes the lowest and stays put: the competitor list never holds our own offer, so nothing pushes
    us to undercut ourselves round after round."""
    products = live(3, price="20.00")
    for p in products:
        competitors(sandbox, p, ("18.00", "1.00", "11"), ("25.00", "0", "11"))
    store_rule(connected_store, beat_by=D("0.01"))
    seen = []
    for _ in range(5):
        watch()
        services.reprice(store=connected_store)
        push.stock_push(store=connected_store)
        seen.append([sandbox.state.offers[p.sku].price for p in products])
    assert seen[0] == [D("16.60")] * 3  # 19.00 - 0.01 - 2.39
    assert all(prices == seen[0] for prices in seen)
    assert RepriceLog.objects.count() == 3  # one change per product, then never again
    assert list(Competition.objects.filter(store=connected_store).values_list("is_lowest", flat=True)) == [True] * 3


def test_rule_save_refuses_unsafe_rules(connected_store):
    from fnac_connector.errors import InvalidInput

    with pytest.raises(InvalidInput, match="floor price is required"):
        services.rule_save(rule=RepricingRule(store=connected_store, strategy=S.MATCH), data={})
    with pytest.raises(InvalidInput, match="above the ceiling"):
        services.rule_save(rule=RepricingRule(store=connected_store, floor_price=D("50"), ceiling_price=D("40")),
                           data={})
    assert not RepricingRule.objects.exists()
