"""Competitive pricing: what other sellers ask (per product, with a short history), the seller's repricing rules
and the log of every price the repricer changed."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from fnac_connector.marketplace.fnac import limits

PRICE = {"max_digits": 10, "decimal_places": 2}
PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1000"))]


class Competition(models.Model):
    """Where one product's offer stands against the other sellers' offers in the same condition (last read)."""

    class State(models.TextChoices):
        OK = "ok", "Read"
        INVALID = "invalid", "Unknown or invalid EAN on FNAC"
        ERROR = "error", "Could not be read"

    product = models.OneToOneField("catalogue.Product", on_delete=models.CASCADE, related_name="competition")
    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OK, db_index=True)
    condition = models.CharField(max_length=4, blank=True, default="",
                                 help_text="Our offer's condition when read (only offers in the same condition count).")
    lowest_price = models.DecimalField("Lowest competing price", null=True, blank=True, **PRICE)
    lowest_shipping = models.DecimalField("Its shipping", null=True, blank=True, **PRICE)
    lowest_total = models.DecimalField("Lowest competing total", null=True, blank=True, **PRICE,
                                       help_text="Price + shipping of the cheapest other seller, same condition.")
    lowest_seller_type = models.CharField(max_length=20, blank=True, default="")
    competitors = models.PositiveIntegerField("Competitors", default=0)
    our_price = models.DecimalField("Our price on FNAC", null=True, blank=True, **PRICE)
    our_shipping = models.DecimalField("Our shipping", null=True, blank=True, **PRICE)
    is_lowest = models.BooleanField("We are the lowest", null=True, db_index=True)
    checked_at = models.DateTimeField("Last check", null=True, blank=True, db_index=True)
    error_code = models.CharField(max_length=40, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    failures = models.PositiveIntegerField(default=0, help_text="Refusals in a row for this EAN.")
    retry_after = models.DateTimeField(null=True, blank=True, db_index=True,
                                       help_text="An unknown/invalid EAN is not asked again before this time.")
    # [[iso time, lowest total or null, our total or null], ...], oldest first, bounded (PRICING_HISTORY_POINTS)
    history = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "competitor price"
        verbose_name_plural = "competitor prices"
        ordering = ["store_id", "product_id"]
        indexes = [models.Index(fields=["store", "is_lowest"]), models.Index(fields=["store", "checked_at"])]
        permissions = [("watch_prices", "Can start a competitor price watch")]

    def __str__(self) -> str:
        return f"competition of product {self.product_id}"

    @property
    def our_total(self) -> Decimal | None:
        if self.our_price is None:
            return None
        return self.our_price + (self.our_shipping or 0)


class RepricingRule(models.Model):
    """A store's repricing rule (``product`` empty), or one product's override of it."""

    class Strategy(models.TextChoices):
        MATCH = "match", "Match the lowest competitor"
        BEAT_AMOUNT = "beat_amount", "Beat the lowest by an amount"
        BEAT_PERCENT = "beat_percent", "Beat the lowest by a percentage"
        STAY = "stay", "Stay put (watch only)"

    class Bound(models.TextChoices):
        ABSOLUTE = "absolute", "A fixed price"
        COST_MARGIN = "cost_margin", "Cost price + margin %"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="repricing_rules")
    product = models.OneToOneField("catalogue.Product", on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="repricing_rule",
                                   help_text="Empty: the store's rule. Set: this product's own rule.")
    enabled = models.BooleanField("Apply", default=False,
                                  help_text="Off: the rule only shows in the dry-run report; nothing is changed.")
    strategy = models.CharField(max_length=20, choices=Strategy.choices, default=Strategy.MATCH)
    beat_by = models.DecimalField("Beat by", max_digits=8, decimal_places=2, default=Decimal("0.01"),
                                  validators=[MinValueValidator(Decimal("0"))],
                                  help_text="EUR for 'by an amount', percent for 'by a percentage'.")
    floor_mode = models.CharField("Floor", max_length=20, choices=Bound.choices, default=Bound.ABSOLUTE)
    floor_price = models.DecimalField("Floor price", null=True, blank=True, **PRICE,
                                      validators=[MinValueValidator(limits.MIN_PRICE),
                                                  MaxValueValidator(limits.MAX_PRICE)])
    floor_margin = models.DecimalField("Floor margin %", max_digits=6, decimal_places=2, null=True, blank=True,
                                       validators=PERCENT_VALIDATORS)
    ceiling_mode = models.CharField("Ceiling", max_length=20, choices=Bound.choices, default=Bound.ABSOLUTE)
    ceiling_price = models.DecimalField("Ceiling price", null=True, blank=True, **PRICE,
                                        validators=[MinValueValidator(limits.MIN_PRICE),
                                                    MaxValueValidator(limits.MAX_PRICE)])
    ceiling_margin = models.DecimalField("Ceiling margin %", max_digits=6, decimal_places=2, null=True, blank=True,
                                         validators=PERCENT_VALIDATORS)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_id", "product_id"]
        constraints = [models.UniqueConstraint(fields=["store"], condition=Q(product__isnull=True),
                                               name="uniq_repricing_rule_store")]
        permissions = [("reprice", "Can run repricing")]

    def __str__(self) -> str:
        scope = f"product {self.product}" if self.product_id else "store rule"
        return f"{self.get_strategy_display()} ({scope})"


class RepriceLog(models.Model):
    """One price the repricer changed: the rule, the competitor price it saw, old -> new."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalogue.Product", on_delete=models.CASCADE, related_name="reprice_logs")
    rule = models.ForeignKey(RepricingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule_text = models.CharField("Rule", max_length=255)
    field = models.CharField(max_length=20, help_text="The OMS field changed (the store's price mapping).")
    competitor_total = models.DecimalField("Lowest competitor seen", null=True, blank=True, **PRICE)
    old_price = models.DecimalField(null=True, blank=True, **PRICE)
    new_price = models.DecimalField(**PRICE)
    reason = models.CharField(max_length=255, blank=True, default="")
    trigger = models.CharField(max_length=40, blank=True, default="")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["store", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.old_price} -> {self.new_price}"
