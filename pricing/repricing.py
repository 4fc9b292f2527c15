"""Repricing: from the last competitor reading and the seller's rule to a new price, within every limit.

``target_price`` is the one pure function (tests pin it): the strategy's aim from the lowest competing total
(same condition only: the watch never mixes conditions), minus our own shipping, then the floor and ceiling
(absolute, or cost + margin %), FNAC's price limits, and the store's rounding, in that order, rounding towards
the inside of the bounds so a rounded price never crosses the floor or the ceiling.

Our own offer is never a competitor (the watch asks FNAC for the others only), so the aim depends on the other
sellers alone: running the repricer again on the same reading gives the same price, and a price that is already
the lowest is not undercut again (no oscillation, no race to the floor against ourselves).

``reprice`` applies the plan: the new values are written to the OMS field the store's price mapping uses (price,
or the sale price when the store maps it and the product has one), a ``RepriceLog`` row per change, and one
outbox record for all of them (``inventory.outbox.record_changes``), so the push coalesces and batches them like
any other price change. ``dry_run`` computes the same plan and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils import timezone

from catalogue.models import Product
from catalogue.rules import CENT, mapped_price, round_price
from fnac_connector.marketplace.fnac import limits
from inventory.outbox import record_changes
from pricing.models import Competition, RepriceLog, RepricingRule
from pricing.watch import interval
from stores.models import Store, SyncRun
from stores.syncs import store_lock, sync_run

LOCK_NAME = "reprice"
R = RepricingRule
ONE = Decimal("1")
HUNDRED = Decimal("100")


class NoPrice(ValueError):
    """The rule leaves no price: a floor above the ceiling, a bound that needs a cost price the product lacks."""


@dataclass(frozen=True)
class Bounds:
    floor: Decimal
    ceiling: Decimal


def bound_value(mode: str, price: Decimal | None, margin: Decimal | None, cost: Decimal | None,
                what: str) -> Decimal | None:
    if mode == R.Bound.COST_MARGIN:
        if margin is None:
            raise NoPrice(f"the {what} is cost + margin but no margin is set")
        if cost is None:
            raise NoPrice(f"the {what} is cost + margin % but the product has no cost price")
        return (cost * (ONE + margin / HUNDRED)).quantize(CENT, rounding=ROUND_HALF_UP)
    return price


def bounds_for(rule: RepricingRule, cost: Decimal | None) -> Bounds:
    floor = bound_value(rule.floor_mode, rule.floor_price, rule.floor_margin, cost, "floor")
    if floor is None:
        raise NoPrice("the rule has no floor price (a repricer without a floor may sell at a loss)")
    ceiling = bound_value(rule.ceiling_mode, rule.ceiling_price, rule.ceiling_margin, cost, "ceiling")
    floor = max(floor, limits.MIN_PRICE)
    ceiling = min(ceiling if ceiling is not None else limits.MAX_PRICE, limits.MAX_PRICE)
    if floor > ceiling:
        raise NoPrice(f"the floor {floor} is above the ceiling {ceiling}")
    return Bounds(floor, ceiling)


def round_up(value: Decimal, rounding: str) -> Decimal:
    """The smallest price the store's rounding can produce that is >= value."""
    if rounding == Store.PriceRounding.EURO:
        return value.quantize(ONE, rounding=ROUND_CEILING).quantize(CENT)
    if rounding in (Store.PriceRounding.END_99, Store.PriceRounding.END_90):
        return round_price(value, rounding)  # these round upwards already
    return value.quantize(CENT, rounding=ROUND_CEILING)


def round_down(value: Decimal, rounding: str) -> Decimal:
    """The largest price the store's rounding can produce that is <= value."""
    if rounding == Store.PriceRounding.EURO:
        return value.quantize(ONE, rounding=ROUND_FLOOR).quantize(CENT)
    if rounding in (Store.PriceRounding.END_99, Store.PriceRounding.END_90):
        end = Decimal("0.99") if rounding == Store.PriceRounding.END_99 else Decimal("0.90")
        base = value.quantize(ONE, rounding=ROUND_FLOOR)
        candidate = base + end
        return candidate if candidate <= value else base - ONE + end
    return value.quantize(CENT, rounding=ROUND_FLOOR)


def aim(rule: RepricingRule, lowest_total: Decimal) -> Decimal | None:
    """The total (price + shipping) the strategy aims at, or None to stay put."""
    if rule.strategy == R.Strategy.MATCH:
        return lowest_total
    if rule.strategy == R.Strategy.BEAT_AMOUNT:
        return lowest_total - rule.beat_by
    if rule.strategy == R.Strategy.BEAT_PERCENT:
        return (lowest_total * (ONE - rule.beat_by / HUNDRED)).quantize(CENT, rounding=ROUND_FLOOR)
    return None


def target_price(rule: RepricingRule, *, lowest_total: Decimal, our_shipping: Decimal | None,
                 cost: Decimal | None, rounding: str) -> tuple[Decimal | None, str]:
    """(new price or None, why). Raises NoPrice when the bounds leave nothing."""
    bounds = bounds_for(rule, cost)
    total = aim(rule, lowest_total)
    if total is None:
        return None, "stay put"
    wanted = total - (our_shipping or 0)
    why = f"{rule.get_strategy_display().lower()} {lowest_total}"
    if wanted < bounds.floor:
        wanted, why = bounds.floor, f"{why}, held at the floor {bounds.floor}"
    elif wanted > bounds.ceiling:
        wanted, why = bounds.ceiling, f"{why}, held at the ceiling {bounds.ceiling}"
    # round towards the inside of the bounds: down when aiming to undercut, never below the floor
    price = round_down(wanted, rounding)
    if price < bounds.floor:
        price = round_up(bounds.floor, rounding)
    if price > bounds.ceiling:
        raise NoPrice(f"no price the store's rounding allows lies between {bounds.floor} and {bounds.ceiling}")
    return price, why


# ---------------------------------------------------------------- the plan
@dataclass
class Proposal:
    product_id: int
    sku: str
    rule_id: int | None
    rule_text: str
    enabled: bool
    competitor_total: Decimal | None
    old_price: Decimal | None
    new_price: Decimal | None
    field: str
    reason: str

    @property
    def changes(self) -> bool:
        return self.new_price is not None and self.new_price != self.old_price


def rule_text(rule: RepricingRule) -> str:
    parts = [rule.get_strategy_display()]
    if rule.strategy in (R.Strategy.BEAT_AMOUNT, R.Strategy.BEAT_PERCENT):
        parts.append(f"by {rule.beat_by}{'%' if rule.strategy == R.Strategy.BEAT_PERCENT else ' EUR'}")
    if rule.floor_mode == R.Bound.COST_MARGIN:
        parts.append(f"floor cost+{rule.floor_margin}%")
    elif rule.floor_price is not None:
        parts.append(f"floor {rule.floor_price}")
    if rule.ceiling_mode == R.Bound.COST_MARGIN:
        parts.append(f"ceiling cost+{rule.ceiling_margin}%")
    elif rule.ceiling_price is not None:
        parts.append(f"ceiling {rule.ceiling_price}")
    parts.append("product rule" if rule.product_id else "store rule")
    return ", ".join(parts)[:255]


def reprice_plan(*, store: Store, product_ids: Iterable[int] | None = None, now: dt.datetime | None = None,
                 include_disabled: bool = True) -> list[Proposal]:
    """What the rules would do with the last competitor readings (nothing is written). A fixed number of queries
    whatever the number of products."""
    now = now or timezone.now()
    rules = list(RepricingRule.objects.filter(store=store))
    store_rule = next((r for r in rules if r.product_id is None), None)
    product_rules = {r.product_id: r for r in rules if r.product_id is not None}
    if store_rule is None and not product_rules:
        return []
    comps = Competition.objects.filter(store=store, state=Competition.State.OK,
                                       product__listing_state=Product.ListingState.LIVE)
    if store_rule is None:
        comps = comps.filter(product_id__in=list(product_rules))
    if product_ids is not None:
        comps = comps.filter(product_id__in=list(product_ids))
    comps = comps.select_related("product").only(
        "product_id", "condition", "checked_at", "lowest_total", "our_shipping", "product__id", "product__sku",
        "product__price", "product__sale_price", "product__condition", "product__cost_price",
        "product__store_id").order_by("product__sku")
    stale_before = now - 2 * interval()
    out = []
    for comp in comps:
        product = comp.product
        rule = product_rules.get(product.pk, store_rule)
        if rule is None or (not include_disabled and not rule.enabled):
            continue
        out.append(_propose(store, product, comp, rule, stale_before))
    return out


def _field_for(store: Store, product: Product) -> str:
    if store.price_field == Store.PriceField.SALE_PRICE and product.sale_price is not None:
        return "sale_price"
    return "price"


def _propose(store: Store, product: Product, comp: Competition, rule: RepricingRule,
             stale_before: dt.datetime) -> Proposal:
    old = mapped_price(price=product.price, sale_price=product.sale_price, store=store)
    proposal = Proposal(product.pk, product.sku, rule.pk, rule_text(rule), rule.enabled, comp.lowest_total, old,
                        None, _field_for(store, product), "")
    if comp.condition and comp.condition != product.condition:
        proposal.reason = "the condition changed since the last reading: wait for the next one"
    elif comp.checked_at is None or comp.checked_at < stale_before:
        proposal.reason = "the competitor reading is too old"
    elif comp.lowest_total is None:
        proposal.reason = "no competitor in the same condition"
    else:
        try:
            price, why = target_price(rule, lowest_total=comp.lowest_total, our_shipping=comp.our_shipping,
                                      cost=product.cost_price, rounding=store.price_rounding)
        except NoPrice as exc:
            proposal.reason = f"rule not applicable: {exc}"
            return proposal
        proposal.new_price = price
        proposal.reason = why if price != old else f"already at the target ({why})"
    return proposal


# ---------------------------------------------------------------- applying it
@dataclass
class RepriceResult:
    proposals: list[Proposal]
    changed: list[Proposal]
    dry_run: bool
    run: SyncRun | None = None


def reprice(*, store: Store, dry_run: bool = False, product_ids: Iterable[int] | None = None,
            trigger: str = "task", user=None, now: dt.datetime | None = None) -> RepriceResult:
    """Apply the store's enabled rules (``dry_run``: only report, for enabled and disabled rules alike; writes
    nothing, sends nothing)."""
    if dry_run:
        proposals = reprice_plan(store=store, product_ids=product_ids, now=now)
        return RepriceResult(proposals, [p for p in proposals if p.changes], True)
    with store_lock(store=store, name=LOCK_NAME), \
            sync_run(store=store, kind=SyncRun.Kind.REPRICE, trigger=trigger) as rec:
        proposals = reprice_plan(store=store, product_ids=product_ids, now=now, include_disabled=False)
        changed = [p for p in proposals if p.changes]
        rec.set_total(len(proposals))
        _apply(store, changed, trigger=trigger, user=user)
        rec.count("changed", len(changed))
        rec.count("unchanged", len(proposals) - len(changed))
        rec.advance(len(proposals))
        rec.note(f"{len(changed)} prices changed out of {len(proposals)} products with a rule")
    return RepriceResult(proposals, changed, False, rec.run)


APPLY_CHUNK = 500  # products per transaction: a long run never holds the database's write lock for long


def _apply(store: Store, changed: list[Proposal], *, trigger: str, user) -> None:
    for start in range(0, len(changed), APPLY_CHUNK):
        _apply_chunk(store, changed[start:start + APPLY_CHUNK], trigger=trigger, user=user)


def _apply_chunk(store: Store, changed: list[Proposal], *, trigger: str, user) -> None:
    with transaction.atomic():
        # re-read under lock: a price edited since the plan was made is left alone (the next run sees it)
        current = {p.pk: p for p in Product.objects.select_for_update().only("id", "price", "sale_price").filter(
            pk__in=[c.product_id for c in changed])}
        logs, ids = [], []
        by_field: dict[str, list[Product]] = {"price": [], "sale_price": []}
        for proposal in changed:
            product = current.get(proposal.product_id)
            if product is None:
                continue
            if mapped_price(price=product.price, sale_price=product.sale_price, store=store) != proposal.old_price:
                continue
            setattr(product, proposal.field, proposal.new_price)
            by_field[proposal.field].append(product)
            ids.append(product.pk)
            logs.append(RepriceLog(store=store, product_id=product.pk, rule_id=proposal.rule_id,
                                   rule_text=proposal.rule_text, field=proposal.field,
                                   competitor_total=proposal.competitor_total, old_price=proposal.old_price,
                                   new_price=proposal.new_price, reason=proposal.reason[:255], trigger=trigger[:40],
                                   user=user if getattr(user, "pk", None) else None))
        for name, products in by_field.items():
            if products:
                Product.objects.bulk_update(products, [name], batch_size=APPLY_CHUNK)
        RepriceLog.objects.bulk_create(logs, batch_size=APPLY_CHUNK)
        record_changes(store_id=store.pk, product_ids=ids, reason="reprice")
