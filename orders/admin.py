"""Order admin: list with filters and search, detail with lines, addresses, history and sync info, manual
acceptance, Sync Orders for stores, and the status mapping (read-only)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from unfold.admin import ModelAdmin

from fnac_connector.errors import ServiceError
from fnac_connector.marketplace.fnac.types import ORDER_STATES
from orders import hooks, services
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.selectors import SHIP_BY_LATE, SHIP_BY_TODAY, orders_search, ship_by_q
from orders.status import MAPPING, TRANSITIONS, mapping_rows
from stores.admin import ReadOnlyInline, StoreFilter, StoreScopedAdminMixin, badge, store_sync_confirm, stores_each

S = OrderStatus
STATUS_COLOURS = {
    S.AWAITING_ACCEPTANCE: "#f29900", S.AWAITING_PAYMENT: "#f29900", S.NEW: "#1a73e8", S.PARTIAL: "#e37400",
    S.RFP: "#7b1fa2", S.PICKED: "#7b1fa2", S.PACKED: "#7b1fa2", S.READY_TO_SHIP: "#00796b",
    S.IN_TRANSIT: "#0097a7", S.COMPLETE: "#1e8e3e", S.ERROR: "#d93025", S.REFUSED: "#80868b",
    S.REFUNDED: "#80868b",
}


def _status_badge(status: str, label: str):
    return badge(label, STATUS_COLOURS.get(status, "#5f6368"))


# ---------------------------------------------------------------- store side: Sync Orders
@admin.action(description="Sync Orders", permissions=["sync"])
def sync_orders_action(modeladmin, request, queryset):
    started = [f"{store.name} (run #{run.pk})" for store, run in stores_each(
        modeladmin, request, queryset, lambda store: services.orders_sync_request(store=store, trigger="admin"))]
    if started:
        modeladmin.message_user(request, "Order sync started for " + ", ".join(started) + ".", messages.SUCCESS)


# ---------------------------------------------------------------- filters
class FnacStateFilter(admin.SimpleListFilter):
    title = "FNAC state"
    parameter_name = "fnac_state"

    def lookups(self, request, model_admin):
        return [(s, s) for s in ORDER_STATES]

    def queryset(self, request, queryset):
        return queryset.filter(fnac_state=self.value()) if self.value() else queryset


class ShipByFilter(admin.SimpleListFilter):
    """Paid orders not yet handed over, by their ship-by day (orders.selectors.ship_by_q; the dashboard links here)."""

    title = "ship-by date"
    parameter_name = "ship_by"

    def lookups(self, request, model_admin):
        return [(SHIP_BY_TODAY, "To ship today"), (SHIP_BY_LATE, "Late")]

    def queryset(self, request, queryset):
        return queryset.filter(ship_by_q(self.value())) if self.value() in (SHIP_BY_TODAY, SHIP_BY_LATE) else queryset


# ---------------------------------------------------------------- inlines
class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["order_detail_id", "sku", "product", "product_name", "quantity", "price", "fees", "shipping_price",
              "state", "unmatched", "reserved_quantity", "tracking_number", "tracking_company"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    verbose_name_plural = "status history"
    fields = ["created_at", "from_status", "to_status", "source", "user", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")


# ---------------------------------------------------------------- order actions
@admin.action(description="Accept selected orders on FNAC", permissions=["accept"])
def accept_orders(modeladmin, request, queryset):
    _decide(modeladmin, request, queryset, services.order_accept, "accepted")


@admin.action(description="Refuse selected orders on FNAC", permissions=["accept"])
def refuse_orders(modeladmin, request, queryset):
    _decide(modeladmin, request, queryset, services.order_refuse, "refused")


def _decide(modeladmin, request, queryset, func, verb):
    done = 0
    for order in queryset.select_related("store"):
        try:
            func(order=order, user=request.user)
            done += 1
        except ServiceError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} order(s) {verb} on FNAC.", messages.SUCCESS)


@admin.action(description="Clear the flag (resolved)", permissions=["change"])
def clear_flag(modeladmin, request, queryset):
    n = 0
    for order in queryset.filter(flagged=True):
        services.order_unflag(order=order)
        n += 1
    modeladmin.message_user(request, f"{n} order(s) unflagged.")


# ---------------------------------------------------------------- the order admin
@admin.register(Order)
class OrderAdmin(StoreScopedAdminMixin, ModelAdmin):
    list_display = ["marketplace_order_id", "store", "status_badge", "fnac_state", "created_at", "customer",
                    "total_amount", "has_unmatched_lines", "flagged", "decision_needed"]
    list_select_related = ["store"]
    list_filter = [StoreFilter, "status", FnacStateFilter, "created_at", "has_unmatched_lines", "flagged",
                   "decision_needed", ShipByFilter]
    search_fields = ["marketplace_order_id", "customer_lastname", "customer_firstname", "lines__sku"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 100
    actions = [accept_orders, refuse_orders, clear_flag]
    readonly_fields = [
        "store", "marketplace_order_id", "status_badge", "fnac_state", "created_at", "fnac_updated_at", "client_id",
        "customer_firstname", "customer_lastname", "customer_email", "shipping_address_html", "billing_address_html",
        "fees", "vat_rate", "total_amount", "shipping_total", "shipping_method", "delivery_note",
        "has_unmatched_lines", "flagged", "flag_reason", "decision_needed", "decision_note", "last_push_error",
        "shipping_mode", "carrier_code", "tracking_number", "sync_info", "imported_at", "updated_at", "raw_xml",
    ]
    fieldsets = [
        (None, {"fields": ["store", "marketplace_order_id", "status_badge", "fnac_state", "created_at",
                           "flagged", "flag_reason", "decision_needed", "decision_note", "last_push_error"]}),
        ("Customer", {"fields": ["client_id", "customer_firstname", "customer_lastname", "customer_email",
                                 "shipping_address_html", "billing_address_html", "delivery_note"]}),
        ("Amounts and shipping", {"fields": ["total_amount", "shipping_total", "fees", "vat_rate",
                                             "shipping_method", "shipping_mode", "carrier_code", "tracking_number"]}),
        ("Sync", {"fields": ["sync_info", "fnac_updated_at", "imported_at", "updated_at", "has_unmatched_lines"]}),
        ("FNAC data as received", {"classes": ["collapse"], "fields": ["raw_xml"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    # the custom permissions of the order actions (``@admin.action(permissions=[...])``, here and from fulfilment)
    def has_accept_permission(self, request, obj=None):
        return request.user.has_perm("orders.accept_order")

    def has_ship_permission(self, request, obj=None):
        return request.user.has_perm("orders.ship_order")

    def has_cancel_permission(self, request, obj=None):
        return request.user.has_perm("orders.cancel_order")

    def get_search_results(self, request, queryset, search_term):
        return (orders_search(queryset, search_term), False) if search_term.strip() else (queryset, False)

    # hooks are read per request, so apps that register after this module still appear
    def get_inlines(self, request, obj):
        return [OrderLineInline, OrderStatusChangeInline, *hooks.order_admin_inlines()]

    def get_actions(self, request):
        actions = super().get_actions(request)
        for func in hooks.order_admin_actions():
            name = func.__name__
            if self._filter_actions_by_permissions(request, [(func, name, "")]):
                actions[name] = (func, name, getattr(func, "short_description", name.replace("_", " ")))
        return actions

    @admin.display(description="OMS status", ordering="status")
    def status_badge(self, order):
        return _status_badge(order.status, order.get_status_display())

    @admin.display(description="Customer", ordering="customer_lastname")
    def customer(self, order):
        return f"{order.customer_firstname} {order.customer_lastname}".strip()

    @staticmethod
    def _address(address: dict):
        if not address:
            return "—"
        keys = ["company", "firstname", "lastname", "address1", "address2", "address3", "zipcode", "city",
                "country", "phone", "mobile"]
        return format_html_join(mark_safe("<br>"), "{}", ((address[k],) for k in keys if address.get(k)))

    @admin.display(description="Shipping address")
    def shipping_address_html(self, order):
        return self._address(order.shipping_address)

    @admin.display(description="Billing address")
    def billing_address_html(self, order):
        return self._address(order.billing_address)

    @admin.display(description="Last sync")
    def sync_info(self, order):
        if not order.last_sync_run_id:
            return "—"
        url = reverse("admin:stores_syncrun_change", args=[order.last_sync_run_id])
        return format_html('<a href="{}">run #{}</a> at {}', url, order.last_sync_run_id, order.synced_at)

    # ------------------------------------------------------------ extra pages
    def get_urls(self):
        return [
            path("status-mapping/", self.admin_site.admin_view(self.status_mapping_view),
                 name="orders_order_status_mapping"),
            path("sync-store/<int:store_id>/", self.admin_site.admin_view(self.sync_store_view),
                 name="orders_order_sync_store"),
        ] + super().get_urls()

    def status_mapping_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        transitions = [(_status_badge(s, S(s).label), ", ".join(S(t).label for t in sorted(TRANSITIONS[s])) or "—")
                       for s in S.values]
        context = {**self.admin_site.each_context(request), "title": "Order status mapping (FNAC → OMS)",
                   "opts": self.model._meta, "rows": mapping_rows(), "transitions": transitions,
                   "row_count": len(MAPPING)}
        return TemplateResponse(request, "admin/orders/status_mapping.html", context)

    def sync_store_view(self, request, store_id):
        return store_sync_confirm(
            self, request, store_id, action="Sync Orders", template="admin/orders/sync_store.html",
            start=lambda store, r: services.orders_sync_request(store=store, trigger="admin"))
