"""Admin for stores: Connect Store page, Disconnect, status badges, masked secrets, sync runs."""

from __future__ import annotations

import axes.admin  # noqa: F401  (registers its model admins first, so superusers_only() below finds them)
import django_q.admin  # noqa: F401
from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline
from unfold.enums import ActionVariant
from unfold.widgets import UnfoldAdminPasswordWidget, UnfoldAdminSelectWidget

from fnac_connector.errors import ServiceError
from stores import hooks, services
from stores.endpoints import SECRET_OF_URL, store_url_problems
from stores.models import Store, SyncIssue, SyncRun
from stores.selectors import recent_runs_q, store_schedules, stores_for_user

STATUS_COLOURS = {
    Store.Status.CONNECTED: "#1e8e3e", Store.Status.FAILED: "#d93025",
    Store.Status.DISCONNECTED: "#80868b", Store.Status.NOT_CONNECTED: "#f29900",
}
RUN_COLOURS = {
    SyncRun.State.SUCCEEDED: "#1e8e3e", SyncRun.State.PARTIAL: "#f29900", SyncRun.State.FAILED: "#d93025",
    SyncRun.State.RUNNING: "#1a73e8", SyncRun.State.QUEUED: "#80868b", SyncRun.State.SKIPPED: "#80868b",
}


def badge(text: str, colour: str):
    return format_html('<span style="background:{};color:#fff;padding:2px 8px;border-radius:10px;'
                       'font-size:11px;white-space:nowrap">{}</span>', colour, text)


def stores_each(modeladmin, request, queryset, start, *, level=messages.WARNING) -> list:
    """``start(store)`` for every selected store, in turn; a refusal (ServiceError) is shown as "store: why" at
    ``level`` and the next store is tried. Returns the (store, result) pairs of the stores it worked for."""
    done = []
    for store in queryset:
        try:
            done.append((store, start(store)))
        except ServiceError as exc:
            modeladmin.message_user(request, f"{store}: {exc}", level)
    return done


class ViewOnlyAdminMixin:
    """A list to read: its records are written by the connector, never added or edited in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ReadOnlyInline(TabularInline):
    """A panel that only shows rows: nothing added, edited or deleted from it; every field listed is read-only."""

    extra = 0
    max_num = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields


def run_state_badge(run: SyncRun):
    return badge(run.get_state_display(), RUN_COLOURS.get(run.state, "#888"))


class SyncRunColumns:
    """The state badge and progress bar of a sync run, for the run list and the runs panel of a store."""

    @admin.display(description="State")
    def state_badge(self, run):
        return run_state_badge(run)

    @admin.display(description="Progress")
    def progress(self, run):
        return progress_bar(run)


def progress_bar(run: SyncRun):
    pct = run.progress_percent
    if pct is None:
        return format_html('<span title="{} processed">{} processed</span>', run.processed, run.processed)
    return format_html(
        '<div style="width:140px;background:#eee;border-radius:3px" title="{}/{}">'
        '<div style="width:{}%;background:{};color:#fff;font-size:10px;padding:1px 3px;border-radius:3px">'
        '{}%</div></div>', run.processed, run.total or run.processed, pct, RUN_COLOURS.get(run.state, "#888"), pct)


class StoreScopedAdminMixin:
    """Staff see and act only on the stores they are assigned to; superusers see all."""

    store_field = "store"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(**{f"{self.store_field}__in": stores_for_user(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "store" and not request.user.is_superuser:
            kwargs["queryset"] = stores_for_user(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StoreFilter(admin.SimpleListFilter):
    """A list filter on the stores the user may see (never lists another seller's stores)."""

    title = "store"
    parameter_name = "store"

    def lookups(self, request, model_admin):
        return list(stores_for_user(request.user).values_list("pk", "name"))

    def queryset(self, request, queryset):
        return queryset.filter(store_id=self.value()) if self.value() else queryset


class SecretInput(UnfoldAdminPasswordWidget):
    """A key field in the console's look; the stored value is never sent back to the browser."""

    def __init__(self, attrs=None, render_value: bool = False):
        super().__init__({"autocomplete": "new-password", **(attrs or {})}, render_value=render_value)


SECRETS = ("fnac_key", "mirakl_api_key", "wms_secret")
URL_FIELDS = tuple(SECRET_OF_URL)


def can_change_credentials(request) -> bool:
    return request.user.has_perm(services.CREDENTIALS_PERMISSION)


class StoreForm(forms.ModelForm):
    """``allow_credentials = False`` (users without stores.change_store_credentials): no key fields at all."""

    allow_credentials = True
    fnac_key = forms.CharField(required=False, widget=SecretInput, label="FNAC key",
                               help_text="Leave empty to keep the stored key.")
    mirakl_api_key = forms.CharField(required=False, widget=SecretInput, label="Mirakl API key",
                                     help_text="Leave empty to keep the stored key.")
    wms_secret = forms.CharField(required=False, widget=SecretInput, label="WMS shared secret",
                                 help_text="Leave empty to keep the stored secret.")

    class Meta:
        model = Store
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._carrier_picker()
        self._adapter_picker()
        if not self.allow_credentials:
            for name in SECRETS:
                self.fields.pop(name, None)
        for name in SECRETS:
            if name not in self.fields:
                continue
            self.initial[name] = ""
            stored = getattr(self.instance, name, "") if self.instance.pk else ""
            if stored:
                self.fields[name].help_text = f"Stored: {getattr(self.instance, name + '_masked')}. " \
                                              "Leave empty to keep it."

    def _carrier_picker(self) -> None:
        """The default carrier as a drop-down of FNAC's carriers for this store, once they are loaded; free text
        before (a new store, or carriers not refreshed yet). A stored code FNAC no longer lists stays choosable,
        marked as such, so saving the page never changes it behind the seller's back."""
        field = self.fields.get("default_carrier_code")
        choices = hooks.carrier_choices(self.instance) if field is not None else []
        if not choices:
            return
        current = (self.instance.default_carrier_code or "").strip()
        options = [("", "— none (choose one to ship) —"), *choices]
        if current and current not in {code for code, _ in choices}:
            options.append((current, f"{current} (not in FNAC's carrier list)"))
        self.fields["default_carrier_code"] = forms.ChoiceField(
            label="Default carrier", choices=options, required=False, widget=UnfoldAdminSelectWidget,
            help_text="FNAC carrier sent as tracking_company when an order is shipped (from FNAC's carrier "
                      "list for this store).")

    def _adapter_picker(self) -> None:
        """Who books the parcels, as a drop-down of the adapters this installation has (a stored name no longer
        known stays choosable, marked, so saving the page never changes it silently)."""
        if "carrier_adapter" not in self.fields:
            return
        from fnac_connector.carriers import adapter_choices

        choices = adapter_choices()
        current = (self.instance.carrier_adapter or "").strip()
        options = [("", "— none: type the tracking number when shipping —"), *choices]
        if current and current not in {name for name, _ in choices}:
            options.append((current, f"{current} (unknown adapter)"))
        field = self.fields["carrier_adapter"]
        self.fields["carrier_adapter"] = forms.ChoiceField(
            label="Carrier adapter", choices=options, required=False, widget=UnfoldAdminSelectWidget,
            initial=field.initial, help_text=field.help_text)

    def clean(self):
        data = super().clean()
        # where keys go: the same host rules as the services, shown on the field
        urls = {f: data.get(f) or "" for f in URL_FIELDS
                if f in self.fields and (f in self.changed_data or not self.instance.pk)}
        for field, problems in store_url_problems(urls).items():
            if field not in self.errors:
                self.add_error(field, problems)
        for name in SECRETS:
            if name in self.fields and not data.get(name) and self.instance.pk:
                data[name] = getattr(Store.objects.get(pk=self.instance.pk), name)
        return data


class ConnectForm(forms.Form):
    fnac_key = forms.CharField(required=False, widget=SecretInput, label="FNAC key",
                               help_text="Leave empty to use the stored key.")
    mirakl_api_key = forms.CharField(required=False, widget=SecretInput, label="Mirakl API key",
                                     help_text="Leave empty to use the stored key.")


class SyncRunInline(SyncRunColumns, ReadOnlyInline):
    """The ten latest runs of a store as an inline (the store page shows them as a table in its Syncs tab)."""

    model = SyncRun
    fields = ["kind", "state_badge", "trigger", "started_at", "finished_at", "progress", "error_count"]
    ordering = ["-created_at"]
    show_change_link = True

    def get_queryset(self, request):
        # the ten latest runs only; the full history is on the sync run list
        qs = super().get_queryset(request)
        ids = list(qs.order_by("-created_at").values_list("id", flat=True)[:10])
        return qs.filter(id__in=ids)


# ---------------------------------------------------------------- readable values (local time, small tables)
def local_time(value, *, seconds: bool = False, year: bool = True) -> str:
    """A moment in the installation's time zone (settings.TIME_ZONE, Europe/Paris), to the minute (or second),
    never with microseconds; "—" for none."""
    if not value:
        return "—"
    return date_format(timezone.localtime(value), ("j M Y, " if year else "j M, ") + ("H:i:s" if seconds else "H:i"))


def duration_text(delta) -> str:
    if delta is None:
        return "—"
    total = int(delta.total_seconds())
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def counts_table(counts: dict | None, *, empty: str = "—"):
    """A run's counts (``{"created": 3, "fnac_ok": 1}``) as a small two-column table, words for keys."""
    if not counts:
        return empty
    rows = format_html_join(
        "", '<tr><td style="padding:1px 12px 1px 0">{}</td><td style="padding:1px 0;text-align:right;'
            'font-variant-numeric:tabular-nums">{}</td></tr>',
        ((str(key).replace("_", " ").capitalize(), _plain(value)) for key, value in sorted(counts.items())))
    return format_html('<table class="sync-counts" style="width:auto;font-size:12px"><tbody>{}</tbody></table>',
                       rows)


TRIGGER_LABELS = {
    "admin": "Admin", "api": "API", "command": "Command", "schedule": "Schedule", "demo": "Demo setup",
    "wms": "WMS", "task": "Background task", "sweep": "Daily sweep", "test": "Test",
    "mirakl_created": "Mirakl product created", "connect": "After connecting", "excel": "Excel upload",
}


def trigger_label(trigger: str) -> str:
    """What started a run, in words: "connect:admin" -> "After connecting (Admin)"."""
    head, _, tail = (trigger or "").partition(":")
    label = TRIGGER_LABELS.get(head, head.replace("_", " ").capitalize() or "—")
    return f"{label} ({trigger_label(tail)})" if tail else label


def _plain(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


@admin.action(description="Disconnect selected stores (asks for a reason)", permissions=["connect"])
def disconnect_stores(modeladmin, request, queryset):
    """Destructive: a confirmation page with a reason first; the stores are disconnected only when it is sent."""
    form = DisconnectForm(request.POST if "apply" in request.POST else None)
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data["reason"]
        done = len(stores_each(modeladmin, request, queryset,
                               lambda store: services.store_disconnect(store=store, reason=reason)))
        if done:
            modeladmin.message_user(request, f"{done} store(s) disconnected; their periodic jobs are stopped.")
        return None
    context = {**modeladmin.admin_site.each_context(request), "title": "Disconnect stores", "form": form,
               "stores": list(queryset), "opts": Store._meta, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
               "back": reverse("admin:stores_store_changelist"), "bulk": True}
    return TemplateResponse(request, "admin/stores/store/disconnect_confirm.html", context)


class DisconnectForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=1000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Why the store is disconnected (kept on the store page).")


def _button(title: str, path: str, *, variant=ActionVariant.DEFAULT, icon: str | None = None) -> dict:
    """A button of the store page's top bar, as unfold's ``actions_detail`` template takes it."""
    return {"title": title, "path": path, "variant": variant, "icon": icon, "attrs": {}, "dialog": None}


@admin.register(Store)
class StoreAdmin(ModelAdmin):
    form = StoreForm
    list_display = ["name", "status_badge", "shop_id_short", "connected_local", "last_error_short", "connect_link"]
    list_filter = ["status"]
    search_fields = ["name", "shop_id", "partner_id"]
    readonly_fields = ["status_badge", "status_summary", "last_error", "connected_at", "disconnected_at",
                       "mirakl_shop_name", "schedules", "recent_runs"]
    fieldsets = [
        (None, {"fields": ["status_summary"]}),
        ("Settings", {"classes": ["tab"], "fields": [
            "name", "partner_id", "shop_id", "fnac_key", "mirakl_api_key", "mirakl_shop_name", "fnac_base_url",
            "mirakl_base_url", "acceptance_mode", "uncovered_policy", "safety_stock", "price_field",
            "price_rounding", "answer_within_hours", "users"]}),
        ("Shipping setup", {"classes": ["tab"], "fields": [
            "shipping_mode", "default_carrier_code", "carrier_adapter", "sender_name", "sender_address1",
            "sender_zipcode", "sender_city", "sender_country", "sender_phone", "wms_enabled", "wms_webhook_url",
            "wms_secret", "tracking_stuck_days"]}),
        ("Syncs", {"classes": ["tab"], "fields": [
            "sync_catalogue_enabled", "sync_orders_enabled", "sync_order_status_enabled", "sync_stock_enabled",
            "sync_prices_enabled", "recent_runs"]}),
        ("Jobs", {"classes": ["tab"], "fields": [
            "orders_interval_minutes", "status_interval_minutes", "catalogue_interval_minutes", "schedules"]}),
    ]

    def get_queryset(self, request):
        return stores_for_user(request.user)

    # the model permissions (view/change_store...) and the store scoping, both
    def has_view_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._allowed(request, obj) and super().has_change_permission(request, obj)

    def has_connect_permission(self, request, obj=None):
        return self._allowed(request, obj) and request.user.has_perm("stores.connect_store")

    def has_sync_permission(self, request, obj=None):
        return self._allowed(request, obj) and request.user.has_perm("stores.sync_store")

    def _allowed(self, request, obj):
        return obj is None or request.user.is_superuser or stores_for_user(request.user).filter(pk=obj.pk).exists()

    def get_actions(self, request):
        actions = super().get_actions(request)
        extra = [(func, func.__name__, getattr(func, "short_description", func.__name__.replace("_", " ")))
                 for func in [*hooks.store_admin_actions(), disconnect_stores]]
        # each action's ``permissions`` (connect, sync, change...) decide whether this user gets it
        for func, name, description in self._filter_actions_by_permissions(request, extra):
            actions[name] = (func, name, description)
        # destructive ones never first: the syncs, then disconnect, then delete
        for name in ("disconnect_stores", "delete_selected"):
            if name in actions:
                actions[name] = actions.pop(name)
        return actions

    # where keys go and the keys themselves: only with stores.change_store_credentials
    def get_form(self, request, obj=None, change=False, **kwargs):
        if not can_change_credentials(request):
            kwargs["form"] = type("StoreFormNoCredentials", (self.form,), {"allow_credentials": False})
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not can_change_credentials(request):
            fields += [*URL_FIELDS, *(f"{name}_masked" for name in SECRETS)]
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        out = []
        for title, options in fieldsets:
            fields = list(options["fields"])
            if obj is None:  # a new store: no status, runs or jobs yet
                fields = [f for f in fields if f not in ("status_summary", "recent_runs", "schedules",
                                                         "mirakl_shop_name")]
            if not request.user.is_superuser:
                fields = [f for f in fields if f != "users"]  # the user list is for superusers (it names them)
            if not can_change_credentials(request):
                fields = [f"{f}_masked" if f in SECRETS else f for f in fields]
            if fields:
                out.append((title, {**options, "fields": fields}))
        return out

    @admin.display(description="FNAC key")
    def fnac_key_masked(self, store):
        return store.fnac_key_masked or "—"

    @admin.display(description="Mirakl API key")
    def mirakl_api_key_masked(self, store):
        return store.mirakl_api_key_masked or "—"

    @admin.display(description="WMS shared secret")
    def wms_secret_masked(self, store):
        return store.wms_secret_masked or "—"

    def save_model(self, request, obj, form, change):
        changed = {f: form.cleaned_data[f] for f in form.changed_data if f in services.CREDENTIAL_FIELDS}
        before = Store.objects.get(pk=obj.pk) if change else None  # ``obj`` already holds the form's values
        if services.credential_fields_changed(store=before, data=changed) and not can_change_credentials(request):
            raise PermissionDenied
        if change:
            data = {f: form.cleaned_data[f] for f in form.changed_data if f in services.EDITABLE_FIELDS
                    or f in services.SECRET_FIELDS}
            store = Store.objects.get(pk=obj.pk)
            services.store_update(store=store, data=data)
            obj.refresh_from_db()
        else:
            super().save_model(request, obj, form, change)
            if not request.user.is_superuser:
                obj.users.add(request.user)

    # ------------------------------------------------------------ columns and read-only values
    @admin.display(description="Status", ordering="status")
    def status_badge(self, store):
        return badge(store.get_status_display(), STATUS_COLOURS.get(store.status, "#888"))

    @admin.display(description="Shop ID", ordering="shop_id")
    def shop_id_short(self, store):
        return format_html('<span title="{}">{}…</span>', store.shop_id, store.shop_id[:8]) \
            if len(store.shop_id) > 12 else store.shop_id

    @admin.display(description="Connected", ordering="connected_at")
    def connected_local(self, store):
        return local_time(store.connected_at) if store.is_connected else "—"

    @admin.display(description="Status")
    def status_summary(self, store):
        if store.status == Store.Status.CONNECTED:
            when = format_html("since {}", local_time(store.connected_at))
        elif store.status == Store.Status.DISCONNECTED:
            when = format_html("since {}{}", local_time(store.disconnected_at),
                               format_html(" — reason: {}", store.disconnect_reason) if store.disconnect_reason
                               else "")
        else:
            when = ""
        error = format_html('<div style="color:#d93025;margin-top:4px">{}</div>', store.last_error) \
            if store.last_error else ""
        figures = format_html_join("", '<div style="margin-top:4px">{}: {}</div>',
                                   ((label, func(store)) for label, func in hooks.store_figures()))
        return format_html("{} <span>{}</span>{}{}", self.status_badge(store), when, error, figures)

    @admin.display(description="Last error")
    def last_error_short(self, store):
        return (store.last_error[:60] + "…") if len(store.last_error) > 60 else store.last_error

    @admin.display(description="")
    def connect_link(self, store):
        url = reverse("admin:stores_store_connect", args=[store.pk])
        label = "Reconnect" if store.status == Store.Status.CONNECTED else "Connect"
        return format_html('<a class="button" href="{}">{}</a>', url, label)

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if not request.user.has_perm("stores.connect_store"):  # the Connect column only for who may connect
            columns.remove("connect_link")
        return columns

    @admin.display(description="Periodic jobs")
    def schedules(self, store):
        rows = list(store_schedules(store)) if store.pk else []
        if not rows:
            return "None (created when the store connects)."
        labels = {hooks.schedule_name(store.pk, spec.job): spec.label or spec.job for spec in hooks.schedule_specs()}
        body = format_html_join(
            "", '<tr><td style="padding:2px 16px 2px 0">{}</td><td style="padding:2px 16px 2px 0">every {} min</td>'
                '<td style="padding:2px 0">next run {}</td></tr>',
            ((labels.get(s.name, s.name.split(":")[-1]), s.minutes, local_time(s.next_run, seconds=True))
             for s in rows))
        return format_html('<table style="width:auto"><tbody>{}</tbody></table>', body)

    @admin.display(description="Latest runs")
    def recent_runs(self, store):
        runs = list(SyncRun.objects.filter(store=store).order_by("-created_at", "-id")[:10]) if store.pk else []
        if not runs:
            return "No sync yet."
        cell = "padding:4px 12px 4px 0;vertical-align:top;white-space:nowrap"
        head = format_html_join("", '<th style="{};text-align:left;font-weight:600">{}</th>',
                                ((cell, h) for h in ("Run", "Kind", "State", "Started", "Took", "Progress",
                                                     "Counts")))
        body = format_html_join("", "<tr>" + f'<td style="{cell}">{{}}</td>' * 7 + "</tr>", (
            (format_html('<a href="{}">#{}</a>', reverse("admin:stores_syncrun_change", args=[r.pk]), r.pk),
             r.get_kind_display(), run_state_badge(r), local_time(r.started_at), duration_text(r.duration)
             if r.started_at else "—", progress_bar(r), counts_table(r.counts)) for r in runs))
        more = format_html('<p style="margin-top:6px"><a href="{}?store={}">All runs of this store</a></p>',
                           reverse("admin:stores_syncrun_changelist"), store.pk)
        return format_html('<table style="width:auto"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>{}',
                           head, body, more)

    # ------------------------------------------------------------ buttons on the store page
    def detail_buttons(self, request, store) -> list[dict]:
        """Connect, the syncs of every app (stores.hooks.store_button) and Disconnect, each for users with the
        permission it needs; Disconnect (destructive) last."""
        buttons = []
        if self.has_connect_permission(request, store):
            buttons.append(_button("Reconnect" if store.is_connected else "Connect",
                                   reverse("admin:stores_store_connect", args=[store.pk]),
                                   variant=ActionVariant.DEFAULT if store.is_connected else ActionVariant.PRIMARY,
                                   icon="power"))
        for label, url, permission in hooks.store_button_specs():
            if permission is None or request.user.has_perm(permission):
                buttons.append(_button(label, url(store), icon="sync" if label.startswith("Sync") else None))
        if store.is_connected and self.has_connect_permission(request, store):
            buttons.append(_button("Disconnect", reverse("admin:stores_store_disconnect", args=[store.pk]),
                                   variant=ActionVariant.DANGER, icon="power_off"))
        return buttons

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk:
            context["actions_detail"] = [*context.get("actions_detail", []), *self.detail_buttons(request, obj)]
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self):
        return [
            path("<path:object_id>/connect/", self.admin_site.admin_view(self.connect_view),
                 name="stores_store_connect"),
            path("<path:object_id>/disconnect/", self.admin_site.admin_view(self.disconnect_view),
                 name="stores_store_disconnect"),
        ] + super().get_urls()

    def connect_view(self, request, object_id):
        store = get_object_or_404(self.get_queryset(request), pk=unquote(object_id))
        if not self.has_connect_permission(request, store):
            raise PermissionDenied
        form = ConnectForm(request.POST or None)
        if not can_change_credentials(request):  # connect with the stored keys only
            form.fields.clear()
        if request.method == "POST" and form.is_valid():
            try:
                services.store_connect(store=store, trigger="admin", **form.cleaned_data)
            except services.ConnectFailed as exc:
                for part in (exc.details or {}).values():
                    form.add_error(None, part)
                store.refresh_from_db()
            else:
                self.message_user(request, f"Store {store.name!r} is connected. Its catalogue and orders are "
                                           "being imported; follow the progress in the Syncs tab.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:stores_store_change", args=[store.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Connect store: {store.name}",
            "form": form, "store": store, "opts": self.model._meta, "original": store,
            "has_view_permission": True,
            "rows": [("Partner ID", store.partner_id), ("Shop ID", store.shop_id),
                     ("FNAC API URL", store.fnac_base_url), ("Mirakl API URL", store.mirakl_base_url)],
        }
        return TemplateResponse(request, "admin/stores/store/connect.html", context)

    def disconnect_view(self, request, object_id):
        """Disconnect one store: a confirmation page asking why, then the service."""
        store = get_object_or_404(self.get_queryset(request), pk=unquote(object_id))
        if not self.has_connect_permission(request, store):
            raise PermissionDenied
        back = reverse("admin:stores_store_change", args=[store.pk])
        form = DisconnectForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.store_disconnect(store=store, reason=form.cleaned_data["reason"])
            except ServiceError as exc:
                self.message_user(request, f"{store.name}: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"Store {store.name!r} is disconnected: its periodic jobs are stopped. "
                                           "Connect it again to resume.", messages.SUCCESS)
            return HttpResponseRedirect(back)
        context = {**self.admin_site.each_context(request), "title": f"Disconnect store: {store.name}",
                   "form": form, "stores": [store], "store": store, "opts": self.model._meta, "back": back,
                   "bulk": False}
        return TemplateResponse(request, "admin/stores/store/disconnect_confirm.html", context)


class RecentRunsFilter(admin.SimpleListFilter):
    """Runs of the last 24 hours (stores.selectors.recent_runs_q; the dashboard's failed-runs figure links here)."""

    title = "period"
    parameter_name = "since"

    def lookups(self, request, model_admin):
        return [("24h", "Last 24 hours")]

    def queryset(self, request, queryset):
        return queryset.filter(recent_runs_q()) if self.value() == "24h" else queryset


@admin.register(SyncRun)
class SyncRunAdmin(ViewOnlyAdminMixin, SyncRunColumns, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["id", "store", "kind", "state_badge", "started_by", "started_short", "took", "progress",
                    "errors"]
    list_display_links = ["id", "kind"]
    list_filter = ["state", "kind", StoreFilter, RecentRunsFilter]
    list_select_related = ["store"]
    show_full_result_count = False  # a filtered page counts its own rows only (issue 14)
    # no date_hierarchy: its year/month links need a DISTINCT over every row (bench/lists.py); "Last 24 hours"
    # and the kind/state filters narrow the list instead (issue 14)
    readonly_fields = ["store", "kind", "state_badge", "started_by", "started_local", "finished_local", "took",
                       "progress", "counts_table", "error_count", "message", "params_table", "created_local",
                       "heartbeat_local"]
    fieldsets = [
        (None, {"fields": ["store", "kind", "state_badge", "started_by", "started_local", "finished_local", "took",
                           "progress", "counts_table", "error_count", "message"]}),
        ("Details", {"classes": ["collapse"], "fields": ["params_table", "created_local", "heartbeat_local"]}),
    ]

    def get_inlines(self, request, obj):
        return [SyncIssueInline]

    @admin.display(description="Started", ordering="started_at")
    def started_short(self, run):
        return local_time(run.started_at, seconds=True, year=False)

    @admin.display(description="Started by", ordering="trigger")
    def started_by(self, run):
        return trigger_label(run.trigger)

    @admin.display(description="Errors", ordering="error_count")
    def errors(self, run):
        return run.error_count or "—"

    @admin.display(description="Started", ordering="started_at")
    def started_local(self, run):
        return local_time(run.started_at, seconds=True)

    @admin.display(description="Finished", ordering="finished_at")
    def finished_local(self, run):
        return local_time(run.finished_at, seconds=True)

    @admin.display(description="Created", ordering="created_at")
    def created_local(self, run):
        return local_time(run.created_at, seconds=True)

    @admin.display(description="Last heartbeat")
    def heartbeat_local(self, run):
        return local_time(run.heartbeat_at, seconds=True)

    @admin.display(description="Took")
    def took(self, run):
        return duration_text(run.duration) if run.started_at else "—"

    @admin.display(description="Counts")
    def counts_table(self, run):
        return counts_table(run.counts)

    @admin.display(description="Parameters")
    def params_table(self, run):
        return counts_table(run.params, empty="None")


class SyncIssueInline(ReadOnlyInline):
    model = SyncIssue
    fields = ["code", "reference", "message", "details", "raw"]
    classes = ["collapse"]


def can_sync_store(request) -> bool:
    return request.user.has_perm("stores.sync_store")


def store_sync_confirm(modeladmin, request, store_id, *, action: str, template: str, start,
                       allowed=can_sync_store, context=None):
    """The page behind a store-page "Sync ..." button: say what will happen, confirm, start the job in the
    background and return to the store with a link to its run.

    ``start(store, request) -> SyncRun`` calls the capability's service; ``allowed(request) -> bool`` is the
    permission check on top of the store scoping (by default: stores.sync_store); ``context(store) -> dict``
    feeds its template, which extends ``admin/stores/store/confirm_sync.html``.
    """
    store = get_object_or_404(stores_for_user(request.user), pk=store_id)
    if not allowed(request):
        raise PermissionDenied
    back = reverse("admin:stores_store_change", args=[store.pk])
    if request.method == "POST":
        try:
            run = start(store, request)
        except ServiceError as exc:
            modeladmin.message_user(request, f"{store.name}: {exc}", messages.ERROR)
        else:
            modeladmin.message_user(request, format_html(
                '{} started for {}: <a href="{}">follow run #{}</a>.', action, store.name,
                reverse("admin:stores_syncrun_change", args=[run.pk]), run.pk), messages.SUCCESS)
        return HttpResponseRedirect(back)
    page = {**modeladmin.admin_site.each_context(request), "title": f"{action}: {store.name}", "action": action,
            "store": store, "back": back, "opts": Store._meta, **(context(store) if context else {})}
    return TemplateResponse(request, template, page)


# ---------------------------------------------------------------- django-q: superusers only (issue 9)
# Its schedules are named after stores (store:<id>:<job>) and its task lists show every store's arguments and
# results: internals, never scoped to a user's stores, so only superusers see them.
class SuperuserOnlyAdminMixin:
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


def superusers_only(app_label: str, site=admin.site) -> None:
    """Re-register every model admin of ``app_label`` so that only superusers reach it."""
    for model, model_admin in list(site._registry.items()):
        if model._meta.app_label == app_label and not isinstance(model_admin, SuperuserOnlyAdminMixin):
            site.unregister(model)
            bases = (SuperuserOnlyAdminMixin, type(model_admin))
            if not isinstance(model_admin, ModelAdmin):  # the console's look (django-unfold) on third-party pages
                bases += (ModelAdmin,)
            site.register(model, type(f"SuperuserOnly{type(model_admin).__name__}", bases, {}))


superusers_only("django_q")
superusers_only("axes")
