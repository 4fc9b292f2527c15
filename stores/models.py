"""Stores (one FNAC Darty seller account each), sync runs and sync locks."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from fnac_connector.crypto import mask
from fnac_connector.fields import EncryptedTextField
from stores.validators import CREDENTIAL_TEXT_FIELDS, credential_problems


def default_carrier_adapter() -> str:
    """A new store's carrier adapter: settings.DEFAULT_CARRIER_ADAPTER ("sandbox" outside production, none in
    production, where the seller chooses one on the store page before shipping)."""
    return getattr(settings, "DEFAULT_CARRIER_ADAPTER", "")


class Store(models.Model):
    class Status(models.TextChoices):
        NOT_CONNECTED = "not_connected", "Not connected"
        CONNECTED = "connected", "Connected"
        FAILED = "failed", "Failed"
        DISCONNECTED = "disconnected", "Disconnected"

    class AcceptanceMode(models.TextChoices):
        AUTO = "auto", "Accept automatically when every line is known and in stock"
        MANUAL = "manual", "Always leave new orders for a decision"

    class UncoveredPolicy(models.TextChoices):
        LEAVE = "leave", "Leave the order for a decision"
        REFUSE_LINES = "refuse_lines", "Accept covered lines, refuse uncovered lines"

    class PriceField(models.TextChoices):
        PRICE = "price", "OMS price"
        SALE_PRICE = "sale_price", "Sale price when set, else OMS price"

    class PriceRounding(models.TextChoices):
        CENT = "cent", "Round to the cent"
        END_99 = "end_99", "Round up to .99"
        END_90 = "end_90", "Round up to .90"
        EURO = "euro", "Round to the euro"

    class ShippingMode(models.TextChoices):
        SELF_SHIP = "self_ship", "Self ship (seller's carrier)"
        CHANNEL = "channel", "Shipped by the sales channel (FNAC carriers)"

    name = models.CharField(max_length=120, unique=True)
    partner_id = models.CharField("Partner ID", max_length=64)
    shop_id = models.CharField("Shop ID", max_length=64)
    fnac_key = EncryptedTextField("FNAC key", blank=True, default="")
    mirakl_api_key = EncryptedTextField("Mirakl API key", blank=True, default="")
    fnac_base_url = models.URLField("FNAC API URL", max_length=300, default=settings.FNAC_DEFAULT_URL)
    mirakl_base_url = models.URLField("Mirakl API URL", max_length=300, default=settings.MIRAKL_DEFAULT_URL)
    country = models.CharField(max_length=2, default="FR", editable=False)
    currency = models.CharField(max_length=3, default="EUR", editable=False)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_CONNECTED, db_index=True)
    last_error = models.TextField(blank=True, default="")
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    disconnect_reason = models.TextField(blank=True, default="", editable=False,
                                         help_text="Why the store was last disconnected, as given by who did it.")
    mirakl_shop_name = models.CharField(max_length=200, blank=True, default="")
    users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="stores",
                                   help_text="Staff users allowed to work on this store (superusers see all).")

    # cached FNAC token, shared by every process working for this store
    fnac_token = EncryptedTextField(blank=True, default="", editable=False)
    fnac_token_validity = models.DateTimeField(null=True, blank=True, editable=False)

    # flows, each switched on and off on its own
    sync_catalogue_enabled = models.BooleanField("Catalogue sync", default=True)
    sync_orders_enabled = models.BooleanField("Order import", default=True)
    sync_order_status_enabled = models.BooleanField("Order status sync", default=True)
    sync_stock_enabled = models.BooleanField("Stock push", default=True)
    sync_prices_enabled = models.BooleanField("Price push", default=True)

    orders_interval_minutes = models.PositiveIntegerField("New orders every (minutes)", default=5)
    status_interval_minutes = models.PositiveIntegerField("Order status updates every (minutes)", default=30)
    catalogue_interval_minutes = models.PositiveIntegerField("Catalogue refresh every (minutes)", default=60)

    acceptance_mode = models.CharField(max_length=10, choices=AcceptanceMode.choices, default=AcceptanceMode.AUTO)
    uncovered_policy = models.CharField(max_length=20, choices=UncoveredPolicy.choices,
                                        default=UncoveredPolicy.LEAVE)
    safety_stock = models.PositiveIntegerField(default=0, help_text="Units held back from FNAC per product.")
    price_field = models.CharField(max_length=20, choices=PriceField.choices, default=PriceField.PRICE)
    price_rounding = models.CharField(max_length=10, choices=PriceRounding.choices, default=PriceRounding.CENT)

    shipping_mode = models.CharField(max_length=20, choices=ShippingMode.choices, default=ShippingMode.SELF_SHIP)
    default_carrier_code = models.CharField("Default carrier", max_length=100, blank=True, default="",
                                            help_text="FNAC carrier code sent as tracking_company.")
    carrier_adapter = models.CharField(max_length=40, blank=True, default=default_carrier_adapter,
                                       help_text="Who books parcels: colissimo, chronopost or ups (the store's "
                                                 "active carrier account of that carrier, see Carrier accounts), "
                                                 "or sandbox (demo, books nothing); none: shipping asks for one.")
    sender_name = models.CharField(max_length=100, blank=True, default="")
    sender_address1 = models.CharField("Sender address", max_length=200, blank=True, default="")
    sender_zipcode = models.CharField("Sender postcode", max_length=20, blank=True, default="")
    sender_city = models.CharField(max_length=100, blank=True, default="")
    sender_country = models.CharField(max_length=3, blank=True, default="FRA",
                                      help_text="ISO 3166 three-letter code: FRA for France.")
    sender_phone = models.CharField(max_length=40, blank=True, default="")
    tracking_stuck_days = models.PositiveSmallIntegerField(
        "Flag a parcel with no carrier event after (days)", default=3,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text="A shipped parcel the carrier has said nothing new about for this many days is flagged as stuck "
                  "(on the order and on the dashboard).")

    answer_within_hours = models.PositiveIntegerField(
        "Answer buyers within (hours)", default=24,
        help_text="Response clock: a buyer message unanswered for longer than this counts as overdue.")

    wms_enabled = models.BooleanField("Uses a WMS", default=False)
    wms_webhook_url = models.URLField("WMS webhook URL", max_length=300, blank=True, default="")
    wms_secret = EncryptedTextField("WMS shared secret", blank=True, default="")

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            # one store per FNAC shop: a second store on the same Shop ID would import every order and product
            # twice. FNAC Shop IDs are UUIDs (compared case-insensitively, as FNAC does); an empty Shop ID (a
            # store being set up) is not a shop yet.
            models.UniqueConstraint(Lower("shop_id"), condition=~Q(shop_id=""), name="uniq_store_shop_id",
                                    violation_error_message="This Shop ID is already connected as another store."),
        ]
        permissions = [
            ("connect_store", "Can connect and disconnect stores"),
            ("change_store_credentials", "Can change store URLs, keys and secrets"),
            ("sync_store", "Can start store syncs (catalogue, orders, stock, carriers)"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean_fields(self, exclude=None):
        """Identifiers and keys must be sendable (stores.validators); checked per field, so a form that does
        not show a field never gets an error for it."""
        errors: dict = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if not exclude or "carrier_adapter" not in exclude:
            from fnac_connector.carriers import adapter_choices

            name = (self.carrier_adapter or "").strip().lower()
            known = [n for n, _ in adapter_choices()]
            if name and name not in known:
                errors.setdefault("carrier_adapter", []).append(
                    f"unknown carrier adapter {self.carrier_adapter!r}: one of {', '.join(known)}, or empty (no "
                    "booking: shipping then asks for a tracking number)")
            else:
                self.carrier_adapter = name
        values = {f: getattr(self, f) for f in CREDENTIAL_TEXT_FIELDS if not exclude or f not in exclude}
        for field, messages in credential_problems(values).items():
            errors.setdefault(field, []).extend(messages)
        if errors:
            raise ValidationError(errors)

    def validate_constraints(self, exclude=None):
        """The Shop ID rule with a message that names the store already using it, on the Shop ID field."""
        exclude = set(exclude or ())
        errors: dict = {}
        if "shop_id" not in exclude:
            owner = shop_id_owner(self.shop_id, exclude_pk=self.pk)
            if owner is not None:
                errors["shop_id"] = [ValidationError(shop_id_taken_message(self.shop_id, owner),
                                                     code="shop_id_taken")]
        try:
            super().validate_constraints(exclude=exclude | {"shop_id"})
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED

    @property
    def fnac_key_masked(self) -> str:
        return mask(self.fnac_key)

    @property
    def mirakl_api_key_masked(self) -> str:
        return mask(self.mirakl_api_key)

    @property
    def wms_secret_masked(self) -> str:
        return mask(self.wms_secret)


def shop_id_owner(shop_id: str | None, *, exclude_pk=None) -> Store | None:
    """The store already using FNAC Shop ID ``shop_id`` (case-insensitively), other than ``exclude_pk``."""
    shop_id = (shop_id or "").strip()
    if not shop_id:
        return None
    stores = Store.objects.filter(shop_id__iexact=shop_id)
    if exclude_pk is not None:
        stores = stores.exclude(pk=exclude_pk)
    return stores.order_by("pk").first()


def shop_id_taken_message(shop_id: str, owner: Store) -> str:
    return f"Shop ID {shop_id.strip()} is already connected as store '{owner.name}'."


class SyncRun(models.Model):
    """One run of one job for one store: what it did, how far it is, what went wrong."""

    class Kind(models.TextChoices):
        CONNECT = "connect", "Connect"
        CATALOGUE_IMPORT = "catalogue_import", "Catalogue import"
        CATALOGUE_REFRESH = "catalogue_refresh", "Catalogue refresh"
        CATEGORIES = "categories", "Categories and attributes"
        PRODUCT_LISTING = "product_listing", "Product listing"
        PRODUCT_IMPORT = "product_import", "Excel product import"
        ORDERS_IMPORT = "orders_import", "Order import"
        ORDERS_STATUS = "orders_status", "Order status sync"
        ORDERS_UPDATE = "orders_update", "Order updates to FNAC"
        STOCK_PUSH = "stock_push", "Stock and price push"
        STOCK_SYNC = "stock_sync", "Full stock sync"
        OFFERS_RECONCILE = "offers_reconcile", "Offers reconciliation (FNAC vs pushed)"
        CARRIERS = "carriers", "Carriers"
        WMS_DELIVERY = "wms_delivery", "WMS delivery"
        CLAIMS_IMPORT = "claims_import", "Buyer claims import"
        PRICE_WATCH = "price_watch", "Competitor price watch"
        REPRICE = "reprice", "Repricing"
        MESSAGES_IMPORT = "messages_import", "Buyer messages import"
        ORDER_COMMENTS_IMPORT = "order_comments_import", "Order comments import"
        TRACKING = "tracking", "Parcel tracking"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        PARTIAL = "partial", "Succeeded with errors"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (already running)"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=40, choices=Kind.choices, db_index=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.QUEUED, db_index=True)
    trigger = models.CharField(max_length=40, blank=True, default="",
                               help_text="What started it: schedule, admin, api, command, connect...")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    counts = models.JSONField(default=dict, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["store", "kind", "-created_at"]),
                   # the run list's default order for one store, and its kind + state filters (issue 14)
                   models.Index(fields=["store", "-created_at"], name="syncrun_store_created"),
                   models.Index(fields=["kind", "state", "-created_at"], name="syncrun_kind_state_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.state})"

    @property
    def progress_percent(self) -> int | None:
        if not self.total:
            return 100 if self.state in (self.State.SUCCEEDED, self.State.PARTIAL) else None
        return min(100, int(self.processed * 100 / self.total))

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        if self.started_at:
            return timezone.now() - self.started_at
        return None


class SyncIssue(models.Model):
    """One problem met during a run (malformed order, duplicate SKU, rejected offer...), with its evidence."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="issues")
    code = models.CharField(max_length=60, db_index=True)
    message = models.TextField()
    reference = models.CharField(max_length=200, blank=True, default="", db_index=True,
                                 help_text="SKU, order id or row number the issue is about.")
    details = models.JSONField(default=dict, blank=True)
    raw = models.TextField(blank=True, default="", help_text="The fragment as received, when there is one.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.code}: {self.message[:80]}"


class SyncLock(models.Model):
    """A lease per (store, name) so two workers never run the same sync for one store at once."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="locks")
    name = models.CharField(max_length=60)
    holder = models.CharField(max_length=100, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="uniq_sync_lock")]

    def __str__(self) -> str:
        return f"{self.name} lock of store {self.store_id}"


class SyncCursor(models.Model):
    """How far a periodic import has read; moved only after the data it covers is committed."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="cursors")
    name = models.CharField(max_length=60)
    position = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["store", "name"], name="uniq_sync_cursor")]

    def __str__(self) -> str:
        return f"{self.name} cursor of store {self.store_id}: {self.position}"
