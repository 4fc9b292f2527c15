"""Inventory: the durable stock/price outbox, pushed batches, the stock movement audit, and the Stock admin proxy."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalogue.models import Product


class OfferChange(models.Model):
    """The outbox: one row per product whose sellable quantity or price must reach FNAC.

    ``version`` goes up (``F() + 1``) in the transaction of every change; ``done_version`` is the version FNAC has
    answered for. A row is pending while ``version > done_version``, and claimable (not yet in a batch) while
    ``version > sent_version``. A drain claims rows with a token and a lease
    (``claimed_until``), copying ``version`` into ``claimed_version``; the values sent are read from the product
    *after* the claim, so they are at least as new as ``claimed_version``. After FNAC's answer only the claimed
    version is marked done: a change made while the push was in flight leaves the row pending, and it is pushed
    again with the newest values. A worker that dies leaves its claim to expire; the next drain takes the rows.
    """

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="offer_changes")
    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="offer_change")
    version = models.BigIntegerField(default=0)
    done_version = models.BigIntegerField(default=0)
    # pipelined push (issue 14): the newest version in a batch FNAC accepted (answered or still in flight), how
    # many accepted batches carrying this row FNAC has not answered yet, and "sent again while another batch
    # carrying it was in flight": FNAC does not say in which order it applies batches, so once every batch of
    # the row is answered its current values are sent once more
    sent_version = models.BigIntegerField(default=0)
    in_flight = models.PositiveIntegerField(default=0)
    overlapped = models.BooleanField(default=False)
    reason = models.CharField(max_length=60, blank=True, default="")
    changed_at = models.DateTimeField(null=True, blank=True)

    claim_token = models.CharField(max_length=64, blank=True, default="", db_index=True)
    claimed_version = models.BigIntegerField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    force = models.BooleanField(default=False, help_text="Send even when FNAC already has these values.")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    pushed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["store", "changed_at"], name="offer_change_store_changed")]

    def __str__(self) -> str:
        return f"change v{self.version} (done v{self.done_version}) of product {self.product_id}"

    @property
    def is_pending(self) -> bool:
        return self.version > self.done_version


class PushQueue(models.Model):
    """Per store: a drain task is queued and has not started yet (so a burst of changes queues one task)."""

    store = models.OneToOneField("stores.Store", on_delete=models.CASCADE, related_name="+")
    queued_at = models.DateTimeField(null=True, blank=True)
    # the same for the store's follow-up pass (batch_status of its in-flight batches), and FNAC's "not now"
    # (429/503 after the client's own retries): no offers_update and no batch_status before backoff_until
    follow_queued_at = models.DateTimeField(null=True, blank=True)
    backoff_until = models.DateTimeField(null=True, blank=True)
    backoff_steps = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"push queue of store {self.store_id}"


class PushBatch(models.Model):
    """One offers_update call of the stock/price push and what its batch_status said."""

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="push_batches")
    run = models.ForeignKey("stores.SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    batch_id = models.CharField(max_length=100, blank=True, default="", db_index=True)
    offers = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=20, blank=True, default="")
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    polls = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # pipelined push: an accepted batch is "in flight" (batch_id set, finished_at empty) until its batch_status is
    # final; the follow-up polls it at next_poll_at. items: what it carries, one
    # [row id, product id, version, quantity, price, is_active, note, previous quantity, previous price, sku] each
    next_poll_at = models.DateTimeField(null=True, blank=True)
    items = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        # the follow-up ticker looks for due batches every second: only the ones in flight are indexed
        indexes = [models.Index(fields=["next_poll_at"], condition=models.Q(finished_at__isnull=True),
                                name="push_batch_in_flight")]
        verbose_name = "push to FNAC"
        verbose_name_plural = "pushes to FNAC"

    def __str__(self) -> str:
        return f"push batch {self.batch_id or '(not sent)'} ({self.status or 'sent'})"


class StockMovement(models.Model):
    """Audit of OMS-side stock and price changes (who, from which door, how much)."""

    class Kind(models.TextChoices):
        SET = "set", "Set on hand"
        ADJUST = "adjust", "Adjust on hand"
        PRICE = "price", "Price change"

    store = models.ForeignKey("stores.Store", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="stock_movements")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    delta = models.IntegerField(default=0)
    quantity_after = models.IntegerField(null=True, blank=True)
    source = models.CharField(max_length=40, blank=True, default="")
    note = models.CharField(max_length=255, blank=True, default="")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.delta:+d} on product {self.product_id}"


class Stock(Product):
    """Product seen from the stock side (admin "Stock" list)."""

    class Meta:
        proxy = True
        verbose_name = "stock line"
        verbose_name_plural = "stock lines"


class PushFollower(models.Model):
    """The one follow-up ticker of the pipelined push (a single row): who holds it (token, lease) and whether a
    ticker task is queued and not started yet. The ticker wakes a short follow-up pass per store whose in-flight
    batches are due for batch_status; sending never waits for it (``inventory.follow``)."""

    token = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return "stock push follow-up ticker"
