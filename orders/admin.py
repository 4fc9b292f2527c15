"""Order admin: list with filters and search, detail with lines, addresses, history and sync info, manual
acceptance, Sync Orders for stores, and the status mapping (read-only)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.enums import ActionVariant
from unfold.widgets import UnfoldAdminTextareaWidget

from fnac_connector.choices import choice_label
from fnac_connector.errors import ServiceError
from fnac_connector.marketplace.fnac.types import ORDER_STATES
from orders import hooks, services
from orders.labels import fnac_state_label, shipping_method_label, status_label
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.selectors import SHIP_BY_LATE, SHIP_BY_TODAY, orders_awaiting_decision_q, orders_search, ship_by_q
from orders.status import MAPPING, TRANSITIONS, mapping_rows
from stores.admin import ReadOnlyInline, StoreFilter, StoreScopedAdminMixin, badge, store_sync_confirm, stores_each
from stores.models import Store

S = OrderStatus
STATUS_COLOURS = {
    S.AWAITING_ACCEPTANCE: "#f29900", S.AWAITING_PAYMENT: "#f29900", S.NEW: "#1a73e8", S.PARTIAL: "#e37400",
    S.RFP: "#7b1fa2", S.PICKED: "#7b1fa2", S.PACKED: "#7b1fa2", S.READY_TO_SHIP: "#00796b",
    S.IN_TRANSIT: "#0097a7", S.COMPLETE: "#1e8e3e", S.ERROR: "#d93025", S.REFUSED: "#80868b",
    S.REFUNDED: "#80868b",
}
WARN = "#d93025"


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
        return [(s, fnac_state_label(s)) for s in ORDER_STATES]

    def queryset(self, request, queryset):
        return queryset.filter(fnac_state=self.value()) if self.value() else queryset


class AttentionFilter(admin.SimpleListFilter):
    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("flagged", "Flagged (a problem to look at)"), ("decision", "Waiting for your decision"),
                ("unmatched", "Unknown SKUs")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "flagged":
            return queryset.filter(flagged=True)
        if value == "decision":
            return queryset.filter(orders_awaiting_decision_q())
        if value == "unmatched":
            return queryset.filter(has_unmatched_lines=True)
        return queryset
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
    hide_title = True
    fields = ["order_detail_id", "item", "quantity", "price", "fees", "line_state", "stock", "take_back", "tracking"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("product")

    @admin.display(description="Take back")
    def take_back(self, line):
        """French law makes a seller of electrical goods take the buyer's old appliance back (FNAC sends how many)."""
        if not line.nb_products_to_take_back:
            return "—"
        return badge(f"Take back {line.nb_products_to_take_back} old item(s)", "#f29900")

    @admin.display(description="FNAC line state")
    def line_state(self, line):
        return fnac_state_label(line.state)

    @admin.display(description="Item")
    def item(self, line):
        name = line.product_name or (line.product.name if line.product else "")
        if line.product_id:
            url = reverse("admin:catalogue_product_change", args=[line.product_id])
            return format_html('<a href="{}">{}</a><br><span class="text-xs">{}</span>', url, line.sku, name)
        return format_html('{} {}<br><span class="text-xs">{}</span>', line.sku,
                           badge("Unknown SKU", "#f29900"), name)

    @admin.display(description="Stock held")
    def stock(self, line):
        if line.state in ("Shipped", "Received", "NotReceived"):
            return "Shipped"
        if line.state in ("Refused", "Refunded", "Cancelled"):
            return "—"
        return f"{line.reserved_quantity} of {line.quantity} reserved"

    @admin.display(description="Tracking")
    def tracking(self, line):
        return f"{line.tracking_company} {line.tracking_number}".strip() or "—"


class OrderStatusChangeInline(ReadOnlyInline):
    model = OrderStatusChange
    hide_title = True
    verbose_name_plural = "status history"
    fields = ["created_at", "from_label", "to_label", "source", "user", "note"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    @admin.display(description="From")
    def from_label(self, change):
        return status_label(change.from_status)

    @admin.display(description="To")
    def to_label(self, change):
        return status_label(change.to_status)


# ---------------------------------------------------------------- order actions (the list)
@admin.action(description="Accept selected orders on FNAC", permissions=["accept"])
def accept_orders(modeladmin, request, queryset):
    done = 0
    for order in queryset.select_related("store"):
        try:
            services.order_accept(order=order, user=request.user)
            done += 1
        except ServiceError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} order(s) accepted on FNAC.", messages.SUCCESS)


class RefuseForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
                             help_text="Required: why the order is refused. Kept in the order's status history "
                                       "(FNAC is told the lines are Refused).")


@admin.action(description="Refuse selected orders on FNAC…", permissions=["accept"])
def refuse_orders(modeladmin, request, queryset):
    """A confirmation page with the reason (required) first; a refusal is final."""
    form = RefuseForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = 0
        for order in queryset.select_related("store"):
            try:
                services.order_refuse(order=order, user=request.user, reason=form.cleaned_data["reason"])
                done += 1
            except ServiceError as exc:
                modeladmin.message_user(request, str(exc), messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{done} order(s) refused on FNAC.", messages.SUCCESS)
        return None
    return TemplateResponse(request, "admin/orders/bulk_confirm.html", {
        **modeladmin.admin_site.each_context(request), "title": "Refuse orders on FNAC", "opts": Order._meta,
        "orders": queryset.select_related("store"), "form": form, "action": "refuse_orders",
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "submit": "Refuse these orders on FNAC",
        "intro": "These orders will be refused on FNAC (every line Refused). A refusal cannot be undone."})


refuse_orders.destructive = True


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
    list_display = ["marketplace_order_id", "created_at", "customer", "total_amount", "status_badge",
                    "attention", "store"]
    list_select_related = ["store"]
    list_filter = [StoreFilter, "status", AttentionFilter, ShipByFilter, FnacStateFilter, "created_at"]
    search_fields = ["marketplace_order_id", "customer_lastname", "customer_firstname", "lines__sku"]
    # no date_hierarchy: its year/month links need a DISTINCT over every row (seconds at 100,000 rows on SQLite,
    # bench/lists.py); the date filter in the sidebar does the same job (issue 14)
    show_full_result_count = False
    list_per_page = 100
    actions = [accept_orders, clear_flag, refuse_orders]
    # the order page's buttons; each shows only in the states where it applies and to users with its permission
    actions_detail = ["accept_button", "refuse_button", "release_button", "ready_to_ship_button", "label_button",
                      "cancel_button", "refund_lines_button"]
    readonly_fields = [
        "store", "marketplace_order_id", "status_badge", "fnac_state_text", "created_at", "fnac_updated_at",
        "client_id", "customer_firstname", "customer_lastname", "customer_email", "shipping_address_html",
        "billing_address_html", "fees", "vat_rate_text", "total_amount", "shipping_total", "shipping_method_text",
        "delivery_note", "unmatched_text", "attention_html", "decision_html", "last_push_error",
        "shipping_mode_text", "carrier_code", "tracking_number", "sync_info", "fnac_updated_text", "imported_at",
        "updated_at", "raw_xml",
    ]
    fieldsets = [
        (None, {"fields": ["store", "marketplace_order_id", "status_badge", "fnac_state_text", "created_at",
                           "decision_html", "attention_html", "last_push_error"]}),
        ("Customer", {"fields": ["client_id", "customer_firstname", "customer_lastname", "customer_email",
                                 "shipping_address_html", "billing_address_html", "delivery_note"]}),
        ("Amounts and shipping", {"fields": ["total_amount", "shipping_total", "fees", "vat_rate_text",
                                             "shipping_method_text", "shipping_mode_text", "carrier_code",
                                             "tracking_number"]}),
        ("Sync", {"fields": ["sync_info", "fnac_updated_text", "imported_at", "updated_at", "unmatched_text"]}),
        ("FNAC data as received", {"classes": ["collapse"], "fields": ["raw_xml"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Orders are FNAC's: deleting one would lose its history and the next sync would import it again.
        # An order leaves by being refused or cancelled, never by deletion (no "Delete selected orders").
        return False

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
        actions.pop("delete_selected", None)
        for func in hooks.order_admin_actions():
            name = func.__name__
            if self._filter_actions_by_permissions(request, [(func, name, "")]):
                actions[name] = (func, name, getattr(func, "short_description", name.replace("_", " ")))
        # destructive actions (refuse, cancel) never come first: they close the menu
        safe = {k: v for k, v in actions.items() if not getattr(v[0], "destructive", False)}
        return {**safe, **{k: v for k, v in actions.items() if k not in safe}}

    # ------------------------------------------------------------ the order page's buttons
    def get_actions_detail(self, request, object_id):
        allowed = super().get_actions_detail(request, object_id)
        order = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if order is None:
            return []
        shown = set()
        if services.order_awaits_decision(order):
            shown |= {"accept_button", "refuse_button"}
        for name, button in hooks.order_admin_buttons().items():
            if request.user.has_perms(button.perms) and button.applies(order):
                shown.add(f"{name}_button")
        prefix = f"{self.model._meta.app_label}_{self.model._meta.model_name}_"
        return [a for a in allowed if a.action_name.removeprefix(prefix) in shown]

    def _order_for(self, request, object_id) -> Order:
        order = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if order is None:
            raise Http404("No such order among your stores.")
        return order

    def _back(self, order) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def order_action_page(self, request, order, *, title, intro, form=None, submit, danger=False, extra=None):
        """The confirmation page of a button (POST only past it); fulfilment's buttons use it too."""
        return TemplateResponse(request, "admin/orders/order_action.html", {
            **self.admin_site.each_context(request), "title": title, "opts": Order._meta, "order": order,
            "original": order, "intro": intro, "form": form, "submit": submit, "danger": danger,
            "back": reverse("admin:orders_order_change", args=[order.pk]), **(extra or {})})

    @action(description="Accept", url_path="accept", permissions=["accept"], icon="check_circle",
            variant=ActionVariant.PRIMARY)
    def accept_button(self, request, object_id):
        order = self._order_for(request, object_id)
        if request.method == "POST":
            try:
                services.order_accept(order=order, user=request.user)
            except ServiceError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Order {order.marketplace_order_id} accepted on FNAC.", messages.SUCCESS)
            return self._back(order)
        return self.order_action_page(
            request, order, title=f"Accept order {order.marketplace_order_id}", submit="Accept on FNAC",
            intro="FNAC is told you accept every line of this order; its stock is reserved.")

    @action(description="Refuse…", url_path="refuse", permissions=["accept"], icon="block",
            variant=ActionVariant.DANGER)
    def refuse_button(self, request, object_id):
        order = self._order_for(request, object_id)
        form = RefuseForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.order_refuse(order=order, user=request.user, reason=form.cleaned_data["reason"])
            except ServiceError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, f"Order {order.marketplace_order_id} refused on FNAC.", messages.SUCCESS)
            return self._back(order)
        return self.order_action_page(
            request, order, title=f"Refuse order {order.marketplace_order_id}", form=form, danger=True,
            submit="Refuse on FNAC",
            intro="FNAC is told you refuse every line of this order. A refusal cannot be undone.")

    def _hooked(self, request, object_id, name):
        button = hooks.order_admin_buttons().get(name)
        if button is None:
            raise Http404(f"No {name} button here.")
        if not request.user.has_perms(button.perms):
            raise PermissionDenied
        return button.view(self, request, self._order_for(request, object_id))

    @action(description="Release to warehouse", url_path="release", permissions=["ship"], icon="warehouse")
    def release_button(self, request, object_id):
        return self._hooked(request, object_id, "release")

    @action(description="Ready to Ship…", url_path="ready-to-ship", permissions=["ship"], icon="local_shipping",
            variant=ActionVariant.PRIMARY)
    def ready_to_ship_button(self, request, object_id):
        return self._hooked(request, object_id, "ready_to_ship")

    @action(description="Print label", url_path="print-label", permissions=["view"], icon="print")
    def label_button(self, request, object_id):
        return self._hooked(request, object_id, "label")

    @action(description="Cancel order…", url_path="cancel", permissions=["cancel"], icon="cancel",
            variant=ActionVariant.DANGER)
    def cancel_button(self, request, object_id):
        return self._hooked(request, object_id, "cancel")

    # the claims app's button (issue 15); its own permission is checked by _hooked
    @action(description="Refund lines…", url_path="refund-lines", permissions=["view"], icon="currency_exchange",
            variant=ActionVariant.DANGER)
    def refund_lines_button(self, request, object_id):
        return self._hooked(request, object_id, "refund_lines")

    # ------------------------------------------------------------ readable fields
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
        when = date_format(localtime(order.synced_at), "DATETIME_FORMAT") if order.synced_at else "—"
        return format_html('<a href="{}">run #{}</a> at {}', url, order.last_sync_run_id, when)

    @admin.display(description="FNAC state", ordering="fnac_state")
    def fnac_state_text(self, order):
        return fnac_state_label(order.fnac_state)

    @admin.display(description="Shipping method")
    def shipping_method_text(self, order):
        return shipping_method_label(order.shipping_method)

    @admin.display(description="VAT rate")
    def vat_rate_text(self, order):
        return f"{order.vat_rate} %" if order.vat_rate is not None else "—"

    @admin.display(description="Shipped by")
    def shipping_mode_text(self, order):
        mode = order.shipping_mode or order.store.shipping_mode
        label = choice_label(Store.ShippingMode, mode)
        return label if order.shipping_mode else f"{label} (the store's default)"

    @admin.display(description="Updated on FNAC")
    def fnac_updated_text(self, order):
        return date_format(localtime(order.fnac_updated_at), "DATETIME_FORMAT") if order.fnac_updated_at else "—"

    @admin.display(description="Unknown SKUs")
    def unmatched_text(self, order):
        if order.has_unmatched_lines:
            return badge("⚠ Some lines have an SKU unknown here", "#f29900")
        return "Every SKU is known"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # nothing on the order page is edited by hand: its buttons do the work, so no Save buttons
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False, "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description="Needs attention")
    def attention(self, order):
        """The list's flag column: a warning, never a ✓."""
        if order.flagged:
            return badge("⚠ Flagged", WARN)
        if order.status == S.AWAITING_ACCEPTANCE and order.fnac_state == "Created" and (
                order.decision_needed or order.store.acceptance_mode == "manual"):
            return badge("Decide", "#f29900")
        if order.has_unmatched_lines:
            return badge("Unknown SKU", "#f29900")
        return ""

    @admin.display(description="Problems")
    def attention_html(self, order):
        if not order.flagged:
            return "No problem recorded"
        reasons = [r for r in (order.flag_reason or "").split("\n") if r.strip()] or ["(no reason recorded)"]
        return format_html('{}<ul style="margin:4px 0 0 18px;list-style:disc">{}</ul>', badge("⚠ Flagged", WARN),
                           format_html_join("", "<li>{}</li>", ((r,) for r in reasons)))

    @admin.display(description="Acceptance")
    def decision_html(self, order):
        if order.status != S.AWAITING_ACCEPTANCE:
            if order.fnac_state in ("Created",):
                return "—"
            return "Decided" if order.status not in (S.AWAITING_PAYMENT,) else "Accepted, waiting for payment"
        manual = order.store.acceptance_mode == "manual"
        if order.decision_needed or manual:
            why = order.decision_note or ("This store leaves every new order for you to accept or refuse."
                                          if manual else "")
            return format_html("{} {}", badge("Waiting for you: accept or refuse", "#f29900"), why)
        return "The store accepts automatically at the next order sync (every line known and in stock)."

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
