"""After-sale conversations: FNAC messages (buyers, FNAC's call centre, the seller's replies) and order comments.

A message is kept whatever it refers to: one about an order the connector has not imported (yet) keeps the FNAC
order id in ``referer`` and no ``order`` link; it is shown and linked when the order arrives. A reply the seller
writes is first an outgoing ``Message`` in state ``pending`` (the intent), then sent once (inbox.replies).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class SendState(models.TextChoices):
    """Where an outgoing reply stands (empty on messages received from FNAC)."""

    NONE = "", "—"
    PENDING = "pending", "Sending"
    UNKNOWN = "unknown", "Outcome unknown (being checked with FNAC)"
    SENT = "sent", "Sent"
    REFUSED = "refused", "Refused by FNAC"
    FAILED = "failed", "Not sent (FNAC unreachable); try again"


class Message(models.Model):
    class Direction(models.TextChoices):
        INCOMING = "in", "Received"
        OUTGOING = "out", "Sent by you"

    class About(models.TextChoices):
        ORDER = "ORDER", "Order"
        OFFER = "OFFER", "Offer"

    class Sender(models.TextChoices):
        CLIENT = "CLIENT", "Buyer"
        CALLCENTER = "CALLCENTER", "FNAC customer service"
        SELLER = "SELLER", "Seller"
        SYSTEM = "SYSTEM", "FNAC (automatic)"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="messages")
    # NULL on the seller's own replies (not FNAC messages): the unique key (store, FNAC id) then ignores them, and an
    # import can upsert on it (ON CONFLICT needs a plain unique key, not a partial one)
    fnac_message_id = models.CharField("FNAC message id", max_length=64, null=True, blank=True, default=None)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.INCOMING)
    about = models.CharField("About", max_length=10, choices=About.choices, default=About.ORDER, db_index=True)
    referer = models.CharField("FNAC order or offer", max_length=64, blank=True, default="", db_index=True,
                               help_text="The FNAC order id (or offer) the message is about, as FNAC sent it.")
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="messages")
    product = models.ForeignKey("catalogue.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="messages")
    sender = models.CharField(max_length=12, choices=Sender.choices, blank=True, default="", db_index=True)
    sender_name = models.CharField(max_length=200, blank=True, default="")
    subject = models.CharField(max_length=300, blank=True, default="")
    subject_code = models.CharField("Subject code", max_length=40, blank=True, default="",
                                    help_text="FNAC's subject code of a reply (order_information...).")
    body = models.TextField(blank=True, default="")
    is_read = models.BooleanField("Read", default=False)
    archived = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField("Written at", db_index=True)
    fnac_updated_at = models.DateTimeField(null=True, blank=True)
    # the response clock: a buyer's message waits for an answer until one is sent (here or on FNAC) or it is archived
    awaiting_reply = models.BooleanField(default=False, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    fnac_answer = models.TextField("Answer seen on FNAC", blank=True, default="")

    # outgoing replies only
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    send_state = models.CharField(max_length=10, choices=SendState.choices, blank=True, default="", db_index=True)
    send_error = models.TextField(blank=True, default="")
    send_attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")

    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-awaiting_reply", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["store", "fnac_message_id"], name="uniq_inbox_message_fnac_id"),
            # one reply in flight per message: a second click never makes a second intent
            models.UniqueConstraint(fields=["reply_to"], condition=Q(send_state__in=["pending", "unknown"]),
                                    name="uniq_inbox_reply_in_flight"),
        ]
        indexes = [models.Index(fields=["store", "awaiting_reply", "created_at"])]
        permissions = [("reply_message", "Can reply to buyer messages and order comments")]

    def __str__(self) -> str:
        return f"{self.get_sender_display() or 'Message'}: {self.subject or self.body[:40]}"

    @property
    def order_label(self) -> str:
        if self.about != self.About.ORDER:
            return self.referer
        return self.referer if self.order_id else f"{self.referer} (order not imported)"


class OrderComment(models.Model):
    """The buyer's rating and comment on an order (client_order_comments_query), and the seller's reply."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="order_comments")
    fnac_comment_id = models.CharField("FNAC comment id", max_length=64)
    referer = models.CharField("FNAC order", max_length=64, db_index=True)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="comments")
    rate = models.PositiveSmallIntegerField(null=True, blank=True)
    client_name = models.CharField(max_length=200, blank=True, default="")
    comment = models.TextField(blank=True, default="")
    is_received = models.BooleanField(null=True)
    is_fast = models.BooleanField(null=True)
    is_well_packed = models.BooleanField(null=True)
    is_good_shape = models.BooleanField(null=True)
    created_at = models.DateTimeField()
    reply = models.TextField(blank=True, default="", help_text="The seller's reply as FNAC shows it.")
    # the seller's reply sent from here (same exactly-once rule as message replies)
    reply_draft = models.CharField(max_length=255, blank=True, default="")
    reply_state = models.CharField(max_length=10, choices=SendState.choices, blank=True, default="")
    reply_error = models.TextField(blank=True, default="")
    reply_attempts = models.PositiveSmallIntegerField(default=0)
    replied_at = models.DateTimeField(null=True, blank=True)
    reply_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    imported_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["store", "fnac_comment_id"], name="uniq_inbox_comment")]

    def __str__(self) -> str:
        return f"{self.rate}/5 by {self.client_name} on {self.referer}"
