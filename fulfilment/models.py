"""Fulfilment: FNAC carriers, shipments (AWB, tracking, label), warehouse events and deliveries to the WMS."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from fnac_connector.crypto import mask
from fnac_connector.fields import EncryptedTextField


class Carrier(models.Model):
    """A carrier code FNAC accepts in ``tracking_company`` (from ``carriers_query``), per store."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="carriers")
    code = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True, default="")
    is_global = models.BooleanField(default=True)
    active = models.BooleanField(default=True, help_text="Listed by FNAC at the last refresh.")
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["store_id", "code"]
        constraints = [models.UniqueConstraint(fields=["store", "code"], name="uniq_carrier_store_code")]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})" if self.name and self.name != self.code else self.code


class CarrierAccount(models.Model):
    """A store's contract with a carrier (Colissimo, Chronopost, UPS through karrio; or the sandbox carrier).

    Secrets (passwords, API keys, client secrets) live in ``secrets``, one JSON object encrypted at rest like the
    marketplace keys; the admin and the API show them masked and the code never logs them. Non-secret settings
    (contract/account numbers, client id) are in ``settings``. The store's ``carrier_adapter`` names the carrier
    whose active account books its parcels."""

    class CarrierName(models.TextChoices):
        COLISSIMO = "colissimo", "Colissimo (La Poste)"
        CHRONOPOST = "chronopost", "Chronopost"
        UPS = "ups", "UPS"
        SANDBOX = "sandbox", "Sandbox carrier (demo and tests, books nothing)"

    class LabelFormat(models.TextChoices):
        PDF = "PDF", "PDF (office printer, A6/10x15)"
        ZPL = "ZPL", "ZPL (thermal label printer)"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="carrier_accounts")
    carrier = models.CharField(max_length=20, choices=CarrierName.choices)
    name = models.CharField(max_length=100, help_text="Your name for this account, e.g. \"Colissimo main contract\".")
    active = models.BooleanField(default=True, help_text="Only one active account per carrier and store.")
    test_mode = models.BooleanField("Carrier test mode", default=True,
                                    help_text="Use the carrier's test platform (no real parcels, no billing).")
    settings = models.JSONField(default=dict, blank=True,
                                help_text="Non-secret settings: contract_number, account_number, client_id...")
    secrets = EncryptedTextField(blank=True, default="", help_text="Encrypted JSON of the secret settings.")
    service = models.CharField("Carrier service", max_length=60, blank=True, default="",
                               help_text="Service booked by default (empty: the carrier's standard service).")
    services_by_method = models.JSONField(
        "Service per FNAC shipping method", default=dict, blank=True,
        help_text="FNAC shipping_method code -> carrier service, e.g. {\"21\": \"colissimo_home_with_signature\"}.")
    fnac_carrier_code = models.CharField("FNAC carrier code", max_length=100, blank=True, default="",
                                         help_text="Sent to FNAC as tracking_company (one of the store's FNAC "
                                                   "carriers).")
    label_format = models.CharField(max_length=3, choices=LabelFormat.choices, default=LabelFormat.PDF)
    default_weight_kg = models.DecimalField("Default parcel weight (kg)", max_digits=8, decimal_places=3,
                                            null=True, blank=True,
                                            help_text="Used per item when the product has no weight.")
    default_length_cm = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    default_width_cm = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    default_height_cm = models.DecimalField(max_digits=7, decimal_places=1, null=True, blank=True)
    last_test_at = models.DateTimeField("Last connection test", null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    last_test_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["store_id", "carrier", "name"]
        constraints = [
            models.UniqueConstraint(fields=["store", "carrier"], condition=Q(active=True),
                                    name="uniq_active_carrier_account"),
            models.UniqueConstraint(fields=["store", "name"], name="uniq_carrier_account_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_carrier_display()})"

    def secret_values(self) -> dict:
        return json.loads(self.secrets) if self.secrets else {}

    def masked_secrets(self) -> dict:
        return {k: mask(v) for k, v in self.secret_values().items()}

    def service_for(self, shipping_method: str = "") -> str:
        return (self.services_by_method or {}).get(shipping_method or "", "") or self.service


class CarrierBooking(models.Model):
    """A booking asked of a carrier, written *before* the call: when the call times out the parcel may exist at
    the carrier, so the next attempt looks it up by ``reference`` (where the carrier can) or refuses to book again
    until a person has checked the carrier's site."""

    class State(models.TextChoices):
        STARTED = "started", "Booking in progress"
        BOOKED = "booked", "Booked"
        FAILED = "failed", "Refused by the carrier (nothing booked)"
        UNCERTAIN = "uncertain", "Unknown: the carrier did not answer (check the carrier's site)"
        RESOLVED = "resolved", "Checked by a person: not booked"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="carrier_bookings")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="carrier_bookings")
    carrier_account = models.ForeignKey(CarrierAccount, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="bookings")
    adapter = models.CharField(max_length=40)
    reference = models.CharField(max_length=35, unique=True, help_text="Our reference, sent to the carrier.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.STARTED, db_index=True)
    tracking_number = models.CharField(max_length=32, blank=True, default="")
    error = models.TextField(blank=True, default="")
    note = models.TextField(blank=True, default="", help_text="Who checked the carrier's site, and what they saw.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["order", "state"])]

    def __str__(self) -> str:
        return f"{self.reference} ({self.state})"
class TrackingStatus(models.TextChoices):
    """The carriers' events read in the connector's words (fnac_connector.carriers.TrackingStatus)."""

    INFO = "info", "Announced / information"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Delivery problem"
    RETURNED = "returned", "Returned to sender"


class Shipment(models.Model):
    """One parcel of an order: the lines it carries, its tracking number and label, and FNAC's confirmation."""

    class Source(models.TextChoices):
        CARRIER = "carrier", "Booked with the carrier adapter"
        MANUAL = "manual", "Tracking number typed by the seller"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for FNAC confirmation"
        CONFIRMED = "confirmed", "Confirmed to FNAC (Shipped)"
        FAILED = "failed", "FNAC could not be reached (retried automatically)"
        REFUSED = "refused", "Refused by FNAC (fix, then retry)"
        CANCELLED = "cancelled", "Cancelled"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="shipments")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    shipping_mode = models.CharField(max_length=20, default="self_ship")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.CARRIER)
    adapter = models.CharField(max_length=40, blank=True, default="", help_text="Carrier adapter that booked it.")
    carrier_code = models.CharField("Carrier (tracking_company)", max_length=100)
    awb = models.CharField("AWB", max_length=64, blank=True, default="", db_index=True)
    tracking_number = models.CharField(max_length=32, db_index=True)
    tracking_url = models.URLField(max_length=300, blank=True, default="")
    weight_kg = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    label_pdf = models.BinaryField(null=True, blank=True, editable=False)  # the label's bytes, in label_format
    label_format = models.CharField(max_length=3, default="PDF", help_text="PDF, or ZPL for thermal printers.")
    carrier_account = models.ForeignKey(CarrierAccount, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="shipments", help_text="Carrier account that booked it.")
    # what the label was drawn from (sender, recipient, lines...), so labels can be merged by re-drawing
    label_data = models.JSONField(default=dict, blank=True, editable=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Confirmations sent to FNAC.")
    last_error = models.TextField(blank=True, default="")
    fnac_state = models.CharField(max_length=30, blank=True, default="", help_text="FNAC order state after it.")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    # tracking (fulfilment/tracking.py): what the carrier says of the parcel once FNAC confirmed it
    tracking_status = models.CharField(max_length=20, choices=TrackingStatus.choices, blank=True, default="",
                                       help_text="The carrier's latest event, in the connector's words.")
    last_tracked_at = models.DateTimeField("Tracking checked at", null=True, blank=True)
    last_event_at = models.DateTimeField("Last carrier event at", null=True, blank=True)
    delivered_at = models.DateTimeField("Delivered at (carrier)", null=True, blank=True)
    stuck_since = models.DateTimeField(null=True, blank=True, db_index=True,
                                       help_text="Set when the carrier has had no event for the store's number of "
                                                 "days; cleared by the next event.")
    tracking_error = models.TextField(blank=True, default="", help_text="What the carrier said of this number "
                                                                        "(e.g. unknown number) at the last check.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["store", "state"]),
                   models.Index(fields=["store", "state", "last_tracked_at"], name="shipment_tracking_due")]

    def __str__(self) -> str:
        return f"{self.carrier_code} {self.tracking_number}"

    @property
    def has_label(self) -> bool:
        return bool(self.label_pdf)


class TrackingEvent(models.Model):
    """One carrier event of a parcel. Unique per (shipment, time, carrier code): polling again adds nothing."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="tracking_events")
    # the order too, so the order page lists every parcel's events in one panel (one query)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="tracking_events")
    at = models.DateTimeField("When")
    status = models.CharField(max_length=20, choices=TrackingStatus.choices)
    code = models.CharField("Carrier code", max_length=40, blank=True, default="")
    description = models.CharField(max_length=300, blank=True, default="")
    location = models.CharField(max_length=200, blank=True, default="")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [models.UniqueConstraint(fields=["shipment", "at", "code"], name="uniq_tracking_event")]
        indexes = [models.Index(fields=["order", "-at"], name="tracking_event_order_at")]

    def __str__(self) -> str:
        return f"{timezone.localtime(self.at):%d/%m/%Y %H:%M} {self.get_status_display()} {self.description}"


class ShipmentLine(models.Model):
    """An order line in a shipment. A line is in one live shipment at most (unique while not cancelled)."""

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="shipment_lines")
    quantity = models.PositiveIntegerField(default=1)
    cancelled = models.BooleanField(default=False)
    fnac_status = models.CharField(max_length=20, blank=True, default="")
    fnac_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["order_line"], condition=Q(cancelled=False),
                                               name="uniq_live_shipment_line")]

    def __str__(self) -> str:
        return f"{self.shipment_id}/{self.order_line_id}"


class WmsEvent(models.Model):
    """An event reported by the warehouse, kept whatever happened to it (idempotent on (store, event_id))."""

    class Kind(models.TextChoices):
        PICKED = "picked", "Picked"
        PACKED = "packed", "Packed"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        IGNORED = "ignored", "Ignored (late or redundant)"
        REJECTED = "rejected", "Rejected"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="wms_events")
    event_id = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="wms_events")
    order_ref = models.CharField("FNAC order id", max_length=32, blank=True, default="")
    lines = models.JSONField(default=list, blank=True, help_text="order_detail_ids; empty: the whole order.")
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.APPLIED)
    note = models.TextField(blank=True, default="")
    duplicates = models.PositiveIntegerField(default=0, help_text="Times the same event_id was received again.")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "WMS event"
        verbose_name_plural = "WMS events"
        ordering = ["-received_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "event_id"], name="uniq_wms_event")]

    def __str__(self) -> str:
        return f"{self.kind} {self.order_ref} ({self.event_id})"


class WmsDelivery(models.Model):
    """One message to the store's WMS webhook, kept until the WMS acknowledges it (2xx)."""

    class Kind(models.TextChoices):
        SHIPMENT = "shipment.created", "Shipment created"
        RELEASED = "order.released", "Order released to the warehouse"
        CANCELLED = "order.cancelled", "Order cancelled by the seller"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="wms_deliveries")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="wms_deliveries")
    shipment = models.ForeignKey(Shipment, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="wms_deliveries")
    kind = models.CharField(max_length=40, choices=Kind.choices)
    key = models.CharField(max_length=100, help_text="Idempotency key, also sent as X-Delivery-Id.")
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "WMS delivery"
        verbose_name_plural = "WMS deliveries"
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="uniq_wms_delivery_key")]
        indexes = [models.Index(fields=["store", "state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.state})"
