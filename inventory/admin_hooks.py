"""What inventory adds to the store admin: the "Sync Stock" and "Reconcile offers" actions and the Sync Stock /
Price mapping buttons."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from inventory import services
from stores import hooks
from stores.admin import stores_each


@admin.action(description="Sync Stock (push every active product's quantity and price to FNAC)",
              permissions=["sync"])
def sync_stock(modeladmin, request, queryset):
    stores_each(modeladmin, request, queryset, lambda store: _started(
        modeladmin, request, "Sync Stock", store, services.stock_sync_request(store=store, trigger="admin")))


@admin.action(description="Reconcile offers (compare FNAC with what was pushed, repair drift)",
              permissions=["sync"])
def reconcile_offers(modeladmin, request, queryset):
    stores_each(modeladmin, request, queryset, lambda store: _started(
        modeladmin, request, "Offers reconciliation", store,
        services.offers_reconcile_request(store=store, full=True, trigger="admin")))


def _started(modeladmin, request, what: str, store, run) -> None:
    modeladmin.message_user(request, format_html(
        '{} of {} started: <a href="{}">follow run #{}</a>.', what, store,
        reverse("admin:stores_syncrun_change", args=[run.pk]), run.pk), messages.SUCCESS)


def register() -> None:
    """Called from InventoryConfig.ready()."""
    hooks.store_admin_action(sync_stock)
    hooks.store_admin_action(reconcile_offers)
    hooks.store_button("Sync Stock", lambda store: reverse("admin:inventory_store_sync_stock", args=[store.pk]))
    hooks.store_button("Price mapping",
                       lambda store: reverse("admin:inventory_store_price_mapping", args=[store.pk]),
                       permission="inventory.view_stock")  # a page to read: what its view checks
