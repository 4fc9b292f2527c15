"""Catalogue admin: products (list, filters, listing badges, List / Deactivate / Activate / Delete offer), the
single-product form with the category's attributes, the Excel upload (preview, apply, rejected rows), the
template download, Sync Catalogue for stores, and the reference data (categories, value lists)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin, TabularInline

from catalogue import services
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
from catalogue.validation import FIELD_ATTRIBUTES, CatalogueContext, product_validate
from fnac_connector.errors import InvalidInput, ServiceError
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
    images_text = forms.CharField(label="Pictures", required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                  help_text="Up to 4 http(s) URLs, one per line.")

    class Meta:
        model = Product
        fields = ["name", "brand", "category", "condition", "description", "attributes", "price", "sale_price",
                  "stock_on_hand", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial["images_text"] = "\n".join(self.instance.images or [])
        self.fields["category"].queryset = Category.objects.order_by("code")
        self.fields["category"].label_from_instance = lambda c: f"{c.label} ({c.code})"
        if "stock_on_hand" in self.fields:  # read-only without catalogue.adjust_stock
            self.fields["stock_on_hand"].label = "Quantity (stock on hand)"

    def service_data(self) -> dict:
        data = {}
        for name in self.changed_data:
            value = self.cleaned_data.get(name)
            if name == "images_text":
                data["images"] = [u for u in (value or "").split() if u]
            elif name == "category":
                data["category"] = value.code if value else ""
            elif name == "stock_on_hand":
                data["quantity"] = value
            else:
                data[name] = value if value is not None else ""
        return data

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not self.errors:
            data = {k: v for k, v in self.service_data().items() if k != "is_active"}
            _, errors = product_validate(data, CatalogueContext.load(), partial=True, current=self.instance)
            field_of = {"quantity": "stock_on_hand", "images": "images_text"}
            for key, message in errors.items():
                target = field_of.get(key, key)
                self.add_error(target if target in self.fields else None, f"{key}: {message}")
        return cleaned


class ProductCreateForm(forms.Form):
    """Single product: the fixed fields, then the chosen category's attributes (required ones marked)."""

    store = forms.ModelChoiceField(queryset=Store.objects.none())
    category = forms.ChoiceField(help_text="Leaf category; choose it first to see its attributes.")
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
            self.fields["brand"] = forms.ChoiceField(choices=[("", "---------")] + [(b, b) for b in brands])
        self.attribute_codes = []
        if category_code in ctx.leaf_codes:
            for attr in ctx.attributes_for(category_code):
                if attr.code in FIELD_ATTRIBUTES:
                    continue
                name = f"attr_{attr.code}"
                label = f"{attr.label or attr.code} ({attr.code})"
                values = ctx.allowed_labels(attr.values_list_code) if attr.values_list_code else []
                if values:
                    field = forms.ChoiceField(label=label, required=attr.required,
                                              choices=[("", "---------")] + [(v, v) for v in values])
                else:
                    field = forms.CharField(label=label, required=attr.required, help_text=attr.description)
                self.fields[name] = field
                self.attribute_codes.append(attr.code)

    def service_data(self) -> dict:
        c = self.cleaned_data
        return {"sku": c["sku"], "ean": c["ean"], "name": c["name"], "brand": c["brand"], "category": c["category"],
                "condition": c["condition"], "price": c["price"], "quantity": c["quantity"],
                "description": c.get("description", ""), "images": (c.get("images") or "").split(),
                "attributes": {code: c.get(f"attr_{code}") for code in self.attribute_codes
                               if c.get(f"attr_{code}") not in (None, "")}}


class UploadForm(forms.Form):
    store = forms.ModelChoiceField(queryset=Store.objects.none())
    file = forms.FileField(help_text=".xlsx, made from a category template")
    category = forms.CharField(required=False, help_text="Category for rows without one (the template sets it).")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = stores_for_user(user)

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


# ---------------------------------------------------------------- actions
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


@admin.action(description="Delete offer on FNAC", permissions=["publish"])
def delete_offer(modeladmin, request, queryset):
    if request.POST.get("confirmed") == "yes":
        _per_store(modeladmin, request, queryset, services.products_delete_request, "Offer deletion sent")
        return None
    context = {**modeladmin.admin_site.each_context(request), "title": "Delete offers on FNAC",
               "opts": modeladmin.model._meta, "products": queryset.select_related("store")[:500],
               "count": queryset.count(), "action_checkbox_name": ACTION_CHECKBOX_NAME,
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
            modeladmin.message_user(request, f"{store.name}: {verb} for {len(by_store[store.pk])} product(s) "
                                             f"(run #{run.pk}).", messages.SUCCESS)


# ---------------------------------------------------------------- product admin
@admin.register(Product)
class ProductAdmin(StoreScopedAdminMixin, ModelAdmin):
    form = ProductChangeForm
    list_display = ["sku", "name", "store", "ean", "category", "price", "stock_on_hand", "listing", "is_active",
                    "differs_from_fnac", "removed_on_fnac"]
    list_filter = [StoreFilter, "listing_state", "is_active", "differs_from_fnac", "removed_on_fnac", CategoryFilter]
    search_fields = ["sku", "ean", "name"]
    list_select_related = ["store", "category"]
    list_per_page = 100
    actions = [list_on_fnac, deactivate, activate, delete_offer]
    readonly_fields = ["store", "sku", "ean", "listing", "listing_message", "listing_updated_at", "fnac_product_id",
                       "fnac_offer_id", "product_url", "fnac_price", "fnac_quantity", "differs_from_fnac",
                       "removed_on_fnac", "stock_reserved", "push_state", "push_message", "pushed_quantity",
                       "pushed_price", "pushed_at", "imported_at", "created_at", "updated_at", "jobs"]
    fieldsets = [
        ("Listing on FNAC", {"fields": ["listing", "listing_message", "listing_updated_at", "jobs"]}),
        (None, {"fields": ["store", "sku", "ean", "name", "brand", "category", "condition", "description",
                           "images_text", "attributes"]}),
        ("Price and stock (owned by the OMS)", {"fields": ["price", "sale_price", "stock_on_hand", "stock_reserved",
                                                           "is_active"]}),
        ("What FNAC shows", {"fields": ["fnac_product_id", "fnac_offer_id", "product_url", "fnac_price",
                                        "fnac_quantity", "differs_from_fnac", "removed_on_fnac", "push_state",
                                        "push_message", "pushed_quantity", "pushed_price", "pushed_at"]}),
        ("Dates", {"classes": ["collapse"], "fields": ["imported_at", "created_at", "updated_at"]}),
    ]

    def has_publish_permission(self, request, obj=None):
        return request.user.has_perm("catalogue.publish_product")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return fields + [f for f, perm in FIELD_PERMS.items() if not request.user.has_perm(perm)]

    @admin.display(description="Listing", ordering="listing_state")
    def listing(self, product):
        return listing_badge(product)

    @admin.display(description="Marketplace jobs")
    def jobs(self, product):
        jobs = listing_jobs_for_product(product) if product.pk else []
        if not jobs:
            return "—"
        return format_html_join(format_html("<br>"), "{} {} — {} {}", (
            (j.get_kind_display(), j.external_id, j.status or "sent", j.message) for j in jobs))

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "catalogue_links": [
            ("Add product", reverse("admin:catalogue_product_create")),
            ("Upload Excel", reverse("admin:catalogue_product_upload")),
            ("Download template", reverse("admin:catalogue_product_template")),
        ]}
        return super().changelist_view(request, extra_context)

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
        required = [a for a in ctx.attributes_for(category) if a.required] if category in ctx.leaf_codes else []
        return TemplateResponse(request, "admin/catalogue/product/create.html", self._context(
            request, "Add a product and list it on FNAC", form=form, category=category, required=required,
            no_reference_data=not ctx.categories))

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


@admin.register(ListingJob)
class ListingJobAdmin(ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["id", "store", "kind", "purpose", "external_id", "status", "is_final", "polls", "created_at",
                    "finished_at", "message"]
    list_filter = ["kind", "purpose", "is_final", StoreFilter]
    list_select_related = ["store"]
    search_fields = ["external_id"]
    readonly_fields = ["store", "run", "kind", "purpose", "external_id", "status", "is_final", "product_ids",
                       "error_lines", "result", "polls", "message", "created_at", "finished_at"]
    exclude = []

    @admin.display(description="Rejected lines (Mirakl P44)")
    def error_lines(self, job):
        lines = (job.result or {}).get("error_lines") or []
        if not lines:
            return "—"
        return format_html_join(format_html("<br>"), "line {}: EAN {} SKU {} — {}", (
            (line.get("line"), line.get("ean"), line.get("sku"), " | ".join(line.get("errors") or []))
            for line in lines))


@admin.register(ProductUpload)
class ProductUploadAdmin(ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["id", "store", "filename", "state", "total_rows", "valid_rows", "rejected_rows", "created_at",
                    "preview"]
    list_filter = ["state", StoreFilter]
    list_select_related = ["store"]

    @admin.display(description="")
    def preview(self, upload):
        return format_html('<a href="{}">Preview</a>',
                           reverse("admin:catalogue_product_upload_preview", args=[upload.pk]))
