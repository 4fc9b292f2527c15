"""Orders imported from FNAC Darty, their lines and their status history."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class OrderStatus(models.TextChoices):
    AWAITING_ACCEPTANCE = "awaiting_acceptance", "Awaiting acceptance"
    AWAITING_PAYMENT = "awaiting_payment", "Awaiting payment"
    NEW = "new", "New"
    PARTIAL = "partial", "Partial"
    RFP = "rfp", "RFP (ready for pick/pack)"
    PICKED = "picked", "Picked"
    PACKED = "packed", "Packed"
    READY_TO_SHIP = "ready_to_ship", "Ready to Ship"
    IN_TRANSIT = "in_transit", "In transit"
    COMPLETE = "complete", "Complete"
    CANCELED = "canceled", "Cancelled"
    CANCEL_IN_PROCESS = "cancel_in_process", "Cancel in process"
    CANCELLED_BY_SELLER = "cancelled_by_seller", "Cancelled by seller"
    CANCELLED_BY_SELLER_INPROCESS = "cancelled_by_seller_inprocess", "Cancelled by seller (in process)"
    NOT_RECEIVED = "not_received", "Not received"
    REFUSED = "refused", "Refused"
    REFUNDED = "refunded", "Refunded"
    ERROR = "error", "Error"


class Order(models.Model):
    class ShippingMode(models.TextChoices):
        SELF_SHIP = "self_ship", "Self ship"
        CHANNEL = "channel", "Shipped by the sales channel"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="orders")
    marketplace_order_id = models.CharField("FNAC order id", max_length=32)
    fnac_state = models.CharField("FNAC state", max_length=30, db_index=True)
    status = models.CharField("OMS status", max_length=40, choices=OrderStatus.choices, db_index=True)
    created_at = models.DateTimeField("Ordered at", db_index=True)
    fnac_updated_at = models.DateTimeField(null=True, blank=True)

    client_id = models.CharField(max_length=64, blank=True, default="")
    customer_firstname = models.CharField(max_length=100, blank=True, default="")
    customer_lastname = models.CharField(max_length=100, blank=True, default="", db_index=True)
    customer_email = models.CharField(max_length=254, blank=True, default="")
    shipping_address = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    fees = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    vat_rate = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    total_amount = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    shipping_total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    shipping_method = models.CharField(max_length=20, blank=True, default="")
    delivery_note = models.TextField(blank=True, default="")

    has_unmatched_lines = models.BooleanField(default=False, db_index=True)
    flagged = models.BooleanField(default=False, db_index=True)
    flag_reason = models.TextField(blank=True, default="")

    shipping_mode = models.CharField(max_length=20, choices=ShippingMode.choices, blank=True, default="",
                                     help_text="Empty: the store's default.")
    carrier_code = models.CharField(max_length=100, blank=True, default="")
    tracking_number = models.CharField(max_length=32, blank=True, default="")
    last_push_error = models.TextField(blank=True, default="")
    decision_needed = models.BooleanField(default=False, db_index=True,
                                          help_text="Left for a person to accept or refuse.")
    decision_note = models.TextField(blank=True, default="")

    last_sync_run = models.ForeignKey("stores.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", help_text="The sync that last wrote FNAC data here.")
    synced_at = models.DateTimeField(null=True, blank=True)

    raw_xml = models.TextField(blank=True, default="")
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "marketplace_order_id"], name="uniq_order_store_id")]
        indexes = [
            models.Index(fields=["store", "status"]),
            models.Index(fields=["store", "fnac_state"]),
            models.Index(fields=["store", "-created_at"]),
            # the list's status filter in its default order (issue 14)
            models.Index(fields=["status", "-created_at"], name="order_status_created"),
        ]
        permissions = [
            ("accept_order", "Can accept and refuse orders on FNAC"),
            ("ship_order", "Can release orders to the warehouse, ship them and retry confirmations"),
            ("cancel_order", "Can cancel orders by the seller"),
        ]

    def __str__(self) -> str:
        return self.marketplace_order_id


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    order_detail_id = models.BigIntegerField()
    sku = models.CharField("SKU", max_length=100, db_index=True)
    product = models.ForeignKey("catalogue.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="order_lines")
    product_name = models.CharField(max_length=255, blank=True, default="")
    product_fnac_id = models.CharField(max_length=64, blank=True, default="")
    offer_fnac_id = models.CharField(max_length=64, blank=True, default="")
    quantity = models.PositiveIntegerField(default=1)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    fees = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    shipping_price = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    shipping_method = models.CharField(max_length=20, blank=True, default="")
    state = models.CharField("FNAC line state", max_length=30)
    unmatched = models.BooleanField(default=False, help_text="The SKU is unknown to the OMS.")
    reserved_quantity = models.PositiveIntegerField(default=0)
    tracking_number = models.CharField(max_length=32, blank=True, default="")
    tracking_company = models.CharField(max_length=100, blank=True, default="")
    shipped_at = models.DateTimeField(null=True, blank=True)
    nb_products_to_take_back = models.PositiveIntegerField(
        "old appliances to take back", default=0,
        help_text="FNAC's nb_products_to_take_back: old products of the same kind the buyer hands back at delivery "
                  "(French take-back obligation for electrical goods).")

    class Meta:
        ordering = ["order_id", "order_detail_id"]
        constraints = [models.UniqueConstraint(fields=["order", "order_detail_id"], name="uniq_order_line")]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.order_detail_id} {self.sku} x{self.quantity}"


class OrderStatusChange(models.Model):
    class Source(models.TextChoices):
        MARKETPLACE = "marketplace", "Marketplace"
        USER = "user", "User"
        WAREHOUSE = "warehouse", "Warehouse"
        SYSTEM = "system", "System"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=40, blank=True, default="")
    to_status = models.CharField(max_length=40)
    source = models.CharField(max_length=20, choices=Source.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    note = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        def label(code: str) -> str:
            try:
                return OrderStatus(code).label
            except ValueError:
                return code or "—"
        return f"{label(self.from_status)} → {label(self.to_status)} ({self.get_source_display()})"
