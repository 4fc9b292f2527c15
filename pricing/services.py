"""Competitive pricing use cases (the doors call these): the watch, repricing, the rules."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction

from catalogue.models import Product
from fnac_connector.errors import InvalidInput
from pricing.models import RepricingRule
from pricing.repricing import (
    NoPrice,
    RepriceResult,
    bounds_for,
    reprice,
    reprice_plan,
    rule_text,
)
from pricing.watch import prices_watch

__all__ = ["RepriceResult", "prices_watch", "product_cost_set", "reprice", "reprice_plan", "rule_delete", "rule_save",
           "rule_text"]

RULE_FIELDS = ("enabled", "strategy", "beat_by", "floor_mode", "floor_price", "floor_margin", "ceiling_mode",
               "ceiling_price", "ceiling_margin")


def rule_save(*, rule: RepricingRule, data: dict) -> RepricingRule:
    """Create or change a rule; refused whole, with every problem named, when it cannot produce a safe price."""
    for name in RULE_FIELDS:
        if name in data:
            setattr(rule, name, data[name])
    errors: dict[str, list[str]] = {}
    try:
        rule.full_clean(validate_unique=True)
    except ValidationError as exc:
        errors.update({k: [str(m) for m in v] for k, v in exc.message_dict.items()})
    if rule.product_id and rule.product.store_id != rule.store_id:
        errors.setdefault("product", []).append("the product belongs to another store")
    if not errors:
        errors.update(rule_problems(rule))
    if errors:
        where = f"product {rule.product.sku}" if rule.product_id else f"store {rule.store}"
        raise InvalidInput("repricing rule refused (" + where + "): " + "; ".join(
            f"{k}: {' '.join(v)}" for k, v in errors.items()), details=errors)
    with transaction.atomic():
        rule.save()
    return rule


def rule_problems(rule: RepricingRule) -> dict[str, list[str]]:
    """What makes the rule unusable whatever the product (a cost-based bound is checked per product)."""
    problems: dict[str, list[str]] = {}
    if rule.floor_mode == RepricingRule.Bound.ABSOLUTE and rule.floor_price is None:
        problems["floor_price"] = ["a floor price is required (a repricer without a floor may sell at a loss)"]
    if rule.floor_mode == RepricingRule.Bound.COST_MARGIN and rule.floor_margin is None:
        problems["floor_margin"] = ["give the margin % of the floor"]
    if rule.ceiling_mode == RepricingRule.Bound.COST_MARGIN and rule.ceiling_margin is None:
        problems["ceiling_margin"] = ["give the margin % of the ceiling"]
    if rule.strategy == RepricingRule.Strategy.BEAT_PERCENT and rule.beat_by >= 100:
        problems["beat_by"] = ["a percentage below 100"]
    if not problems and RepricingRule.Bound.COST_MARGIN not in (rule.floor_mode, rule.ceiling_mode):
        try:
            bounds_for(rule, None)
        except NoPrice as exc:
            problems["ceiling_price"] = [str(exc)]
    if (not problems and rule.floor_mode == rule.ceiling_mode == RepricingRule.Bound.COST_MARGIN
            and rule.floor_margin > rule.ceiling_margin):
        problems["ceiling_margin"] = ["the ceiling margin is below the floor margin"]
    return problems


def rule_delete(*, rule: RepricingRule) -> None:
    rule.delete()


def product_cost_set(*, product, cost_price) -> None:
    """The product's cost price (None clears it): the base of cost + margin % floors and ceilings."""
    value = None
    if cost_price not in (None, ""):
        try:
            value = Decimal(str(cost_price).strip().replace(",", "."))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value < 0 or value > Decimal("1000000"):
            raise InvalidInput(f"cost price {cost_price!r} of product {product.sku} must be a number from 0 to "
                               "1,000,000 EUR", details={"cost_price": ["a number from 0 to 1,000,000"]})
        value = value.quantize(Decimal("0.01"))
    Product.objects.filter(pk=product.pk).update(cost_price=value)
    product.cost_price = value
