"""Claims admin: the list sorted by what waits for the seller (filters store/status/type), the claim page with its
lines and a "Refund lines…" button, the claims panel of the order page with its own "Refund lines…" link, the
refunds list, and Sync Claims for stores. Everything is scoped to the user's stores."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.enums import ActionVariant

from claims import services
from claims.models import Claim, ClaimLine, LineRefund
from claims.refunds import REFUNDABLE_LINE_STATES, REFUNDABLE_ORDER_STATES
from claims.selectors import claims_waiting_q
from fnac_connector.errors import ServiceError
from fnac_connector.marketplace.fnac.incidents import INCIDENT_TYPES, closed_status_label, incident_type_label
from orders.labels import REFUND_REASONS, fnac_state_label
from orders.models import Order
from orders.selectors import orders_for_user
from stores.admin import (
    ReadOnlyInline,
    StoreFilter,
    StoreScopedAdminMixin,
    ViewOnlyAdminMixin,
    badge,
    store_sync_confirm,
)

OPENED_BY = {"client": "The buyer", "call-center": "FNAC customer service", "seller": "You (the seller)"}
REFUND_PERMISSION = "claims.refund_lines"


def can_refund(request) -> bool:
    return request.user.has_perm(REFUND_PERMISSION)


def _waiting_badge(claim: Claim):
    if claim.status == Claim.Status.OPENED and claim.waiting_for_seller:
        return badge("Waits for your answer", "#d93025")
    if claim.status == Claim.Status.OPENED:
        return badge("Open", "#f29900")
    return badge("Closed", "#80868b")


class ClaimTypeFilter(admin.SimpleListFilter):
    title = "type"
    parameter_name = "type"

    def lookups(self, request, model_admin):
        return [(str(code), label) for code, label in INCIDENT_TYPES.items() if code]

    def queryset(self, request, queryset):
        if not self.value() or not self.value().isdigit():
            return queryset
        return queryset.filter(pk__in=ClaimLine.objects.filter(type=int(self.value())).values("claim_id"))


class WaitingFilter(admin.SimpleListFilter):
    title = "waits for you"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [("1", "Waits for your answer"), ("0", "Not waiting")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(claims_waiting_q())
        if self.value() == "0":
            return queryset.exclude(claims_waiting_q())
        return queryset


class ClaimLineInline(ReadOnlyInline):
    model = ClaimLine
    hide_title = True
    verbose_name_plural = "claimed lines"
    fields = ["order_detail_id", "item", "type_text", "status_text", "refunded", "refunded_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order_line")

    @admin.display(description="Item")
    def item(self, line):
        if not line.order_line_id:
            return "(line not imported)"
        return f"{line.order_line.sku} — {line.order_line.product_name}"

    @admin.display(description="Type")
    def type_text(self, line):
        return incident_type_label(line.type)

    @admin.display(description="Status")
    def status_text(self, line):
        return "Open" if line.status == Claim.Status.OPENED else "Closed" if line.status == "CLOSED" else line.status

    @admin.display(description="Refunded (product + shipping)")
    def refunded(self, line):
        total = line.refunded_product + line.refunded_shipping
        return f"EUR {total}" if total else "—"


class ClaimsOnOrderInline(ReadOnlyInline):
    """The order page's claims section, with the "Refund lines…" link."""

    model = Claim
    fk_name = "order"
    verbose_name_plural = "buyer claims (FNAC incidents) and refunds"
    fields = ["claim_link", "state_html", "type_text", "opened_by_text", "message_text", "opened_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-waiting_for_seller", "-status", "-opened_at")

    @admin.display(description="Claim")
    def claim_link(self, claim):
        return format_html('<a href="{}">{}</a>', reverse("admin:claims_claim_change", args=[claim.pk]),
                           claim.incident_id[:8])

    @admin.display(description="State")
    def state_html(self, claim):
        return _waiting_badge(claim)

    @admin.display(description="Type")
    def type_text(self, claim):
        return claim.type_label

    @admin.display(description="Opened by")
    def opened_by_text(self, claim):
        return OPENED_BY.get(claim.opened_by, claim.opened_by or "—")

    @admin.display(description="Message")
    def message_text(self, claim):
        return claim.message[:300] or "—"


class RefundForm(forms.Form):
    reason = forms.ChoiceField(choices=[("", "— choose a reason —"), *REFUND_REASONS.items()],
                               help_text="FNAC's refund reason, sent with every line.")
    note = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="For your records (not sent to FNAC).")
    confirm = forms.BooleanField(label="I confirm: refund the ticked lines to the buyer on FNAC (cannot be undone)")


def refund_page(model_admin, request, order: Order, *, claim: Claim | None = None):
    """The Refund lines… page of an order (from the order page or a claim)."""
    back = reverse("admin:orders_order_change", args=[order.pk])
    lines = list(order.lines.select_related("product"))
    open_claims = dict(ClaimLine.objects.filter(claim__order=order, claim__status=Claim.Status.OPENED,
                                                status=Claim.Status.OPENED).values_list("order_detail_id",
                                                                                        "claim__incident_id"))
    claimed = set(claim.lines.values_list("order_detail_id", flat=True)) if claim else set()
    form = RefundForm(request.POST if request.method == "POST" else None)
    rows = []
    order_ok = order.fnac_state in REFUNDABLE_ORDER_STATES
    for line in lines:
        refundable = order_ok and line.state in REFUNDABLE_LINE_STATES
        why = ("already refunded" if line.state == "Refunded" else
               "the order is not shipped" if not order_ok else "not refundable in this state")
        rows.append({"line": line, "refundable": refundable, "why": why, "state": fnac_state_label(line.state),
                     "claim": (open_claims.get(line.order_detail_id) or "")[:8],
                     "checked": line.order_detail_id in claimed})
    if request.method == "POST" and form.is_valid():
        chosen = [services.RefundLineRequest(order_detail_id=line.order_detail_id,
                                             returned_to_stock=bool(request.POST.get(f"returned_{line.order_detail_id}")))
                  for line in lines if request.POST.get(f"line_{line.order_detail_id}")]
        try:
            refund = services.lines_refund(order=order, lines=chosen, reason=form.cleaned_data["reason"],
                                           note=form.cleaned_data["note"], user=request.user)
        except ServiceError as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
        else:
            back_stock = [d["sku"] for d in refund.lines if d["returned_to_stock"]]
            model_admin.message_user(request, f"Refunded on FNAC: {', '.join(d['sku'] for d in refund.lines)}"
                                     + (f"; back to stock: {', '.join(back_stock)}" if back_stock else "") + ".",
                                     messages.SUCCESS)
            return HttpResponseRedirect(back)
    context = {**model_admin.admin_site.each_context(request),
               "title": f"Refund lines of order {order.marketplace_order_id}", "opts": Order._meta, "order": order,
               "original": order, "form": form, "rows": rows, "danger": True,
               "submit": "Refund on FNAC", "back": back,
               "intro": "Tick the lines to refund and choose FNAC's reason. FNAC refunds the buyer; this cannot be "
                        "undone. Tick \"return to stock\" only for items that physically came back."}
    return TemplateResponse(request, "admin/claims/refund_lines.html", context)


@admin.register(Claim)
class ClaimAdmin(StoreScopedAdminMixin, ViewOnlyAdminMixin, ModelAdmin):
    list_display = ["order_link", "state_html", "type_text", "opened_by_text", "short_message", "opened_at",
                    "fnac_updated_at", "store"]
    list_select_related = ["store", "order"]
    list_filter = [StoreFilter, WaitingFilter, "status", ClaimTypeFilter, "opened_at"]
    search_fields = ["marketplace_order_id", "incident_id", "message"]
    ordering = ["-waiting_for_seller", "-status", "-fnac_updated_at", "-id"]
    show_full_result_count = False
    list_per_page = 100
    inlines = [ClaimLineInline]
    actions_detail = ["refund_button"]
    readonly_fields = ["store", "order_link", "incident_id", "state_html", "type_text", "opened_by_text", "message",
                       "closed_by_text", "closed_status_text", "opened_at", "fnac_updated_at", "closed_at", "sync_info",
                       "raw_xml"]
    fieldsets = [
        (None, {"fields": ["store", "order_link", "incident_id", "state_html", "type_text", "opened_by_text",
                           "message"]}),
        ("Closing", {"fields": ["closed_by_text", "closed_status_text", "closed_at"]}),
        ("Sync", {"fields": ["opened_at", "fnac_updated_at", "sync_info"]}),
        ("FNAC data as received", {"classes": ["collapse"], "fields": ["raw_xml"]}),
    ]

    def has_refund_permission(self, request, obj=None):
        return can_refund(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Order", ordering="marketplace_order_id")
    def order_link(self, claim):
        if claim.order_id:
            return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[claim.order_id]),
                               claim.marketplace_order_id)
        return format_html("{} {}", claim.marketplace_order_id, badge("order not imported yet", "#f29900"))

    @admin.display(description="State", ordering="waiting_for_seller")
    def state_html(self, claim):
        return _waiting_badge(claim)

    @admin.display(description="Type", ordering="main_type")
    def type_text(self, claim):
        return claim.type_label

    @admin.display(description="Opened by")
    def opened_by_text(self, claim):
        return OPENED_BY.get(claim.opened_by, claim.opened_by or "—")

    @admin.display(description="Closed by")
    def closed_by_text(self, claim):
        return OPENED_BY.get(claim.closed_by, claim.closed_by or "—")

    @admin.display(description="How it was closed")
    def closed_status_text(self, claim):
        return closed_status_label(claim.closed_status) if claim.closed_status is not None else "—"

    @admin.display(description="Message")
    def short_message(self, claim):
        return (claim.message[:80] + "…") if len(claim.message) > 80 else (claim.message or "—")

    @admin.display(description="Last sync")
    def sync_info(self, claim):
        if not claim.last_sync_run_id:
            return "—"
        return format_html('<a href="{}">run #{}</a>', reverse("admin:stores_syncrun_change",
                                                               args=[claim.last_sync_run_id]), claim.last_sync_run_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False, "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    @action(description="Refund lines…", url_path="refund", permissions=["refund"], icon="currency_exchange",
            variant=ActionVariant.DANGER)
    def refund_button(self, request, object_id):
        claim = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if claim is None:
            raise Http404("No such claim among your stores.")
        if claim.order_id is None:
            self.message_user(request, "The order of this claim is not imported yet: sync the orders first.",
                              messages.ERROR)
            return HttpResponseRedirect(reverse("admin:claims_claim_change", args=[claim.pk]))
        return refund_page(self, request, claim.order, claim=claim)

    def get_urls(self):
        return [
            path("order/<int:order_id>/refund/", self.admin_site.admin_view(self.order_refund_view),
                 name="claims_order_refund"),
            path("sync-store/<int:store_id>/", self.admin_site.admin_view(self.sync_store_view),
                 name="claims_claim_sync_store"),
        ] + super().get_urls()

    def order_refund_view(self, request, order_id):
        if not can_refund(request):
            raise PermissionDenied
        order = orders_for_user(request.user).filter(pk=order_id).first()
        if order is None:
            raise Http404("No such order among your stores.")
        return refund_page(self, request, order)

    def sync_store_view(self, request, store_id):
        return store_sync_confirm(
            self, request, store_id, action="Sync Claims", template="admin/claims/sync_store.html",
            start=lambda store, r: services.claims_sync_request(store=store, trigger="admin"))


@admin.register(LineRefund)
class LineRefundAdmin(StoreScopedAdminMixin, ViewOnlyAdminMixin, ModelAdmin):
    list_display = ["id", "order_link", "state_html", "route", "reason_text", "lines_text", "stock_returned", "user",
                    "created_at"]
    list_select_related = ["store", "order", "user"]
    list_filter = [StoreFilter, "state", "route", "created_at"]
    search_fields = ["order__marketplace_order_id"]
    readonly_fields = ["store", "order_link", "claim", "route", "reason_text", "lines_text", "state_html", "error",
                       "error_code", "stock_returned", "note", "user", "created_at", "finished_at"]
    fields = readonly_fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Order")
    def order_link(self, refund):
        return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[refund.order_id]),
                           refund.order.marketplace_order_id)

    @admin.display(description="State", ordering="state")
    def state_html(self, refund):
        colours = {LineRefund.State.DONE: "#1e8e3e", LineRefund.State.REFUSED: "#d93025",
                   LineRefund.State.UNKNOWN: "#f29900", LineRefund.State.SENDING: "#1a73e8"}
        return badge(refund.get_state_display(), colours.get(refund.state, "#80868b"))

    @admin.display(description="Reason")
    def reason_text(self, refund):
        return REFUND_REASONS.get(refund.reason, refund.reason)

    @admin.display(description="Lines")
    def lines_text(self, refund):
        return ", ".join(f"{d['sku']} x{d['quantity']}" + (" (back to stock)" if d.get("returned_to_stock") else "")
                         for d in refund.lines)
