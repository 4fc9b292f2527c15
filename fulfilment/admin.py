"""Fulfilment admin: order actions (release, Ready to Ship, ship with details, retry confirmation, seller
cancellation, labels), panels on the order page, and the carrier, shipment, WMS event and delivery lists."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget, UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from fnac_connector.errors import ServiceError
from fulfilment import services
from fulfilment.forms import CarrierChoiceField, carrier_label
from fulfilment.labels import label_content_type
from fulfilment.models import Carrier, Shipment, TrackingEvent, TrackingStatus, WmsDelivery, WmsEvent
from fulfilment.selectors import order_can_cancel, order_can_release, order_can_ship, order_has_label, tracking_filter_q
from orders.hooks import OrderButton
from orders.labels import REFUND_REASONS, fnac_state_label
from orders.models import Order, OrderStatus
from orders.selectors import orders_for_user
from stores.admin import ReadOnlyInline, StoreFilter, StoreScopedAdminMixin, ViewOnlyAdminMixin, badge, stores_each
from stores.models import Store

LABEL_PERMS = ("orders.view_order", "fulfilment.view_shipment")
# asking the carriers now costs their quota only: whoever may see shipments and ship orders may ask
TRACK_PERMISSION = "orders.ship_order"
TRACKING_COLOURS = {
    TrackingStatus.INFO: "#80868b", TrackingStatus.IN_TRANSIT: "#1a73e8", TrackingStatus.OUT_FOR_DELIVERY: "#1a73e8",
    TrackingStatus.DELIVERED: "#1e8e3e", TrackingStatus.EXCEPTION: "#d93025", TrackingStatus.RETURNED: "#f29900",
}
SHIPMENT_COLOURS = {
    Shipment.State.PENDING: "#1a73e8", Shipment.State.CONFIRMED: "#1e8e3e", Shipment.State.FAILED: "#f29900",
    Shipment.State.REFUSED: "#d93025", Shipment.State.CANCELLED: "#80868b",
}


def _pdf(content: bytes, filename: str, inline: bool = True) -> HttpResponse:
    content_type, extension = label_content_type(content)  # PDF, or ZPL for thermal printers
    filename = f"{filename.rsplit('.', 1)[0]}.{extension}"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


def _report(modeladmin, request, done: int, verb: str, errors: list[str]) -> None:
    for error in errors[:20]:
        modeladmin.message_user(request, error, messages.ERROR)
    if len(errors) > 20:
        modeladmin.message_user(request, f"... and {len(errors) - 20} more errors.", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} order(s) {verb}.", messages.SUCCESS)


# ---------------------------------------------------------------- store action
@admin.action(description="Refresh FNAC carriers", permissions=["sync"])
def refresh_carriers_action(modeladmin, request, queryset):
    done = [f"{store.name} ({run.counts.get('carriers', 0)} carriers)" for store, run in stores_each(
        modeladmin, request, queryset, lambda store: services.carriers_refresh(store=store, trigger="admin"),
        level=messages.ERROR)]
    if done:
        modeladmin.message_user(request, "Carriers refreshed: " + ", ".join(done) + ".", messages.SUCCESS)


# ---------------------------------------------------------------- order actions
@admin.action(description="Release to warehouse (New → RFP)", permissions=["ship"])
def release_to_warehouse(modeladmin, request, queryset):
    done, errors = 0, []
    for order in queryset.select_related("store"):
        try:
            services.order_release_to_warehouse(order=order, user=request.user)
            done += 1
        except ServiceError as exc:
            errors.append(str(exc))
    _report(modeladmin, request, done, "released to the warehouse", errors)


@admin.action(description="Ready to Ship (book shipment, confirm to FNAC)", permissions=["ship"])
def ready_to_ship(modeladmin, request, queryset):
    by_store: dict[int, list[Order]] = {}
    for order in queryset.select_related("store").order_by("store_id", "created_at"):
        by_store.setdefault(order.store_id, []).append(order)
    done, errors = 0, []
    for orders in by_store.values():
        for outcome in services.orders_ready_to_ship(orders=orders, user=request.user, trigger="admin"):
            if outcome.ok:
                done += 1
            else:
                errors.append(f"Order {outcome.order.marketplace_order_id}: {outcome.error}")
    _report(modeladmin, request, done, "shipped and confirmed to FNAC", errors)


@admin.action(description="Ship with details (lines, typed tracking number, carrier)…", permissions=["ship"])
def ship_with_details(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, "Select exactly one order to ship it with details.", messages.WARNING)
        return None
    return HttpResponseRedirect(reverse("admin:fulfilment_ship_order", args=[queryset.first().pk]))


@admin.action(description="Retry shipment confirmation to FNAC", permissions=["ship"])
def retry_shipment_confirmation(modeladmin, request, queryset):
    done, errors = 0, []
    for order in queryset.select_related("store"):
        try:
            shipments = services.order_shipments_retry(order=order, user=request.user, trigger="admin")
        except ServiceError as exc:
            errors.append(str(exc))
            continue
        if all(s.state == Shipment.State.CONFIRMED for s in shipments):
            done += 1
        else:
            order.refresh_from_db()
            errors.append(f"Order {order.marketplace_order_id}: {order.last_push_error}")
    _report(modeladmin, request, done, "confirmed to FNAC", errors)


class CancelForm(forms.Form):
    reason = forms.ChoiceField(choices=[("", "— choose a reason —"), *REFUND_REASONS.items()],
                               label="Why do you cancel?", widget=UnfoldAdminSelectWidget,
                               help_text="Sent to FNAC as the refund reason when the order is already paid.")


@admin.action(description="Cancel by seller (refuse or refund on FNAC)…", permissions=["cancel"])
def cancel_by_seller(modeladmin, request, queryset):
    form = CancelForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done, errors = 0, []
        for order in queryset.select_related("store"):
            try:
                services.order_cancel_by_seller(order=order, reason=form.cleaned_data["reason"], user=request.user)
                done += 1
            except ServiceError as exc:
                errors.append(str(exc))
        _report(modeladmin, request, done, "cancelled on FNAC", errors)
        return None
    context = {**modeladmin.admin_site.each_context(request), "title": "Cancel orders (seller)",
               "orders": queryset, "form": form, "opts": modeladmin.model._meta,
               "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME}
    return TemplateResponse(request, "admin/fulfilment/cancel_confirm.html", context)


@admin.action(description="Print shipping labels (one PDF)", permissions=["view"])
def print_labels(modeladmin, request, queryset):
    try:
        pdf = services.orders_labels(orders=list(queryset))
    except ServiceError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return None
    return _pdf(pdf, "labels.pdf")


def _track_now(modeladmin, request, shipments) -> None:
    """Ask the carriers now about these parcels and say what came of it, in words."""
    shipments = [s for s in shipments if s.state == Shipment.State.CONFIRMED and s.delivered_at is None]
    if not shipments:
        modeladmin.message_user(request, "Nothing to check: tracking follows parcels FNAC confirmed and the carrier "
                                         "has not delivered yet.", messages.WARNING)
        return
    try:
        runs = services.shipments_track_now(shipments=shipments, trigger="admin")
    except ServiceError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    for run in runs:
        counts = run.counts
        text = (f"Tracking checked for {run.total or 0} parcel(s): {counts.get('events_new', 0)} new event(s), "
                f"{counts.get('delivered', 0)} delivered, {counts.get('stuck', 0)} newly stuck, "
                f"{counts.get('errors', 0)} the carrier does not know.")
        if run.state == run.State.FAILED:
            modeladmin.message_user(request, f"{text} {run.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, text, messages.SUCCESS)


@admin.action(description="Check tracking now", permissions=["ship"])
def check_tracking_now(modeladmin, request, queryset):
    _track_now(modeladmin, request, list(Shipment.objects.filter(order__in=queryset).select_related("store")
                                         .defer("label_pdf", "label_data")))


cancel_by_seller.destructive = True  # never first in the action menu; asks for a reason on its own page

ORDER_ACTIONS = [release_to_warehouse, ready_to_ship, ship_with_details, retry_shipment_confirmation,
                 cancel_by_seller, print_labels, check_tracking_now]


# ---------------------------------------------------------------- panels on the order page
class ShipmentInline(ReadOnlyInline):
    model = Shipment
    hide_title = True
    fields = ["created_at", "state_badge", "carrier", "tracking", "source", "shipped_lines", "tracking_summary",
              "last_error", "label_link"]
    verbose_name_plural = "shipments"

    @admin.display(description="Tracking")
    def tracking_summary(self, shipment):
        return tracking_summary(shipment)

    @admin.display(description="Carrier")
    def carrier(self, shipment):
        return carrier_name(shipment)

    @admin.display(description="Tracking number")
    def tracking(self, shipment):
        if shipment.tracking_url:
            return format_html('<a href="{}" target="_blank">{}</a>', shipment.tracking_url, shipment.tracking_number)
        return shipment.tracking_number

    def get_queryset(self, request):
        return with_carrier_names(super().get_queryset(request).prefetch_related("lines__order_line")
                                  .defer("label_pdf"))

    @admin.display(description="State")
    def state_badge(self, shipment):
        return badge(shipment.get_state_display(), SHIPMENT_COLOURS.get(shipment.state, "#888"))

    @admin.display(description="Lines")
    def shipped_lines(self, shipment):
        if not shipment.pk:
            return ""
        return ", ".join(str(sl.order_line.order_detail_id) for sl in shipment.lines.all() if not sl.cancelled)

    @admin.display(description="Label")
    def label_link(self, shipment):
        if not shipment.pk:
            return ""
        if shipment.source == Shipment.Source.MANUAL:
            return "typed by hand"
        return format_html('<a href="{}" target="_blank">Print label</a>',
                           reverse("admin:fulfilment_shipment_label", args=[shipment.pk]))


def carrier_name(shipment) -> str:
    """"Colissimo (COLISSIMO)" when FNAC's list names the code (``carrier_label_name`` annotated by the lists)."""
    name = getattr(shipment, "carrier_label_name", None)
    if name is None:
        name = Carrier.objects.filter(store_id=shipment.store_id, code=shipment.carrier_code).values_list(
            "name", flat=True).first()
    return carrier_label(shipment.carrier_code, name or "")


def with_carrier_names(qs):
    return qs.annotate(carrier_label_name=Subquery(Carrier.objects.filter(
        store_id=OuterRef("store_id"), code=OuterRef("carrier_code")).values("name")[:1]))


def tracking_badge(shipment):
    if shipment.stuck_since and not shipment.delivered_at:
        return badge("Stuck: no news", "#d93025")
    if shipment.tracking_status:
        return badge(shipment.get_tracking_status_display(), TRACKING_COLOURS.get(shipment.tracking_status, "#888"))
    if shipment.tracking_error:
        return badge("Carrier does not know it", "#f29900")
    if shipment.state == Shipment.State.CONFIRMED:
        return "Not checked yet" if not shipment.last_tracked_at else "No event yet"
    return "—"


def tracking_summary(shipment):
    """The tracking state in words: badge, last event, when checked, what went wrong."""
    parts = [tracking_badge(shipment)]
    if shipment.delivered_at:
        parts.append(format_html("delivered {}", _when(shipment.delivered_at)))
    elif shipment.last_event_at:
        parts.append(format_html("last event {}", _when(shipment.last_event_at)))
    if shipment.tracking_error:
        parts.append(format_html("<em>{}</em>", shipment.tracking_error))
    if shipment.last_tracked_at:
        parts.append(format_html('<span style="color:#80868b">checked {}</span>', _when(shipment.last_tracked_at)))
    return format_html_join(" · ", "{}", ((p,) for p in parts))


def _when(value) -> str:
    return formats.date_format(timezone.localtime(value), "d/m/Y H:i")


class TrackingEventInline(ReadOnlyInline):
    """The carriers' events of every parcel of the order, newest first: the order's delivery timeline."""

    model = TrackingEvent
    fk_name = "order"
    hide_title = True  # each row says it all; no title line per event
    fields = ["at", "parcel", "status_badge", "description", "location"]
    verbose_name = "carrier event"
    verbose_name_plural = "carrier tracking (every parcel, newest first)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("shipment").only(
            "at", "status", "description", "location", "order_id", "shipment__tracking_number",
            "shipment__carrier_code").order_by("-at", "-id")

    @admin.display(description="Parcel")
    def parcel(self, event):
        return f"{event.shipment.carrier_code} {event.shipment.tracking_number}"

    @admin.display(description="Status")
    def status_badge(self, event):
        return badge(event.get_status_display(), TRACKING_COLOURS.get(event.status, "#888"))


class ShipmentEventInline(TrackingEventInline):
    fk_name = "shipment"
    fields = ["at", "status_badge", "code", "description", "location"]
    verbose_name_plural = "carrier tracking (newest first)"


class WmsEventInline(ReadOnlyInline):
    model = WmsEvent
    fields = ["received_at", "event_id", "kind", "lines", "outcome", "note", "duplicates"]
    verbose_name_plural = "WMS events"


class WmsDeliveryInline(ReadOnlyInline):
    model = WmsDelivery
    fk_name = "order"
    fields = ["created_at", "kind", "state", "attempts", "last_status_code", "last_error", "next_attempt_at",
              "delivered_at"]
    verbose_name_plural = "WMS deliveries"


ORDER_INLINES = [ShipmentInline, TrackingEventInline, WmsEventInline, WmsDeliveryInline]


class TrackingFilter(admin.SimpleListFilter):
    """Where the parcels are, as the carriers say; "stuck" is the dashboard's "Stuck parcels"."""

    title = "tracking"
    parameter_name = "tracking"
    CHOICES = (("stuck", "Stuck (no carrier news)"), ("in_transit", "On the way"), ("delivered", "Delivered"),
               ("problem", "Delivery problem or returned"), ("unknown", "Carrier does not know the number"),
               ("not_checked", "Not checked yet"))

    def lookups(self, request, model_admin):
        return self.CHOICES

    def queryset(self, request, queryset):
        return queryset.filter(tracking_filter_q(self.value())) if self.value() else queryset


# ---------------------------------------------------------------- lists
@admin.register(Carrier)
class CarrierAdmin(StoreScopedAdminMixin, ModelAdmin):
    list_display = ["name_and_code", "store", "scope", "listed", "refreshed_at"]
    list_filter = [StoreFilter, "active"]
    list_select_related = ["store"]
    search_fields = ["code", "name"]
    readonly_fields = ["store", "code", "name", "is_global", "active", "refreshed_at"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Carrier", ordering="code")
    def name_and_code(self, carrier):
        return carrier_label(carrier.code, carrier.name)

    @admin.display(description="Scope")
    def scope(self, carrier):
        return "Every country" if carrier.is_global else "Some countries"

    @admin.display(description="Listed by FNAC", ordering="active")
    def listed(self, carrier):
        return "Yes" if carrier.active else badge("No longer listed", "#f29900")


class ShipForm(forms.Form):
    """Ready to Ship with details: the carrier from FNAC's list for the store, the lines to ship now (split
    shipment), or a tracking number typed from another system."""

    carrier_code = forms.ChoiceField(required=False, label="Carrier")
    lines = forms.MultipleChoiceField(required=False, widget=UnfoldAdminCheckboxSelectMultipleWidget,
                                      label="Lines to ship now",
                                      help_text="Leave all unticked to ship every line not shipped yet; tick some "
                                                "to ship only those now (the rest ships later).")
    carrier_other = forms.CharField(
        required=False, max_length=100, label="Other carrier (not in FNAC's list)", widget=UnfoldAdminTextInputWidget,
        help_text="Self ship only: a carrier FNAC does not list, typed on purpose; sent to FNAC as written (a name "
                  "or code FNAC lists becomes FNAC's code). Leave empty to use the carrier above.")
    tracking_number = forms.CharField(required=False, max_length=32, label="Tracking number (optional)",
                                      widget=UnfoldAdminTextInputWidget,
                                      help_text="Self ship only: a tracking number from another system (no label "
                                                "is booked). Empty: the parcel is booked with the store's carrier "
                                                "adapter and its label printed.")

    def __init__(self, *args, order: Order, **kwargs):
        super().__init__(*args, **kwargs)
        default = order.carrier_code or order.store.default_carrier_code
        self.fields["carrier_code"] = CarrierChoiceField(
            store=order.store, label="Carrier",
            blank=f"Default: {default}" if default else "— choose a carrier —",
            help_text="FNAC's carriers for this store (store action \"Refresh FNAC carriers\" reloads them). "
                      "Sent to FNAC as tracking_company.")
        self.fields["lines"].choices = [
            (str(line.order_detail_id), f"{line.quantity} × {line.sku} — {line.product_name} (line "
                                        f"{line.order_detail_id}, {fnac_state_label(line.state)})")
            for line in order.lines.all() if line.state == "ToShip"]

    def clean(self):
        data = super().clean()
        if (data.get("carrier_other") or "").strip() and data.get("carrier_code"):
            self.add_error("carrier_other", "Choose a carrier from FNAC's list or type another one, not both.")
        return data


@admin.register(Shipment)
class ShipmentAdmin(ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["order", "created_at", "state_badge", "carrier", "tracking_number", "tracking_column",
                    "source_text", "label_link", "store"]
    list_filter = [TrackingFilter, "state", "source", StoreFilter]
    list_select_related = ["order", "store"]
    search_fields = ["tracking_number", "awb", "order__marketplace_order_id"]
    readonly_fields = ["store", "order", "shipping_mode", "source", "adapter", "carrier_code", "awb",
                       "tracking_number", "tracking_url", "weight_kg", "state", "attempts", "last_error", "fnac_state",
                       "confirmed_at", "created_by", "created_at", "updated_at", "label_link", "tracking_status",
                       "last_event_at", "delivered_at", "stuck_since", "tracking_error", "last_tracked_at"]
    actions = ["print_selected_labels", "check_tracking"]
    inlines = [ShipmentEventInline]

    @admin.display(description="Tracking", ordering="tracking_status")
    def tracking_column(self, shipment):
        return tracking_summary(shipment)

    def has_track_permission(self, request, obj=None):
        return request.user.has_perm(TRACK_PERMISSION)

    @admin.action(description="Check tracking now", permissions=["track"])
    def check_tracking(self, request, queryset):
        _track_now(self, request, list(queryset.select_related("store")))

    def get_queryset(self, request):
        return with_carrier_names(super().get_queryset(request).defer("label_pdf", "label_data"))

    @admin.display(description="Carrier", ordering="carrier_code")
    def carrier(self, shipment):
        return carrier_name(shipment)

    @admin.display(description="How", ordering="source")
    def source_text(self, shipment):
        return "Booked, label" if shipment.source == Shipment.Source.CARRIER else "Typed by hand"

    @admin.display(description="State", ordering="state")
    def state_badge(self, shipment):
        return badge(shipment.get_state_display(), SHIPMENT_COLOURS.get(shipment.state, "#888"))

    @admin.display(description="Label")
    def label_link(self, shipment):
        if not shipment.pk or shipment.source == Shipment.Source.MANUAL:
            return "—"
        return format_html('<a href="{}" target="_blank">Print</a>',
                           reverse("admin:fulfilment_shipment_label", args=[shipment.pk]))

    @admin.action(description="Print labels (one PDF)", permissions=["view"])
    def print_selected_labels(self, request, queryset):
        try:
            return _pdf(services.labels_merged(shipments=list(queryset.order_by("id").defer(None))), "labels.pdf")
        except ServiceError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None

    def get_urls(self):
        return [
            path("<int:shipment_id>/label/", self.admin_site.admin_view(self.label_view),
                 name="fulfilment_shipment_label"),
            path("order/<int:order_id>/label/", self.admin_site.admin_view(self.order_label_view),
                 name="fulfilment_order_label"),
            path("ship/<int:order_id>/", self.admin_site.admin_view(self.ship_view), name="fulfilment_ship_order"),
        ] + super().get_urls()

    def _check_label_permission(self, request):
        if not request.user.has_perms(LABEL_PERMS):
            raise PermissionDenied

    def label_view(self, request, shipment_id):
        self._check_label_permission(request)
        shipment = get_object_or_404(Shipment.objects.filter(order__in=orders_for_user(request.user)), pk=shipment_id)
        try:
            return _pdf(services.shipment_label(shipment=shipment), f"label-{shipment.tracking_number}.pdf")
        except ServiceError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[shipment.order_id]))

    def order_label_view(self, request, order_id):
        self._check_label_permission(request)
        order = get_object_or_404(orders_for_user(request.user), pk=order_id)
        try:
            return _pdf(services.order_label(order=order), f"label-{order.marketplace_order_id}.pdf")
        except ServiceError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))

    def ship_view(self, request, order_id):
        order = get_object_or_404(orders_for_user(request.user), pk=order_id)
        if not request.user.has_perm("orders.ship_order"):
            raise PermissionDenied
        return ship_page(self, request, order)


def ship_page(model_admin, request, order: Order):
    """The ship form (GET) and Ready to Ship (POST): the order page's "Ready to Ship" button and the list's "Ship
    with details" action. A refusal is shown on the form; nothing has moved."""
    back = reverse("admin:orders_order_change", args=[order.pk])
    form = ShipForm(request.POST if request.method == "POST" else None, order=order)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.order_ready_to_ship(
                order=order, user=request.user, lines=[int(i) for i in form.cleaned_data["lines"]] or None,
                tracking_number=form.cleaned_data["tracking_number"],
                carrier_code=form.cleaned_data["carrier_other"].strip() or form.cleaned_data["carrier_code"],
                carrier_free_text=bool(form.cleaned_data["carrier_other"].strip()), trigger="admin")
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            if outcome.ok:
                model_admin.message_user(request, f"Shipped with {outcome.shipment.carrier_code} "
                                                  f"{outcome.shipment.tracking_number}; FNAC confirmed.",
                                         messages.SUCCESS)
            else:
                model_admin.message_user(request, f"Shipment {outcome.shipment.tracking_number} booked, but FNAC "
                                                  f"did not confirm it: {outcome.error}", messages.ERROR)
            return HttpResponseRedirect(back)
    context = {**model_admin.admin_site.each_context(request), "title": f"Ship order {order.marketplace_order_id}",
               "form": form, "order": order, "back": back, "opts": Order._meta,
               "shipping_mode": Store.ShippingMode(order.shipping_mode or order.store.shipping_mode).label,
               "status_label": OrderStatus(order.status).label, "fnac_state": fnac_state_label(order.fnac_state)}
    return TemplateResponse(request, "admin/fulfilment/ship_form.html", context)


# ---------------------------------------------------------------- the order page's buttons (served for orders)
def release_page(model_admin, request, order: Order):
    back = HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
    if request.method == "POST":
        try:
            services.order_release_to_warehouse(order=order, user=request.user)
        except ServiceError as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
        else:
            model_admin.message_user(request, f"Order {order.marketplace_order_id} released to the warehouse.",
                                     messages.SUCCESS)
        return back
    return model_admin.order_action_page(
        request, order, title=f"Release order {order.marketplace_order_id} to the warehouse", submit="Release",
        intro="The order goes to RFP (ready for pick/pack) and the warehouse is told to prepare it.")


def label_page(model_admin, request, order: Order):
    try:
        return _pdf(services.order_label(order=order), f"label-{order.marketplace_order_id}.pdf")
    except ServiceError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))


def cancel_page(model_admin, request, order: Order):
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.order_cancel_by_seller(order=order, reason=form.cleaned_data["reason"], user=request.user)
        except ServiceError as exc:
            model_admin.message_user(request, str(exc), messages.ERROR)
        else:
            model_admin.message_user(request, f"Order {order.marketplace_order_id} cancelled on FNAC.",
                                     messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
    paid = order.fnac_state == "ToShip"
    intro = ("The order is paid: FNAC refunds the buyer (every line Refunded with the reason you choose) and its "
             "stock is released." if paid else
             "The order is not accepted yet: FNAC is told you refuse every line.")
    return model_admin.order_action_page(
        request, order, title=f"Cancel order {order.marketplace_order_id}", form=form, danger=True,
        submit="Cancel the order on FNAC", intro=intro + " This cannot be undone.")


ORDER_BUTTONS = [
    OrderButton(name="release", applies=order_can_release, view=release_page, perms=("orders.ship_order",)),
    OrderButton(name="ready_to_ship", applies=order_can_ship, view=ship_page, perms=("orders.ship_order",)),
    OrderButton(name="label", applies=order_has_label, view=label_page, perms=LABEL_PERMS),
    OrderButton(name="cancel", applies=order_can_cancel, view=cancel_page, perms=("orders.cancel_order",)),
]


@admin.register(WmsEvent)
class WmsEventAdmin(ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["received_at", "store", "event_id", "kind", "order_ref", "lines", "outcome", "duplicates", "note"]
    list_filter = ["outcome", "kind", StoreFilter]
    list_select_related = ["store"]
    search_fields = ["event_id", "order_ref"]
    readonly_fields = [f.name for f in WmsEvent._meta.fields]


@admin.register(WmsDelivery)
class WmsDeliveryAdmin(ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["created_at", "store", "kind", "key", "order", "state_badge", "attempts", "last_status_code",
                    "next_attempt_at", "delivered_at", "last_error"]
    list_filter = ["state", "kind", StoreFilter]
    list_select_related = ["store", "order"]
    search_fields = ["key", "order__marketplace_order_id"]
    readonly_fields = [f.name for f in WmsDelivery._meta.fields]
    actions = ["retry_now"]

    @admin.display(description="State", ordering="state")
    def state_badge(self, delivery):
        colour = "#1e8e3e" if delivery.state == WmsDelivery.State.DELIVERED else (
            "#d93025" if delivery.attempts else "#1a73e8")
        return badge(delivery.get_state_display(), colour)

    def has_retry_permission(self, request, obj=None):
        return request.user.has_perm("fulfilment.change_wmsdelivery")

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request, queryset):
        ok = failed = 0
        for delivery in queryset.filter(state=WmsDelivery.State.PENDING):
            if services.wms_delivery_retry_now(delivery=delivery):
                ok += 1
            else:
                failed += 1
        self.message_user(request, f"{ok} delivered, {failed} still failing (retried with backoff).",
                          messages.SUCCESS if not failed else messages.WARNING)
from fulfilment import admin_carriers  # noqa: E402,F401  (carrier accounts, bookings, shipment void)
