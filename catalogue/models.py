"""Catalogue: FNAC Darty categories/attributes/value lists (from Mirakl) and the seller's products."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fnac_connector.marketplace.fnac.types import PRODUCT_STATES


class Category(models.Model):
    """A node of the FNAC Darty category tree (Mirakl H11)."""

    code = models.CharField(max_length=100, unique=True)
    label = models.CharField(max_length=255)
    level = models.PositiveSmallIntegerField(default=0)
    parent_code = models.CharField(max_length=100, blank=True, default="", db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return f"{self.label} ({self.code})"


class ValuesList(models.Model):
    """A Mirakl value list (VL11), e.g. brands."""

    code = models.CharField(max_length=100, unique=True)
    label = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class ValuesListValue(models.Model):
    values_list = models.ForeignKey(ValuesList, on_delete=models.CASCADE, related_name="values")
    code = models.CharField(max_length=255)
    label = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["values_list", "label"]
        constraints = [models.UniqueConstraint(fields=["values_list", "code"], name="uniq_values_list_value")]

    def __str__(self) -> str:
        return self.label or self.code


class CategoryAttribute(models.Model):
    """An attribute of a category (Mirakl PM11); ``category`` null means it applies to every category."""

    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="attributes")
    code = models.CharField(max_length=100)
    label = models.CharField(max_length=255, blank=True, default="")
    type = models.CharField(max_length=40, blank=True, default="TEXT")
    required = models.BooleanField(default=False)
    values_list_code = models.CharField(max_length=100, blank=True, default="")
    variant = models.BooleanField(default=False)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["category_id", "-required", "code"]
        constraints = [
            models.UniqueConstraint(fields=["category", "code"], name="uniq_category_attribute"),
            models.UniqueConstraint(fields=["code"], condition=models.Q(category__isnull=True),
                                    name="uniq_common_attribute"),
        ]

    def __str__(self) -> str:
        return self.code


class Product(models.Model):
    """One seller product = one FNAC offer (FNAC has no variation listings: each variant is its own EAN)."""

    class ListingState(models.TextChoices):
        NOT_LISTED = "not_listed", "Not listed"
        CREATING = "creating", "Product creation pending (Mirakl)"
        PENDING = "pending", "Pending (FNAC batch running)"
        LIVE = "live", "Live"
        REJECTED = "rejected", "Rejected"
        DELISTED = "delisted", "Delisted"

    class PushState(models.TextChoices):
        IN_SYNC = "in_sync", "In sync"
        PENDING = "pending", "Pending"
        REJECTED = "rejected", "Rejected"
        HELD = "held", "Held (deactivated)"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="products")
    sku = models.CharField("SKU", max_length=100)
    ean = models.CharField("EAN", max_length=20, blank=True, default="", db_index=True)
    name = models.CharField(max_length=255, blank=True, default="")
    brand = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    image_url = models.URLField(max_length=500, blank=True, default="")
    images = models.JSONField(default=list, blank=True)
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products")
    attributes = models.JSONField(default=dict, blank=True)
    # parcel facts for carrier bookings (issue 13); empty: the carrier account's default
    weight_kg = models.DecimalField("Weight (kg)", max_digits=8, decimal_places=3, null=True, blank=True)
    length_cm = models.DecimalField("Length (cm)", max_digits=7, decimal_places=1, null=True, blank=True)
    width_cm = models.DecimalField("Width (cm)", max_digits=7, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField("Height (cm)", max_digits=7, decimal_places=1, null=True, blank=True)
    condition = models.CharField("Condition", max_length=2, default="11", choices=list(PRODUCT_STATES.items()),
                                 help_text="FNAC's product_state of the offer.")

    fnac_product_id = models.CharField("FNAC product ID", max_length=64, blank=True, default="")
    fnac_offer_id = models.CharField("FNAC offer ID", max_length=64, blank=True, default="", db_index=True)
    product_url = models.URLField("Page on FNAC", max_length=500, blank=True, default="")

    # prices: the OMS owns them after the first import
    price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    sale_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    cost_price = models.DecimalField("Cost price", max_digits=10, decimal_places=2, null=True, blank=True,
                                     help_text="What the product costs you; repricing floors/ceilings may use it.")
    # stock: changed only through atomic F() updates (inventory services)
    stock_on_hand = models.IntegerField(default=0)
    stock_reserved = models.IntegerField(default=0)

    # what FNAC last reported, kept to flag differences instead of overwriting OMS values
    fnac_price = models.DecimalField("Price on FNAC", max_digits=10, decimal_places=2, null=True, blank=True)
    fnac_quantity = models.IntegerField("Quantity on FNAC", null=True, blank=True)
    differs_from_fnac = models.BooleanField(default=False, db_index=True)

    is_active = models.BooleanField("Active", default=True,
                                    help_text="Off (deactivated): FNAC shows quantity 0 and stock pushes are held.")
    listing_state = models.CharField(max_length=20, choices=ListingState.choices, default=ListingState.NOT_LISTED,
                                     db_index=True)
    listing_message = models.TextField(blank=True, default="")
    removed_on_fnac = models.BooleanField(default=False, help_text="No longer returned by FNAC.")

    # last push of stock/price to FNAC
    push_state = models.CharField(max_length=20, choices=PushState.choices, default=PushState.IN_SYNC)
    push_message = models.TextField(blank=True, default="")
    pushed_quantity = models.IntegerField(null=True, blank=True)
    pushed_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)

    fnac_updated_at = models.DateTimeField(null=True, blank=True)
    # id of the last catalogue import run that read this offer (duplicate detection, removed-offer sweep)
    seen_in_run = models.BigIntegerField(null=True, blank=True, editable=False)
    listing_updated_at = models.DateTimeField(null=True, blank=True)
    # waiting for the store's next Mirakl product import (P41 is allowed once every 15 minutes per seller)
    awaiting_creation_slot = models.BooleanField(default=False, editable=False)
    imported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_id", "sku"]
        constraints = [models.UniqueConstraint(fields=["store", "sku"], name="uniq_product_store_sku")]
        indexes = [models.Index(fields=["store", "ean"]), models.Index(fields=["store", "listing_state"]),
                   # the Stock list's push filter and the dashboard's "push rejected" in the list's order (issue 14)
                   models.Index(fields=["push_state", "store", "sku"], name="product_push_state"),
                   models.Index(fields=["listing_state", "store", "sku"], name="product_listing_state")]
        permissions = [
            ("publish_product", "Can list, activate, deactivate and delete offers on FNAC"),
            ("adjust_stock", "Can set and adjust stock quantities"),
            ("change_price", "Can change prices"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} — {self.name}" if self.name else self.sku

    @property
    def stock_available(self) -> int:
        """On hand minus reserved (before the store's safety stock)."""
        return max(0, self.stock_on_hand - self.stock_reserved)


class ListingJob(models.Model):
    """One asynchronous marketplace job of the listing flow: an offers_update batch (followed with batch_status)
    or a Mirakl P41 product import (followed with P42, its rejected lines read with P44)."""

    class Kind(models.TextChoices):
        OFFERS_UPDATE = "offers_update", "FNAC offers_update batch"
        MIRAKL_IMPORT = "mirakl_import", "Mirakl product import (P41)"

    class Purpose(models.TextChoices):
        LIST = "list", "List / update offers"
        DELETE = "delete", "Delete offers"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="listing_jobs")
    run = models.ForeignKey("stores.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.LIST)
    external_id = models.CharField("batch id / import id", max_length=100, db_index=True)
    status = models.CharField(max_length=40, blank=True, default="")
    is_final = models.BooleanField(default=False, db_index=True)
    product_ids = models.JSONField(default=list, blank=True)
    result = models.JSONField(default=dict, blank=True, help_text="Per-SKU outcome once final.")
    polls = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "kind", "external_id"], name="uniq_listing_job")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_id} ({self.status or 'sent'})"


class ProductUpload(models.Model):
    """An Excel file of products: validated first (preview), then applied (valid rows only)."""

    class State(models.TextChoices):
        VALIDATED = "validated", "Validated (preview)"
        APPLIED = "applied", "Applied"
        FAILED = "failed", "Failed"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="product_uploads")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    file = models.FileField(upload_to="catalogue/uploads/%Y/%m/")
    filename = models.CharField(max_length=255, blank=True, default="")
    category_code = models.CharField(max_length=100, blank=True, default="",
                                     help_text="Category used for rows without a category column value.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.VALIDATED)
    header = models.JSONField(default=list, blank=True)
    total_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    rejected_rows = models.PositiveIntegerField(default=0)
    # {"<excel row number>": {"<column>": "message", ...}, ...}
    errors = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    run = models.ForeignKey("stores.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "Excel upload"

    def __str__(self) -> str:
        return f"{self.filename or 'upload'} #{self.pk} ({self.get_state_display()})"
