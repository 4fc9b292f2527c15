"""Admin for stores: Connect Store page, Disconnect, status badges, masked secrets, sync runs."""

from __future__ import annotations

import axes.admin  # noqa: F401  (registers its model admins first, so superusers_only() below finds them)
import django_q.admin  # noqa: F401
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from unfold.admin import ModelAdmin, TabularInline

from fnac_connector.errors import ServiceError
from stores import hooks, services
from stores.endpoints import SECRET_OF_URL, store_url_problems
from stores.models import Store, SyncIssue, SyncRun
from stores.selectors import store_schedules, stores_for_user

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


class SecretInput(forms.PasswordInput):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("render_value", False)
        super().__init__(*args, **kwargs)


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
    model = SyncRun
    fields = ["kind", "state_badge", "trigger", "started_at", "finished_at", "progress", "error_count"]
    ordering = ["-created_at"]
    show_change_link = True

    def get_queryset(self, request):
        # the ten latest runs only; the full history is on the sync run list
        qs = super().get_queryset(request)
        ids = list(qs.order_by("-created_at").values_list("id", flat=True)[:10])
        return qs.filter(id__in=ids)


@admin.action(description="Disconnect selected stores", permissions=["connect"])
def disconnect_stores(modeladmin, request, queryset):
    done = len(stores_each(modeladmin, request, queryset, lambda store: services.store_disconnect(store=store)))
    if done:
        modeladmin.message_user(request, f"{done} store(s) disconnected; their periodic jobs are stopped.")


@admin.register(Store)
class StoreAdmin(ModelAdmin):
    form = StoreForm
    list_display = ["name", "status_badge", "shop_id", "connected_at", "last_error_short", "connect_link"]
    list_filter = ["status"]
    search_fields = ["name", "shop_id", "partner_id"]
    filter_horizontal = ["users"]
    inlines = [SyncRunInline]
    readonly_fields = ["status_badge", "last_error", "connected_at", "disconnected_at", "mirakl_shop_name",
                       "schedules", "store_buttons"]
    fieldsets = [
        (None, {"fields": ["name", "status_badge", "last_error", "connected_at", "disconnected_at",
                           "store_buttons"]}),
        ("FNAC Darty credentials", {"fields": ["partner_id", "shop_id", "fnac_key", "mirakl_api_key",
                                               "mirakl_shop_name", "fnac_base_url", "mirakl_base_url"]}),
        ("Flows", {"fields": ["sync_catalogue_enabled", "sync_orders_enabled", "sync_order_status_enabled",
                              "sync_stock_enabled", "sync_prices_enabled", "orders_interval_minutes",
                              "status_interval_minutes", "catalogue_interval_minutes", "schedules"]}),
        ("Orders", {"fields": ["acceptance_mode", "uncovered_policy"]}),
        ("Stock and prices", {"fields": ["safety_stock", "price_field", "price_rounding"]}),
        ("Shipping", {"fields": ["shipping_mode", "default_carrier_code", "carrier_adapter", "sender_name",
                                 "sender_address1", "sender_zipcode", "sender_city", "sender_country",
                                 "sender_phone"]}),
        ("Warehouse (WMS)", {"fields": ["wms_enabled", "wms_webhook_url", "wms_secret"]}),
        ("Access", {"fields": ["users"]}),
    ]

    def get_queryset(self, request):
        qs = stores_for_user(request.user)
        return qs

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
                 for func in [disconnect_stores, *hooks.store_admin_actions()]]
        # each action's ``permissions`` (connect, sync, change...) decide whether this user gets it
        for func, name, description in self._filter_actions_by_permissions(request, extra):
            actions[name] = (func, name, description)
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
        if can_change_credentials(request) and request.user.is_superuser:
            return fieldsets
        out = []
        for title, options in fieldsets:
            if title == "Access" and not request.user.is_superuser:
                continue  # the user list is for superusers (it names every user)
            fields = options["fields"]
            if not can_change_credentials(request):
                fields = [f"{f}_masked" if f in SECRETS else f for f in fields]
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

    @admin.display(description="Status", ordering="status")
    def status_badge(self, store):
        return badge(store.get_status_display(), STATUS_COLOURS.get(store.status, "#888"))

    @admin.display(description="Last error")
    def last_error_short(self, store):
        return (store.last_error[:80] + "…") if len(store.last_error) > 80 else store.last_error

    @admin.display(description="")
    def connect_link(self, store):
        url = reverse("admin:stores_store_connect", args=[store.pk])
        label = "Reconnect" if store.status == Store.Status.CONNECTED else "Connect Store"
        return format_html('<a class="button" href="{}">{}</a>', url, label)

    @admin.display(description="Periodic jobs")
    def schedules(self, store):
        rows = store_schedules(store) if store.pk else []
        if not rows:
            return "None (created when the store connects)."
        return format_html_join(mark_safe("<br>"), "{} — every {} min, next run {}",
                                ((s.name.split(":")[-1], s.minutes, s.next_run) for s in rows))

    @admin.display(description="Actions")
    def store_buttons(self, store):
        if not store.pk:
            return ""
        parts = [format_html('<a class="button" href="{}">{}</a>',
                             reverse("admin:stores_store_connect", args=[store.pk]),
                             "Reconnect" if store.is_connected else "Connect Store")]
        for label, url in hooks.store_buttons():
            parts.append(format_html('<a class="button" href="{}">{}</a>', url(store), label))
        return mark_safe(" ".join(str(p) for p in parts))  # noqa: S308 - every part is format_html output

    def get_urls(self):
        return [
            path("<path:object_id>/connect/", self.admin_site.admin_view(self.connect_view),
                 name="stores_store_connect"),
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
                                           "being imported; follow the progress below.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:stores_store_change", args=[store.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Connect store: {store.name}",
            "form": form, "store": store, "opts": self.model._meta, "original": store,
            "has_view_permission": True,
        }
        return TemplateResponse(request, "admin/stores/store/connect.html", context)


@admin.register(SyncRun)
class SyncRunAdmin(ViewOnlyAdminMixin, SyncRunColumns, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["id", "store", "kind", "state_badge", "trigger", "created_at", "started_at", "finished_at",
                    "progress", "error_count"]
    list_filter = ["kind", "state", StoreFilter]
    list_select_related = ["store"]
    readonly_fields = [f.name for f in SyncRun._meta.fields] + ["progress"]
    date_hierarchy = "created_at"

    def get_inlines(self, request, obj):
        return [SyncIssueInline]


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
