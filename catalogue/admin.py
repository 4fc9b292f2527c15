"""Catalogue admin: products (list, filters, listing badges, List / Deactivate / Activate / Delete offer), the
single-product form with the category's attributes, the Excel upload (preview, apply, rejected rows), the
template download, Sync Catalogue for stores, and the reference data (categories, value lists)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timezone import localtime
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action
from unfold.enums import ActionVariant

from catalogue import services
from catalogue.admin_forms import (
    ATTR_PREFIX,
    attribute_bound_fields,
    attribute_fields,
    attribute_values,
    console_look,
    console_look_field,
)
from catalogue.models import (
    Category,
    CategoryAttribute,
    ListingJob,
    Product,
    ProductUpload,
    ValuesList,
    ValuesListValue,
)
from catalogue.rules import CONDITIONS
from catalogue.selectors import listing_jobs_for_product
from catalogue.validation import CatalogueContext, product_validate
from fnac_connector.errors import InvalidInput, ServiceError
from stores import hooks as store_hooks
from stores.admin import (
    StoreFilter,
    StoreScopedAdminMixin,
    ViewOnlyAdminMixin,
    badge,
    progress_bar,
    store_sync_confirm,
    stores_each,
)
from stores.models import Store, SyncRun
from stores.selectors import stores_for_user

LS = Product.ListingState
LISTING_COLOURS = {LS.NOT_LISTED: "#80868b", LS.CREATING: "#7b1fa2", LS.PENDING: "#1a73e8", LS.LIVE: "#1e8e3e",
                   LS.REJECTED: "#d93025", LS.DELISTED: "#5f6368"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def listing_badge(product: Product):
    return badge(product.get_listing_state_display(), LISTING_COLOURS.get(product.listing_state, "#888"))


def _may_write(request, store: Store, *perms: str) -> bool:
    return request.user.has_perms(perms) and stores_for_user(request.user).filter(pk=store.pk).exists()


# an Excel upload creates and updates products
UPLOAD_PERMS = ("catalogue.add_product", "catalogue.change_product")
# product fields that the stock, price and listing doors guard with their own permission
FIELD_PERMS = {"stock_on_hand": "catalogue.adjust_stock", "price": "catalogue.change_price",
               "sale_price": "catalogue.change_price", "is_active": "catalogue.publish_product"}


# ---------------------------------------------------------------- store side: Sync Catalogue
@admin.action(description="Sync Catalogue", permissions=["sync"])
def sync_catalogue_action(modeladmin, request, queryset):
    started = [f"{store.name} (run #{run.pk})" for store, run in stores_each(
        modeladmin, request, queryset,
        lambda store: services.catalogue_sync_request(store=store, full=True, trigger="admin"))]
    if started:
        modeladmin.message_user(request, "Catalogue sync started for " + ", ".join(started)
                                + "; follow the progress in the store's sync runs.", messages.SUCCESS)


# ---------------------------------------------------------------- filters
class CategoryFilter(admin.SimpleListFilter):
    title = "category"
    parameter_name = "category"

    def lookups(self, request, model_admin):
        return [(c, f"{label} ({c})") for c, label in Category.objects.filter(
            pk__in=Product.objects.filter(store__in=stores_for_user(request.user)).exclude(category=None)
            .values("category_id")).values_list("code", "label")]

    def queryset(self, request, queryset):
        return queryset.filter(category__code=self.value()) if self.value() else queryset


# ---------------------------------------------------------------- forms
class ProductChangeForm(forms.ModelForm):
    """The product page: the fixed fields, then one field per attribute of the product's category (drop-downs of
    FNAC's allowed values); the category can be changed and its attribute fields fetched without saving."""

    images_text = forms.CharField(label="Pictures", required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="Up to 4 http(s) URLs, one per line; the first is the main image.")

    class Meta:
        model = Product
        fields = ["name", "brand", "category", "condition", "description", "price", "sale_price",
                  "stock_on_hand", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ctx = CatalogueContext.load()
        self.initial["images_text"] = "\n".join(self.instance.images or [])
        if "category" in self.fields:
            self.fields["category"].queryset = Category.objects.order_by("label")
            self.fields["category"].label_from_instance = lambda c: f"{c.label} ({c.code})"
            self.fields["category"].help_text = "Choose it to see the category's attributes below."
        if "stock_on_hand" in self.fields:  # read-only without catalogue.adjust_stock
            self.fields["stock_on_hand"].label = "Quantity (stock on hand)"
        console_look_field(self.fields["images_text"])
        self.category_code = self._category_code()
        current = (self.instance.attributes or {}) if self.category_code == self._instance_category() else {}
        for name, field in attribute_fields(self.ctx, self.category_code).items():
            self.fields[name] = field
            self.initial[name] = current.get(name.removeprefix(ATTR_PREFIX), "")

    def _instance_category(self) -> str:
        return self.instance.category.code if self.instance.pk and self.instance.category_id else ""

    def _category_code(self) -> str:
        if self.is_bound and "category" in self.fields:
            pk = self.data.get(self.add_prefix("category"))
            category = Category.objects.filter(pk=pk).first() if pk and str(pk).isdigit() else None
            return category.code if category else ""
        return self._instance_category()

    def service_data(self) -> dict:
        data = {}
        attributes_changed = False
        for name in self.changed_data:
            value = self.cleaned_data.get(name)
            if name.startswith(ATTR_PREFIX):
                attributes_changed = True
            elif name == "images_text":
                data["images"] = [u for u in (value or "").split() if u]
            elif name == "category":
                data["category"] = value.code if value else ""
                attributes_changed = True
            elif name == "stock_on_hand":
                data["quantity"] = value
            else:
                data[name] = value if value is not None else ""
        if attributes_changed and self.category_code:
            data["attributes"] = attribute_values(self)
        return data

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not self.errors:
            data = {k: v for k, v in self.service_data().items() if k != "is_active"}
            _, errors = product_validate(data, self.ctx, partial=True, current=self.instance)
            field_of = {"quantity": "stock_on_hand", "images": "images_text"}
            for key, message in errors.items():
                target = field_of.get(key, key)
                if target not in self.fields and f"{ATTR_PREFIX}{key}" in self.fields:
                    self.add_error(f"{ATTR_PREFIX}{key}", message)
                else:
                    self.add_error(target if target in self.fields else None, f"{key}: {message}")
        return cleaned


class ProductCreateForm(forms.Form):
    """Single product: the fixed fields, then the chosen category's attributes (required ones marked)."""

    store = forms.ModelChoiceField(queryset=Store.objects.none())
    category = forms.ChoiceField(help_text="Leaf category; its attribute fields appear as soon as it is chosen "
                                           "(nothing else needs to be filled first).")
    sku = forms.CharField(label="SKU", max_length=100)
    ean = forms.CharField(label="EAN", max_length=20)
    name = forms.CharField(label="Title", max_length=200)
    brand = forms.CharField(help_text="A value of FNAC's brand list.")
    condition = forms.ChoiceField(choices=[], initial="11")
    price = forms.DecimalField(max_digits=10, decimal_places=2)
    quantity = forms.IntegerField(min_value=0)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    images = forms.CharField(label="Pictures", required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Up to 4 http(s) URLs, one per line; the first is the main image.")

    def __init__(self, *args, user=None, ctx: CatalogueContext, category_code: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.ctx = ctx
        self.fields["store"].queryset = stores_for_user(user)
        self.fields["category"].choices = [("", "---------")] + sorted(
            ((c, f"{ctx.categories[c].label} ({c})") for c in ctx.leaf_codes), key=lambda x: x[1])
        self.fields["condition"].choices = list(CONDITIONS.items())
        brands = ctx.allowed_labels(ctx.brand_list_code())
        if brands:
            self.fields["brand"] = forms.ChoiceField(choices=[("", "---------")] + [(b, b) for b in brands],
                                                     help_text="A value of FNAC's brand list.")
        console_look(self)
        attrs = attribute_fields(ctx, category_code)
        self.fields.update(attrs)
        self.attribute_codes = [name.removeprefix(ATTR_PREFIX) for name in attrs]

    def main_fields(self):
        return [self[name] for name in self.fields if not name.startswith(ATTR_PREFIX)]

    def service_data(self) -> dict:
        c = self.cleaned_data
        return {"sku": c["sku"], "ean": c["ean"], "name": c["name"], "brand": c["brand"], "category": c["category"],
                "condition": c["condition"], "price": c["price"], "quantity": c["quantity"],
                "description": c.get("description", ""), "images": (c.get("images") or "").split(),
                "attributes": {code: value for code, value in attribute_values(self).items() if value}}


class UploadForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none())
    file = forms.FileField(help_text=".xlsx, made from a category template")
    category = forms.ChoiceField(required=False, help_text="Category for rows without one (the template sets it).")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores_for_user(user)
        parents = set(Category.objects.exclude(parent_code="").values_list("parent_code", flat=True))
        self.fields["category"].choices = [("", "— the file's category column —")] + [
            (code, f"{label} ({code})") for code, label in
            Category.objects.exclude(code__in=parents).order_by("label").values_list("code", "label")]
        console_look(self)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            services.upload_size_check(upload.size)  # before anything reads it
        except InvalidInput as exc:
            raise forms.ValidationError(str(exc)) from None
        return upload


class TemplateForm(forms.Form):
    category = forms.ChoiceField()

    def __init__(self, *args, ctx: CatalogueContext, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = sorted(
            ((c, f"{ctx.categories[c].label} ({c})") for c in ctx.leaf_codes), key=lambda x: x[1])
        console_look(self)


# ---------------------------------------------------------------- actions (bulk, on the list)
class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", min_length=3, max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Why the offer is deleted; kept with the listing run.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        console_look(self)


@admin.action(description="List on FNAC", permissions=["publish"])
def list_on_fnac(modeladmin, request, queryset):
    _per_store(modeladmin, request, queryset, services.products_list_request, "Listing on FNAC started")


@admin.action(description="Deactivate (quantity 0 on FNAC, stock pushes held)", permissions=["publish"])
def deactivate(modeladmin, request, queryset):
    n = services.products_deactivate(products=queryset, trigger="admin")
    modeladmin.message_user(request, f"{n} product(s) deactivated: FNAC will show quantity 0.", messages.SUCCESS)


@admin.action(description="Activate (push the current stock again)", permissions=["publish"])
def activate(modeladmin, request, queryset):
    n = services.products_activate(products=queryset, trigger="admin")
    modeladmin.message_user(request, f"{n} product(s) activated: their stock is pushed again.", messages.SUCCESS)


@admin.action(description="Delete offer on FNAC…", permissions=["publish"])
def delete_offer(modeladmin, request, queryset):
    """Destructive: a confirmation page with a reason first; nothing reaches FNAC before it is confirmed."""
    form = ReasonForm(request.POST if request.POST.get("confirmed") == "yes" else None)
    if form.is_bound and form.is_valid():
        reason = form.cleaned_data["reason"]
        _per_store(modeladmin, request, queryset,
                   lambda **kw: services.products_delete_request(reason=reason, **kw), "Offer deletion sent")
        return None
    context = {**modeladmin.admin_site.each_context(request), "title": "Delete offers on FNAC",
               "opts": modeladmin.model._meta, "products": queryset.select_related("store")[:500],
               "count": queryset.count(), "action_checkbox_name": ACTION_CHECKBOX_NAME, "form": form,
               "ids": list(queryset.values_list("pk", flat=True))}
    return TemplateResponse(request, "admin/catalogue/product/delete_offer_confirm.html", context)


def _per_store(modeladmin, request, queryset, service, verb):
    by_store: dict[int, list[int]] = {}
    for pk, store_id in queryset.values_list("pk", "store_id"):
        by_store.setdefault(store_id, []).append(pk)
    for store in Store.objects.filter(pk__in=list(by_store)):
        try:
            run = service(store=store, product_ids=by_store[store.pk], trigger="admin")
        except ServiceError as exc:
            modeladmin.message_user(request, f"{store.name}: {exc}", messages.WARNING)
        else:
            modeladmin.message_user(request, format_html(
                '{}: {} for {} product(s): <a href="{}">follow run #{}</a>.', store.name, verb,
                len(by_store[store.pk]), reverse("admin:stores_syncrun_change", args=[run.pk]), run.pk),
                messages.SUCCESS)


# ---------------------------------------------------------------- what a product shows (lists and page)
PUSH_COLOURS = {Product.PushState.IN_SYNC: "#1e8e3e", Product.PushState.PENDING: "#1a73e8",
                Product.PushState.REJECTED: "#d93025", Product.PushState.HELD: "#80868b"}
LISTABLE = (LS.NOT_LISTED, LS.REJECTED, LS.DELISTED)
WARNING = "#e37400"


def push_badge(product: Product):
    """The push state, never "In sync" for a product nothing was pushed for yet."""
    if product.push_state == Product.PushState.IN_SYNC and product.pushed_at is None:
        return badge("Never pushed", "#80868b")
    return badge(product.get_push_state_display(), PUSH_COLOURS.get(product.push_state, "#888"))


def thumbnail(product: Product, size: int = 40):
    url = product.image_url or next(iter(product.images or []), "")
    if not url:
        return format_html('<span style="display:inline-block;width:{}px;height:{}px;border-radius:4px;'
                           'background:#eee" title="no picture"></span>', size, size)
    return format_html('<img src="{}" alt="" loading="lazy" width="{}" height="{}" class="product-thumb" '
                       'style="object-fit:contain;border-radius:4px;background:#f1f3f4;max-width:none" '
                       'onerror="this.removeAttribute(\'src\');this.title=\'picture not reachable\'">',
                       url, size, size)


# FNAC batch (offers_update → batch_status) and Mirakl import (P41 → P42) statuses, in words
JOB_STATUS = {
    "": ("Sent, waiting for FNAC", "#1a73e8"), "SENT": ("Sent, waiting for FNAC", "#1a73e8"),
    "ACTIVE": ("Queued at FNAC", "#1a73e8"), "RUNNING": ("Running at FNAC", "#1a73e8"),
    "WAITING": ("Waiting (Mirakl)", "#1a73e8"), "OK": ("Done", "#1e8e3e"), "COMPLETE": ("Done", "#1e8e3e"),
    "WARNING": ("Done with warnings", "#e37400"), "ERROR": ("Failed", "#d93025"),
    "FATAL": ("Failed (fatal)", "#d93025"), "FAILED": ("Failed", "#d93025"),
    "CANCELLED": ("Cancelled", "#80868b"), "UNKNOWN": ("Outcome unknown", "#e37400"),
    "TRANSFORMATION_FAILED": ("File not transformed (Mirakl)", "#d93025"),
}


def job_status_label(status: str) -> str:
    label, _ = JOB_STATUS.get((status or "").upper(), (None, ""))
    return label or status.replace("_", " ").capitalize()  # e.g. Mirakl's TRANSFORMATION_RUNNING


def job_status_badge(status: str):
    return badge(job_status_label(status), JOB_STATUS.get((status or "").upper(), ("", "#5f6368"))[1])


def without_store_column(request, columns) -> list:
    """A user who sees one store does not need a Store column (the lists then fit 1366 px)."""
    columns = list(columns)
    if "store" in columns and stores_for_user(request.user).count() <= 1:
        columns.remove("store")
    return columns


def when(value) -> str:
    return date_format(localtime(value), "d/m/Y H:i") if value else "—"


def short_id(value: str):
    """A long batch / import id, its first characters shown (all of it on hover)."""
    return format_html('<span title="{}" style="white-space:nowrap">{}</span>', value,
                       value[:8] + "…" if len(value) > 10 else value or "—")


class CompactListMixin:
    """Lists of runs and jobs: local times without seconds, no Store column for a one-store user."""

    def get_list_display(self, request):
        return without_store_column(request, super().get_list_display(request))

    @admin.display(description="Created", ordering="created_at")
    def created(self, obj):
        return format_html('<span style="white-space:nowrap">{}</span>', when(obj.created_at))

    @admin.display(description="Finished", ordering="finished_at")
    def finished(self, obj):
        return format_html('<span style="white-space:nowrap">{}</span>', when(obj.finished_at))


# ---------------------------------------------------------------- product admin
@admin.register(Product)
class ProductAdmin(StoreScopedAdminMixin, ModelAdmin):
    form = ProductChangeForm
    change_form_template = "admin/catalogue/product/change_form.html"
    list_display = ["thumb", "sku", "product", "store", "price", "stock_on_hand", "on_fnac"]
    list_display_links = ["thumb", "sku"]
    list_filter = [StoreFilter, "listing_state", "is_active", "differs_from_fnac", "removed_on_fnac", CategoryFilter]
    search_fields = ["sku", "ean", "name"]
    list_select_related = ["store", "category"]
    list_per_page = 100
    show_full_result_count = False  # a filtered page counts its own rows only (issue 14)
    actions = [list_on_fnac, activate, deactivate, delete_offer]
    actions_list = ["list_add", "list_upload", "list_template"]
    actions_detail = ["detail_list", "detail_activate", "detail_deactivate", "detail_push", "detail_delete_offer"]
    readonly_fields = ["picture", "store", "sku", "ean", "listing", "listing_message", "listing_updated_at",
                       "fnac_product_id", "fnac_offer_id", "product_url", "fnac_price", "fnac_quantity",
                       "differs", "removed", "stock_reserved", "push", "push_message", "pushed_quantity",
                       "pushed_price", "pushed_at", "imported_at", "created_at", "updated_at", "jobs",
                       "cost_price"]
    fieldsets = [
        ("Listing on FNAC", {"fields": ["picture", "listing", "listing_message", "listing_updated_at", "jobs"]}),
        ("Product", {"fields": ["store", "sku", "ean", "name", "brand", "category", "condition", "description",
                                "images_text"]}),
        ("Price and stock (owned by the OMS)", {"fields": ["price", "sale_price", "cost_price", "stock_on_hand",
                                                           "stock_reserved", "is_active"]}),
        ("What FNAC shows", {"fields": ["fnac_product_id", "fnac_offer_id", "product_url", "fnac_price",
                                        "fnac_quantity", "differs", "removed", "push", "push_message",
                                        "pushed_quantity", "pushed_price", "pushed_at"]}),
        ("Dates", {"classes": ["collapse"], "fields": ["imported_at", "created_at", "updated_at"]}),
    ]

    def has_publish_permission(self, request, obj=None):
        return request.user.has_perm("catalogue.publish_product")

    def get_actions(self, request):
        """Destructive actions never come first: Django's "Delete selected" goes to the end of the menu."""
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = actions.pop("delete_selected")
        return actions

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + [f for f, perm in FIELD_PERMS.items() if not request.user.has_perm(perm)]

    def get_list_display(self, request):
        return without_store_column(request, super().get_list_display(request))

    def get_form(self, request, obj=None, change=False, **kwargs):
        # the attribute fields are added by the form itself (they depend on the category)
        if "fields" not in kwargs:
            kwargs["fields"] = [f for f in flatten_fieldsets(self.get_fieldsets(request, obj))
                                if f not in self.get_readonly_fields(request, obj)]
        return super().get_form(request, obj, change=change, **kwargs)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        form = context["adminform"].form
        code = getattr(form, "category_code", "")
        ctx = getattr(form, "ctx", None)
        context.update({
            "attribute_fields": attribute_bound_fields(form),
            "attribute_category": ctx.categories.get(code) if ctx else None,
            "attribute_leaf": bool(ctx and code in ctx.leaf_codes),
            "product_panels": store_hooks.product_panels(request, obj) if obj is not None else [],
        })
        if obj is not None and not self.has_change_permission(request, obj):
            for field in context["attribute_fields"]:
                field.field.disabled = True
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # -- columns
    @admin.display(description="")
    def thumb(self, product):
        return thumbnail(product)

    @admin.display(description="Product", ordering="name")
    def product(self, product):
        details = " · ".join(t for t in (f"EAN {product.ean}" if product.ean else "",
                                         product.category.label if product.category_id else "") if t)
        return format_html('<div style="max-width:300px;white-space:normal">{}<div style="font-size:11px;'
                           'color:#80868b">{}</div></div>', Truncator(product.name).chars(70) or "—", details)

    @admin.display(description="On FNAC", ordering="listing_state")
    def on_fnac(self, product):
        parts = [listing_badge(product)]
        if not product.is_active:
            parts.append(badge("Deactivated", "#80868b"))
        if product.removed_on_fnac:
            parts.append(badge("Removed on FNAC", WARNING))
        if product.differs_from_fnac:
            parts.append(badge("Differs from FNAC", WARNING))
        return format_html('<div style="display:flex;flex-wrap:wrap;gap:4px;max-width:220px">{}</div>',
                           format_html_join("", "{}", ((p,) for p in parts)))

    # -- product page
    @admin.display(description="Picture")
    def picture(self, product):
        return thumbnail(product, size=120)

    @admin.display(description="Listing", ordering="listing_state")
    def listing(self, product):
        return listing_badge(product)

    @admin.display(description="Differs from FNAC")
    def differs(self, product):
        if product.differs_from_fnac:
            return badge("Yes — FNAC shows another price or quantity", WARNING)
        return "No"

    @admin.display(description="Removed on FNAC")
    def removed(self, product):
        return badge("Yes — no longer returned by FNAC", WARNING) if product.removed_on_fnac else "No"

    @admin.display(description="Last push")
    def push(self, product):
        return push_badge(product)

    @admin.display(description="Marketplace jobs")
    def jobs(self, product):
        jobs = listing_jobs_for_product(product) if product.pk else []
        if not jobs:
            return "—"
        return format_html_join(mark_safe("<br>"), "{} {} {} — {}: {}", (
            (when(j.created_at), j.get_kind_display(), short_id(j.external_id), job_status_label(j.status),
             j.message or "—") for j in jobs))

    # -- buttons on the product page (unfold actions_detail): each is shown only with the permission of the
    #    same bulk action / API call and when it applies; GET shows a confirmation, POST calls the service.
    def _detail_product(self, request, object_id) -> Product | None:
        cache = request.__dict__.setdefault("_catalogue_products", {})
        key = str(object_id)
        if key not in cache:
            cache[key] = self.get_queryset(request).select_related("store").filter(pk=unquote(key)).first() \
                if key.isdigit() else None
        return cache[key]

    def _applies(self, request, object_id, perm: str, test) -> bool:
        if not request.user.has_perm(perm):
            return False
        if object_id is None:
            return True
        product = self._detail_product(request, object_id)
        return product is not None and product.store.is_connected and test(product)

    def has_upload_permission(self, request, object_id=None):
        # a method, not dotted names: unfold's check would query the permission table at start-up (fresh database)
        return request.user.has_perms(UPLOAD_PERMS)

    def has_detail_list_permission(self, request, object_id=None):
        return self._applies(request, object_id, "catalogue.publish_product",
                             lambda p: p.listing_state in LISTABLE)

    def has_detail_activate_permission(self, request, object_id=None):
        return self._applies(request, object_id, "catalogue.publish_product", lambda p: not p.is_active)

    def has_detail_deactivate_permission(self, request, object_id=None):
        return self._applies(request, object_id, "catalogue.publish_product", lambda p: p.is_active)

    def has_detail_delete_offer_permission(self, request, object_id=None):
        return self._applies(request, object_id, "catalogue.publish_product",
                             lambda p: p.listing_state in (LS.LIVE, LS.PENDING) or (
                                 bool(p.fnac_offer_id) and p.listing_state != LS.DELISTED and not p.removed_on_fnac))

    def has_detail_push_permission(self, request, object_id=None):
        return self._applies(request, object_id, "stores.sync_store",
                             lambda p: p.is_active and p.listing_state == LS.LIVE)

    def _confirm(self, request, object_id, *, title: str, text: str, button: str, run, form=None,
                 destructive: bool = False):
        product = self._detail_product(request, object_id)
        if product is None:
            raise Http404
        back = reverse("admin:catalogue_product_change", args=[product.pk])
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                message = run(product)
            except ServiceError as exc:
                self.message_user(request, f"{product.sku}: {exc}", messages.ERROR)
            else:
                self.message_user(request, message, messages.SUCCESS)
            return HttpResponseRedirect(back)
        return TemplateResponse(request, "admin/catalogue/product/action_confirm.html", self._context(
            request, f"{title}: {product.sku}", product=product, text=text, button=button, back=back, form=form,
            destructive=destructive, picture=thumbnail(product, size=64)))

    def _run_link(self, product, what: str, run) -> str:
        return format_html('{} {}: <a href="{}">follow run #{}</a>.', what, product.sku,
                           reverse("admin:stores_syncrun_change", args=[run.pk]), run.pk)

    @action(description="List on FNAC", url_path="list-on-fnac", permissions=["detail_list"])
    def detail_list(self, request, object_id):
        return self._confirm(
            request, object_id, title="List on FNAC", button="List on FNAC",
            text="The offer is sent to FNAC (offers_update with EAN, SKU, price, condition, quantity, description "
                 "and pictures); if FNAC does not know the EAN, the product is created through Mirakl first.",
            run=lambda p: self._run_link(p, "Listing on FNAC started for", services.products_list_request(
                store=p.store, product_ids=[p.pk], trigger="admin")))

    @action(description="Activate", url_path="activate", permissions=["detail_activate"])
    def detail_activate(self, request, object_id):
        return self._confirm(
            request, object_id, title="Activate", button="Activate",
            text="The product's current stock is pushed to FNAC again.",
            run=lambda p: f"{services.products_activate(products=Product.objects.filter(pk=p.pk), trigger='admin')} "
                          f"product activated: its stock is pushed again.")

    @action(description="Deactivate", url_path="deactivate", permissions=["detail_deactivate"])
    def detail_deactivate(self, request, object_id):
        return self._confirm(
            request, object_id, title="Deactivate", button="Deactivate",
            text="FNAC will show quantity 0 and the stock pushes are held until the product is activated again.",
            run=lambda p: f"{services.products_deactivate(products=Product.objects.filter(pk=p.pk), trigger='admin')}"
                          f" product deactivated: FNAC will show quantity 0.")

    @action(description="Push now", url_path="push-now", permissions=["detail_push"])
    def detail_push(self, request, object_id):
        # the push belongs to the stock side (inventory): its page asks for confirmation and calls the service
        product = self._detail_product(request, object_id)
        if product is None:
            raise Http404
        return HttpResponseRedirect(reverse("admin:inventory_stock_push_now", args=[product.pk]) + "?from=product")

    @action(description="Delete offer…", url_path="delete-offer", permissions=["detail_delete_offer"],
            variant=ActionVariant.DANGER)
    def detail_delete_offer(self, request, object_id):
        form = ReasonForm(request.POST if request.method == "POST" else None)
        return self._confirm(
            request, object_id, title="Delete the offer on FNAC", button="Yes, delete the offer on FNAC",
            destructive=True, form=form,
            text="FNAC removes the offer (offers_update with treatment delete). The product stays in the OMS, "
                 "marked delisted; list it again to put it back on sale.",
            run=lambda p: self._run_link(p, "Offer deletion sent for", services.products_delete_request(
                store=p.store, product_ids=[p.pk], trigger="admin", reason=form.cleaned_data["reason"])))

    # -- links at the top of the product list (unfold actions_list)
    @action(description="Add product", url_path="go-add", icon="add", permissions=["add"])
    def list_add(self, request):
        return HttpResponseRedirect(reverse("admin:catalogue_product_create"))

    @action(description="Upload Excel", url_path="go-upload", icon="upload_file", permissions=["upload"])
    def list_upload(self, request):
        return HttpResponseRedirect(reverse("admin:catalogue_product_upload"))

    @action(description="Download template", url_path="go-template", icon="download", permissions=["view"])
    def list_template(self, request):
        return HttpResponseRedirect(reverse("admin:catalogue_product_template"))

    def add_view(self, request, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:catalogue_product_create"))

    def save_model(self, request, obj, form, change):
        if not change:
            raise PermissionDenied  # products are created through the create form (validation + listing)
        product = Product.objects.select_related("store", "category").get(pk=obj.pk)
        data = form.service_data()
        if data:
            services.product_update(product=product, data=data, trigger="admin")
        obj.refresh_from_db()

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("sync-store/<int:store_id>/", view(self.sync_store_view), name="catalogue_product_sync_store"),
            path("create/", view(self.create_view), name="catalogue_product_create"),
            path("attribute-fields/", view(self.attribute_fields_view), name="catalogue_product_attribute_fields"),
            path("upload/", view(self.upload_view), name="catalogue_product_upload"),
            path("upload/<int:upload_id>/", view(self.upload_preview_view), name="catalogue_product_upload_preview"),
            path("upload/<int:upload_id>/rejected/", view(self.upload_rejected_view),
                 name="catalogue_product_upload_rejected"),
            path("template/", view(self.template_view), name="catalogue_product_template"),
        ] + super().get_urls()

    def _context(self, request, title, **extra):
        return {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **extra}

    # -- Sync Catalogue button on the store page
    def sync_store_view(self, request, store_id):
        def last_run(store):
            last = SyncRun.objects.filter(store=store, kind__in=[SyncRun.Kind.CATALOGUE_IMPORT,
                                                                 SyncRun.Kind.CATALOGUE_REFRESH]).first()
            return {"last": last, "last_progress": progress_bar(last) if last else None}

        return store_sync_confirm(
            self, request, store_id, action="Sync Catalogue", template="admin/catalogue/sync_store.html",
            context=last_run,
            start=lambda store, r: services.catalogue_sync_request(store=store, full=r.POST.get("full") == "on",
                                                                   trigger="admin"))

    # -- single product
    def create_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        ctx = CatalogueContext.load()
        choosing = "choose_category" in request.POST
        data = request.POST if request.method == "POST" and not choosing else None
        category = (request.POST.get("category") or request.GET.get("category") or "").strip()
        initial = {"condition": "11", **(request.POST.dict() if choosing else {}), "category": category}
        form = ProductCreateForm(data, user=request.user, ctx=ctx, category_code=category, initial=initial)
        if data is not None and form.is_valid():
            store = form.cleaned_data["store"]
            if not _may_write(request, store, "catalogue.add_product"):
                raise PermissionDenied
            try:
                product = services.product_create(store=store, data=form.service_data(), trigger="admin", ctx=ctx)
            except InvalidInput as exc:
                for key, message in (exc.details or {}).items():
                    name = key if key in form.fields else f"attr_{key}" if f"attr_{key}" in form.fields else None
                    form.add_error(name, f"{key}: {message}" if name is None else message)
                if not exc.details:
                    form.add_error(None, str(exc))
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, f"Product {product.sku} created; it is being listed on FNAC "
                                           "(the listing state below follows FNAC's answer).", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:catalogue_product_change", args=[product.pk]))
        return TemplateResponse(request, "admin/catalogue/product/create.html", self._context(
            request, "Add a product and list it on FNAC", form=form, category=category,
            category_obj=ctx.categories.get(category), category_is_leaf=category in ctx.leaf_codes,
            attribute_fields=attribute_bound_fields(form), no_reference_data=not ctx.categories,
            attributes_url=reverse("admin:catalogue_product_attribute_fields")))

    def attribute_fields_view(self, request):
        """The attribute fields of a category, as HTML to put in the page (fetched when the category is chosen,
        before anything else is filled). ``category`` is a code (add page) or ``category_id`` a pk (product
        page); ``product`` (optional, scoped to the user's stores) gives the current values."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        ctx = CatalogueContext.load()
        code = (request.GET.get("category") or "").strip()
        category_id = (request.GET.get("category_id") or "").strip()
        if category_id:
            code = Category.objects.filter(pk=category_id).values_list("code", flat=True).first() or "" \
                if category_id.isdigit() else ""
        current: dict = {}
        product_id = (request.GET.get("product") or "").strip()
        if product_id:
            product = get_object_or_404(self.get_queryset(request).select_related("category"),
                                        pk=product_id if product_id.isdigit() else 0)
            if product.category_id and product.category.code == code:
                current = product.attributes or {}
        form = forms.Form()
        for name, field in attribute_fields(ctx, code).items():
            form.fields[name] = field
            form.initial[name] = current.get(name.removeprefix(ATTR_PREFIX), "")
        return TemplateResponse(request, "admin/catalogue/product/attribute_fields.html", {
            "attribute_fields": attribute_bound_fields(form), "category": ctx.categories.get(code),
            "leaf": code in ctx.leaf_codes, "code": code})

    # -- Excel
    def template_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        ctx = CatalogueContext.load()
        form = TemplateForm(request.GET or None, ctx=ctx)
        if request.GET and form.is_valid():
            code = form.cleaned_data["category"]
            response = HttpResponse(services.template_build(category_code=code, ctx=ctx), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="products-{code}.xlsx"'
            return response
        return TemplateResponse(request, "admin/catalogue/product/template.html", self._context(
            request, "Download an Excel template", form=form, no_reference_data=not ctx.categories))

    def upload_view(self, request):
        if not request.user.has_perms(UPLOAD_PERMS):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
        if request.method == "POST" and form.is_valid():
            store = form.cleaned_data["store"]
            if not _may_write(request, store, *UPLOAD_PERMS):
                raise PermissionDenied
            upload_file = form.cleaned_data["file"]
            try:
                upload = services.upload_validate(store=store, content=upload_file.read(), filename=upload_file.name,
                                                  category_code=form.cleaned_data.get("category") or "",
                                                  user=request.user)
            except InvalidInput as exc:
                form.add_error("file", str(exc))
            else:
                return HttpResponseRedirect(reverse("admin:catalogue_product_upload_preview", args=[upload.pk]))
        recent = ProductUpload.objects.filter(store__in=stores_for_user(request.user)).select_related("store")[:10]
        return TemplateResponse(request, "admin/catalogue/product/upload.html", self._context(
            request, "Upload products (Excel)", form=form, recent=recent))

    def _upload(self, request, upload_id) -> ProductUpload:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(ProductUpload.objects.filter(store__in=stores_for_user(request.user))
                                 .select_related("store", "run"), pk=upload_id)

    def upload_preview_view(self, request, upload_id):
        upload = self._upload(request, upload_id)
        if request.method == "POST":
            if not _may_write(request, upload.store, *UPLOAD_PERMS):
                raise PermissionDenied
            try:
                with transaction.atomic():
                    upload = services.upload_apply(upload=upload, trigger="admin")
            except ServiceError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                c = upload.counts
                self.message_user(request, f"Applied: {c.get('created', 0)} created, {c.get('updated', 0)} updated, "
                                           f"{c.get('rejected', 0)} rejected rows left out"
                                  + (f"; listing run #{upload.run_id} sends them to FNAC." if upload.run_id else "."),
                                  messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:catalogue_product_upload_preview", args=[upload.pk]))
        services_rows = []
        if upload.state == ProductUpload.State.VALIDATED:
            services_rows = services.upload_rows(upload)
        columns = [h for h in upload.header if h]
        limit = 500
        rejected = [r for r in services_rows if r.errors][:limit]
        valid = [r for r in services_rows if not r.errors][:100]
        rows = [(r, [(col, r.data.get(col, (r.data.get("attributes") or {}).get(col, "")),
                      r.errors.get("name" if col == "title" else col, "")) for col in columns]) for r in rejected]
        valid_rows = [(r, [(col, r.data.get(col, (r.data.get("attributes") or {}).get(col, "")), "")
                           for col in columns]) for r in valid]
        return TemplateResponse(request, "admin/catalogue/product/upload_preview.html", self._context(
            request, f"Upload #{upload.pk}: {upload.filename}", upload=upload, columns=columns, rows=rows,
            valid_rows=valid_rows, limit=limit,
            other_errors=[(r.number, {k: v for k, v in r.errors.items() if k not in columns and not (
                k == "name" and "title" in columns)}) for r in rejected],
            run_progress=progress_bar(upload.run) if upload.run_id else None))

    def upload_rejected_view(self, request, upload_id):
        upload = self._upload(request, upload_id)
        response = HttpResponse(services.rejected_rows_workbook(upload), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="rejected-rows-{upload.pk}.xlsx"'
        return response


# ---------------------------------------------------------------- reference data and jobs
class CategoryAttributeInline(TabularInline):
    model = CategoryAttribute
    extra = 0
    can_delete = False
    fields = ["code", "label", "type", "required", "values_list_code", "variant"]
    readonly_fields = fields


@admin.register(Category)
class CategoryAdmin(ModelAdmin):
    list_display = ["code", "label", "level", "parent_code"]
    search_fields = ["code", "label"]
    list_filter = ["level"]
    inlines = [CategoryAttributeInline]
    readonly_fields = ["code", "label", "level", "parent_code", "updated_at"]

    def has_add_permission(self, request):
        return False


class ValuesListValueInline(TabularInline):
    model = ValuesListValue
    extra = 0
    can_delete = False
    fields = ["code", "label"]
    readonly_fields = fields


@admin.register(ValuesList)
class ValuesListAdmin(ModelAdmin):
    list_display = ["code", "label"]
    search_fields = ["code", "label", "values__label"]
    inlines = [ValuesListValueInline]
    readonly_fields = ["code", "label"]

    def has_add_permission(self, request):
        return False


UPLOAD_COLOURS = {ProductUpload.State.VALIDATED: "#1a73e8", ProductUpload.State.APPLIED: "#1e8e3e",
                  ProductUpload.State.FAILED: "#d93025"}


@admin.register(ListingJob)
class ListingJobAdmin(CompactListMixin, ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["id", "created", "store", "kind", "purpose", "job_id", "status_badge", "finished",
                    "message_short"]
    list_filter = ["kind", "purpose", "is_final", StoreFilter]
    list_select_related = ["store"]
    search_fields = ["external_id"]
    readonly_fields = ["store", "run", "kind", "purpose", "external_id", "status_badge", "is_final", "product_ids",
                       "error_lines", "result", "polls", "message", "created_at", "finished_at"]
    exclude = []

    @admin.display(description="Status", ordering="status")
    def status_badge(self, job):
        return job_status_badge(job.status)

    @admin.display(description="Batch / import id", ordering="external_id")
    def job_id(self, job):
        return short_id(job.external_id)

    @admin.display(description="Message")
    def message_short(self, job):
        return format_html('<span title="{}">{}</span>', job.message, Truncator(job.message).chars(60) or "—")

    @admin.display(description="Rejected lines (Mirakl P44)")
    def error_lines(self, job):
        lines = (job.result or {}).get("error_lines") or []
        if not lines:
            return "—"
        return format_html_join(format_html("<br>"), "line {}: EAN {} SKU {} — {}", (
            (line.get("line"), line.get("ean"), line.get("sku"), " | ".join(line.get("errors") or []))
            for line in lines))


@admin.register(ProductUpload)
class ProductUploadAdmin(CompactListMixin, ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["id", "created", "store", "filename", "state_badge", "rows", "preview"]
    list_filter = ["state", StoreFilter]
    list_select_related = ["store"]

    @admin.display(description="State", ordering="state")
    def state_badge(self, upload):
        return badge(upload.get_state_display(), UPLOAD_COLOURS.get(upload.state, "#888"))

    @admin.display(description="Rows")
    def rows(self, upload):
        return format_html('{} valid · <span style="color:{}">{} rejected</span> · {} in all', upload.valid_rows,
                           "#d93025" if upload.rejected_rows else "inherit", upload.rejected_rows, upload.total_rows)

    @admin.display(description="")
    def preview(self, upload):
        return format_html('<a href="{}">Preview</a>',
                           reverse("admin:catalogue_product_upload_preview", args=[upload.pk]))
