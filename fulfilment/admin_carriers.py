"""Admin of carrier accounts (secrets masked, "Test connection"), carrier bookings (an unconfirmed booking is
marked "not booked" after checking the carrier's site) and the "Cancel shipment" action (void with the carrier)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.widgets import UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from fnac_connector.carriers.karrio_adapter import CARRIERS
from fnac_connector.errors import ServiceError
from fulfilment import accounts, shipping
from fulfilment.admin import ShipmentAdmin
from fulfilment.models import CarrierAccount, CarrierBooking
from stores.admin import SecretInput, StoreFilter, StoreScopedAdminMixin, ViewOnlyAdminMixin, badge

SETTING_LABELS = {
    "contract_number": "Contract number (Colissimo)", "account_number": "Account number (Chronopost, UPS)",
    "client_id": "Client ID (UPS)", "password": "Password (Colissimo, Chronopost)",
    "laposte_api_key": "La Poste Okapi API key (Colissimo tracking)", "client_secret": "Client secret (UPS)",
}
SETTING_FIELDS = sorted({f for spec in CARRIERS.values() for f in spec.setting_fields})
SECRET_FIELDS = sorted({f for spec in CARRIERS.values() for f in spec.credential_fields})


class CarrierAccountFormBase(forms.ModelForm):
    """Every carrier's settings as plain fields; the ones a carrier does not take must stay empty. Secrets are
    never sent back to the browser: leave one empty to keep the stored value."""

    class Meta:
        model = CarrierAccount
        fields = ["store", "carrier", "name", "active", "test_mode", "fnac_carrier_code", "service",
                  "services_by_method", "label_format", "default_weight_kg", "default_length_cm",
                  "default_width_cm", "default_height_cm"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.masked_secrets() if self.instance.pk else {}
        for name in SETTING_FIELDS:
            self.fields[name].initial = (self.instance.settings or {}).get(name, "")
        for name in SECRET_FIELDS:
            if name in stored:
                self.fields[name].help_text = f"Stored: {stored[name]}. Leave empty to keep it."
        services = ", ".join(f"{code} ({words})" for spec in CARRIERS.values() for code, words in spec.services.items())
        self.fields["service"].help_text += f" Services: {services}."

    def clean(self):
        data = super().clean()
        carrier = data.get("carrier") or self.instance.carrier
        secret_keys, setting_keys = accounts.carrier_fields(carrier)
        values = {k: data.get(k) for k in accounts.PLAIN_FIELDS if k in data}
        values.update({k: data.get(k) for k in accounts.DECIMAL_FIELDS if k in data})
        for name in [*SETTING_FIELDS, *SECRET_FIELDS]:
            value = data.get(name)
            if not value:
                continue
            if name not in (*setting_keys, *secret_keys):
                self.add_error(name, f"not a {carrier} setting")
                continue
            values[name] = value
        if self.errors:
            return data
        self.instance.store = data.get("store") or getattr(self.instance, "store", None)
        self.instance.carrier = carrier
        try:
            accounts.carrier_account_prepare(account=self.instance, values=values)
        except ServiceError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data

    def _post_clean(self):  # the service has set and checked the fields; keep them as it left them
        pass


# the settings as declared fields (the admin's fieldsets name them), built from the carriers' specs
CarrierAccountForm = type("CarrierAccountForm", (CarrierAccountFormBase,), {
    **{name: forms.CharField(required=False, label=SETTING_LABELS[name], widget=UnfoldAdminTextInputWidget)
       for name in SETTING_FIELDS},
    **{name: forms.CharField(required=False, label=SETTING_LABELS[name], widget=SecretInput)
       for name in SECRET_FIELDS},
})


@admin.register(CarrierAccount)
class CarrierAccountAdmin(StoreScopedAdminMixin, ModelAdmin):
    form = CarrierAccountForm
    list_display = ["name", "store", "carrier_text", "active", "mode", "label_format", "test_badge"]
    list_filter = [StoreFilter, "carrier", "active", "test_mode"]
    list_select_related = ["store"]
    search_fields = ["name"]
    readonly_fields = ["secrets_masked", "capabilities_text", "test_badge", "last_test_at", "last_test_message"]
    actions = ["test_connection"]
    actions_detail = ["test_connection_button"]

    def get_fieldsets(self, request, obj=None):
        return [
            (None, {"fields": ["store", "carrier", "name", "active", "test_mode", "capabilities_text"]}),
            ("Credentials (encrypted; leave a secret empty to keep it)",
             {"fields": [*SETTING_FIELDS, *SECRET_FIELDS, "secrets_masked"]}),
            ("Booking", {"fields": ["fnac_carrier_code", "service", "services_by_method", "label_format"]}),
            ("Parcel defaults", {"fields": ["default_weight_kg", "default_length_cm", "default_width_cm",
                                            "default_height_cm"]}),
            ("Connection test", {"fields": ["test_badge", "last_test_at", "last_test_message"]}),
        ]

    def save_model(self, request, obj, form, change):
        accounts.carrier_account_save(account=obj)

    def has_test_connection_permission(self, request, obj=None):
        return request.user.has_perm("fulfilment.change_carrieraccount")

    @admin.display(description="Carrier", ordering="carrier")
    def carrier_text(self, account):
        return account.get_carrier_display()

    @admin.display(description="Mode", ordering="test_mode")
    def mode(self, account):
        return "Carrier test platform" if account.test_mode else "Production"

    @admin.display(description="Stored secrets")
    def secrets_masked(self, account):
        masked = account.masked_secrets() if account.pk else {}
        return ", ".join(f"{SETTING_LABELS.get(k, k)}: {v}" for k, v in masked.items()) or "—"

    @admin.display(description="What this carrier can do")
    def capabilities_text(self, account):
        spec = CARRIERS.get(account.carrier)
        if spec is None:
            return "Sandbox: labels and cancel, books nothing (demo and tests)."
        words = {"labels": "labels", "cancel": "cancel/void", "tracking": "tracking"}
        can = ", ".join(words[c] for c in sorted(spec.capabilities) if c in words)
        return f"{can}. Test connection: {spec.test_connection}."

    @admin.display(description="Last test")
    def test_badge(self, account):
        if account.last_test_ok is None:
            return "Not tested"
        return badge("OK", "#1e8e3e") if account.last_test_ok else badge("Failed", "#d93025")

    @admin.action(description="Test connection", permissions=["test_connection"])
    def test_connection(self, request, queryset):
        for account in queryset:
            self._test(request, account)

    @action(description="Test connection", url_path="test-connection", permissions=["test_connection"],
            icon="network_check")
    def test_connection_button(self, request, object_id):
        account = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if account is None:
            raise Http404("No such carrier account among your stores.")
        self._test(request, account)
        return HttpResponseRedirect(reverse("admin:fulfilment_carrieraccount_change", args=[account.pk]))

    def _test(self, request, account):
        account = accounts.carrier_account_test(account=account)
        level = messages.SUCCESS if account.last_test_ok else messages.ERROR
        self.message_user(request, f"{account.name}: {account.last_test_message}", level)


class NoteForm(forms.Form):
    note = forms.CharField(label="What did you check on the carrier's site?", widget=UnfoldAdminTextareaWidget,
                           max_length=1000)


@admin.register(CarrierBooking)
class CarrierBookingAdmin(ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["reference", "order", "adapter", "state_badge", "tracking_number", "created_at", "store"]
    list_filter = ["state", StoreFilter]
    list_select_related = ["order", "store"]
    search_fields = ["reference", "tracking_number", "order__marketplace_order_id"]
    readonly_fields = ["store", "order", "carrier_account", "adapter", "reference", "state", "tracking_number",
                       "error", "note", "created_at", "updated_at"]
    actions = ["mark_not_booked"]

    def has_resolve_permission(self, request, obj=None):
        return request.user.has_perm("orders.ship_order")

    @admin.display(description="State", ordering="state")
    def state_badge(self, booking):
        colour = {"uncertain": "#d93025", "started": "#f29900", "booked": "#1e8e3e"}.get(booking.state, "#80868b")
        return badge(booking.get_state_display(), colour)

    @admin.action(description="Mark as not booked (checked on the carrier's site)…", permissions=["resolve"])
    def mark_not_booked(self, request, queryset):
        form = NoteForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            for booking in queryset:
                try:
                    shipping.carrier_booking_resolve(booking=booking, note=form.cleaned_data["note"],
                                                     user=request.user)
                    self.message_user(request, f"{booking.reference}: marked not booked.", messages.SUCCESS)
                except ServiceError as exc:
                    self.message_user(request, str(exc), messages.ERROR)
            return None
        return _reason_page(self, request, queryset, form, action_name="mark_not_booked",
                            title="Mark bookings as not booked", submit="Mark as not booked",
                            intro="Only after checking on the carrier's site that no parcel exists with these "
                                  "references: the orders can then be booked again.")


class VoidForm(forms.Form):
    reason = forms.CharField(label="Why cancel these shipments?", widget=UnfoldAdminTextInputWidget,
                             max_length=500)


def _reason_page(modeladmin, request, queryset, form, *, action_name, title, submit, intro):
    context = {**modeladmin.admin_site.each_context(request), "title": title, "objects": queryset, "form": form,
               "opts": modeladmin.model._meta, "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
               "action_name": action_name, "submit": submit, "intro": intro}
    return TemplateResponse(request, "admin/fulfilment/reason_confirm.html", context)


@admin.action(description="Cancel shipment (void with the carrier)…", permissions=["void"])
def void_shipments(modeladmin, request, queryset):
    form = VoidForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        for shipment in queryset:
            try:
                done = shipping.shipment_void(shipment=shipment, reason=form.cleaned_data["reason"], user=request.user)
                modeladmin.message_user(request, f"{done.tracking_number}: {done.last_error}", messages.SUCCESS)
            except ServiceError as exc:
                modeladmin.message_user(request, str(exc), messages.ERROR)
        return None
    return _reason_page(modeladmin, request, queryset, form, action_name="void_shipments",
                        title="Cancel shipments", submit="Cancel these shipments",
                        intro="Each parcel is voided with its carrier where the carrier allows it; its lines can "
                              "then be shipped again. Shipments FNAC already shows Shipped cannot be cancelled.")


void_shipments.destructive = True
ShipmentAdmin.actions = [*ShipmentAdmin.actions, void_shipments]
ShipmentAdmin.has_void_permission = lambda self, request, obj=None: request.user.has_perm("orders.ship_order")

