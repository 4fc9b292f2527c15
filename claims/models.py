"""Buyer claims (FNAC incidents) imported from FNAC, their lines, and the line refunds the seller sends."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fnac_connector.marketplace.fnac.incidents import closed_status_label, incident_type_label


class Claim(models.Model):
    """One FNAC incident: a buyer (or FNAC's call centre) complains about some lines of an order."""

    class Status(models.TextChoices):
        OPENED = "OPENED", "Open"
        CLOSED = "CLOSED", "Closed"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="claims")
    incident_id = models.CharField("FNAC incident id", max_length=64)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="claims",
                              help_text="Empty while the order is not imported here (kept, linked on a later import).")
    marketplace_order_id = models.CharField("FNAC order id", max_length=32, db_index=True)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    waiting_for_seller = models.BooleanField("waits for you", default=False, db_index=True,
                                             help_text="FNAC's waiting_for_seller_answer: the buyer waits for the "
                                                       "seller's answer.")
    message = models.TextField(blank=True, default="")
    opened_by = models.CharField(max_length=20, blank=True, default="")
    closed_by = models.CharField(max_length=20, blank=True, default="")
    closed_status = models.PositiveSmallIntegerField(null=True, blank=True)
    main_type = models.PositiveSmallIntegerField("type", null=True, blank=True,
                                                 help_text="The type of its first line (FNAC's incident_open_state).")
    opened_at = models.DateTimeField(null=True, blank=True, db_index=True)
    fnac_updated_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    raw_xml = models.TextField(blank=True, default="")
    last_sync_run = models.ForeignKey("stores.SyncRun", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-waiting_for_seller", "-status", "-fnac_updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "incident_id"], name="uniq_claim_store_incident")]
        indexes = [models.Index(fields=["store", "status", "waiting_for_seller"])]
        permissions = [("refund_lines", "Can refund order lines on FNAC")]

    def __str__(self) -> str:
        return f"Claim on {self.marketplace_order_id} ({self.get_status_display()})"

    @property
    def type_label(self) -> str:
        return incident_type_label(self.main_type)

    @property
    def closed_status_label(self) -> str:
        return closed_status_label(self.closed_status) if self.closed_status is not None else ""


class ClaimLine(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    order_detail_id = models.BigIntegerField()
    order_line = models.ForeignKey("orders.OrderLine", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="claim_lines")
    type = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True, default="")
    opened_at = models.DateTimeField(null=True, blank=True)
    fnac_updated_at = models.DateTimeField(null=True, blank=True)
    refunded_product = models.DecimalField("refunded (product)", max_digits=12, decimal_places=2, default=0)
    refunded_shipping = models.DecimalField("refunded (shipping)", max_digits=12, decimal_places=2, default=0)
    refunded_fees = models.DecimalField("fees refunded (excl. VAT)", max_digits=12, decimal_places=2, default=0)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["claim_id", "order_detail_id"]
        constraints = [models.UniqueConstraint(fields=["claim", "order_detail_id"], name="uniq_claim_line")]

    def __str__(self) -> str:
        return f"{self.claim_id}/{self.order_detail_id}"

    @property
    def type_label(self) -> str:
        return incident_type_label(self.type)


class LineRefund(models.Model):
    """One refund the seller asked for (one or several lines of one order), recorded BEFORE it is sent, so a
    worker that dies mid-call leaves a row whose outcome is checked on FNAC before anything is sent again."""

    class State(models.TextChoices):
        SENDING = "sending", "Sending to FNAC"
        UNKNOWN = "unknown", "Outcome unknown (FNAC did not answer)"
        DONE = "done", "Refunded on FNAC"
        REFUSED = "refused", "Refused by FNAC"
        FAILED = "failed", "Not sent (FNAC unreachable, checked: nothing refunded)"

    class Route(models.TextChoices):
        ORDERS_UPDATE = "orders_update", "Order refund (orders_update)"
        INCIDENTS_UPDATE = "incidents_update", "Claim refund (incidents_update)"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="line_refunds")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="line_refunds")
    claim = models.ForeignKey(Claim, null=True, blank=True, on_delete=models.SET_NULL, related_name="refunds")
    route = models.CharField(max_length=20, choices=Route.choices)
    reason = models.CharField(max_length=40)
    note = models.TextField(blank=True, default="")
    lines = models.JSONField(default=list, help_text="[{order_detail_id, sku, quantity, returned_to_stock}]")
    state = models.CharField(max_length=20, choices=State.choices, default=State.SENDING, db_index=True)
    error = models.TextField(blank=True, default="")
    error_code = models.CharField(max_length=40, blank=True, default="")
    stock_returned = models.BooleanField(default=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Refund #{self.pk} of {self.order_id} ({self.get_state_display()})"
