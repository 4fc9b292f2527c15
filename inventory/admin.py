"""Admin for stock and prices: the Stock list (edit on hand and prices in place, bulk adjust, Sync Stock), the
store's Sync Stock page and its price mapping preview."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.widgets import UnfoldAdminDecimalFieldWidget, UnfoldAdminIntegerFieldWidget

from catalogue.admin import (
    CompactListMixin,
    job_status_badge,
    push_badge,
    short_id,
    thumbnail,
    when,
    without_store_column,
)
from catalogue.models import Product
from fnac_connector.errors import ServiceError
from fnac_connector.marketplace.fnac import limits
from inventory import services
from inventory.models import PushBatch, Stock, StockMovement
from inventory.selectors import out_of_stock_q, push_waiting_q
from stores.admin import (
    ReadOnlyInline,
    StoreFilter,
    StoreScopedAdminMixin,
    ViewOnlyAdminMixin,
    badge,
    store_sync_confirm,
)
from stores.models import Store
from stores.selectors import stores_for_user


class PushWaitingFilter(admin.SimpleListFilter):
    """Changes FNAC has not answered for more than 10 minutes (inventory.selectors; the dashboard links here)."""

    title = "push waiting"
    parameter_name = "push_waiting"

    def lookups(self, request, model_admin):
        return [("1", "Pending for more than 10 minutes")]

    def queryset(self, request, queryset):
        return queryset.filter(push_waiting_q()) if self.value() == "1" else queryset


class OutOfStockFilter(admin.SimpleListFilter):
    """Live, active offers with nothing to sell on FNAC (inventory.selectors; the dashboard links here)."""

    title = "out of stock"
    parameter_name = "out_of_stock"

    def lookups(self, request, model_admin):
        return [("1", "Out of stock on FNAC")]

    def queryset(self, request, queryset):
        return queryset.filter(out_of_stock_q()) if self.value() == "1" else queryset


class StockChangeListForm(forms.ModelForm):
    """Inline edits of the Stock list; checked here so a bad value is refused on its own field, with the reason."""

    stock_on_hand = forms.IntegerField(min_value=0, max_value=services.MAX_STOCK_ON_HAND, label="On hand",
                                       widget=UnfoldAdminIntegerFieldWidget(attrs={"style": "width:80px"}))

    class Meta:
        model = Stock
        fields = ["stock_on_hand", "price", "sale_price"]
        widgets = {"price": UnfoldAdminDecimalFieldWidget(attrs={"style": "width:96px", "step": "0.01"}),
                   "sale_price": UnfoldAdminDecimalFieldWidget(attrs={"style": "width:96px", "step": "0.01"})}

    def clean_price(self):
        return _clean_price(self, "price")

    def clean_sale_price(self):
        return _clean_price(self, "sale_price")

    def clean(self):
        data = super().clean()
        if self.errors or not self.instance.pk:
            return data
        store = self.instance.store
        mapped = services.mapped_price(price=data.get("price"), sale_price=data.get("sale_price"), store=store)
        if mapped is not None and {"price", "sale_price"} & set(self.changed_data):
            problem = services.price_problem(mapped, label="FNAC price")
            if problem:
                self.add_error("price", f"{problem} after this store's mapping "
                                        f"({store.get_price_field_display()}, {store.get_price_rounding_display()})")
        return data


def _clean_price(form, name):
    value = form.cleaned_data.get(name)
    if value is None:
        if name == "price" and form.instance.price is not None and name in form.changed_data:
            raise forms.ValidationError("the OMS price cannot be removed; change it instead")
        return value
    problem = services.price_problem(value, label=name.replace("_", " "))
    if problem:
        raise forms.ValidationError(problem)
    return value


class AdjustForm(forms.Form):
    delta = forms.IntegerField(label="Add (negative to remove)", min_value=-services.MAX_STOCK_ON_HAND,
                               max_value=services.MAX_STOCK_ON_HAND)


class StockMovementInline(ReadOnlyInline):
    model = StockMovement
    fk_name = "product"
    fields = ["created_at", "kind", "delta", "quantity_after", "source", "user", "note"]
    ordering = ["-created_at", "-id"]
    classes = ["collapse"]

    def get_queryset(self, request):
        qs = super().get_queryset(request).select_related("user")
        ids = list(qs.order_by("-created_at", "-id").values_list("id", flat=True)[:20])
        return qs.filter(id__in=ids)


@admin.action(description="Adjust stock of selected products…", permissions=["adjust_stock"])
def adjust_stock(modeladmin, request, queryset):
    form = AdjustForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        delta = form.cleaned_data["delta"]
        applied = rejected = 0
        by_store: dict[int, list[str]] = {}
        for store_id, sku in queryset.values_list("store_id", "sku"):
            by_store.setdefault(store_id, []).append(sku)
        for store in Store.objects.filter(pk__in=by_store):
            items = [{"sku": sku, "delta": delta} for sku in by_store[store.pk]]
            result = services.stock_batch(store=store, items=items, source="admin", user=request.user)
            applied += result.applied
            rejected += result.rejected
            for item in result.errors[:20]:
                modeladmin.message_user(request, f"{item.sku}: {item.error}", messages.WARNING)
        modeladmin.message_user(request, f"Stock adjusted by {delta:+d} on {applied} product(s)"
                                         + (f"; {rejected} refused" if rejected else "") + ".",
                                messages.SUCCESS if applied else messages.WARNING)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": "Adjust stock",
        "form": form, "products": queryset.select_related("store")[:200], "count": queryset.count(),
        "opts": modeladmin.model._meta, "action": "adjust_stock",
        "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
    }
    return TemplateResponse(request, "admin/inventory/adjust_stock.html", context)


@admin.action(description="Sync Stock of selected products (push to FNAC now)", permissions=["sync"])
def sync_selected_stock(modeladmin, request, queryset):
    by_store: dict[int, list[int]] = {}
    for store_id, pid in queryset.values_list("store_id", "id"):
        by_store.setdefault(store_id, []).append(pid)
    for store in Store.objects.filter(pk__in=by_store):
        try:
            run = services.stock_sync_request(store=store, product_ids=by_store[store.pk], trigger="admin")
        except ServiceError as exc:
            modeladmin.message_user(request, f"{store}: {exc}", messages.ERROR)
            continue
        url = reverse("admin:stores_syncrun_change", args=[run.pk])
        modeladmin.message_user(request, format_html(
            'Sync Stock of {} product(s) of {} started: <a href="{}">follow run #{}</a>.',
            len(by_store[store.pk]), store, url, run.pk), messages.SUCCESS)


@admin.register(Stock)
class StockAdmin(StoreScopedAdminMixin, ModelAdmin):
    list_display = ["sku_cell", "store", "stock_on_hand", "reserved", "price", "sale_price",
                    "fnac_gets", "last_push"]
    list_display_links = ["sku_cell"]
    list_editable = ["stock_on_hand", "price", "sale_price"]
    list_filter = [StoreFilter, "push_state", "is_active", "listing_state", PushWaitingFilter, OutOfStockFilter]
    list_select_related = ["store"]
    search_fields = ["sku", "ean", "name"]
    actions = [adjust_stock, sync_selected_stock]
    actions_detail = ["push_now"]
    list_per_page = 100
    show_full_result_count = False  # a filtered page counts its own rows only (issue 14)
    inlines = [StockMovementInline]
    fields = ["picture", "sku", "name", "store", "active", "listing_state", "stock_on_hand", "stock_reserved",
              "sellable", "price", "sale_price", "fnac_price_shown", "push_badge", "push_message", "pushed_quantity",
              "pushed_price", "pushed_at", "fnac_quantity", "fnac_price"]
    readonly_fields = ["picture", "sku", "name", "store", "active", "listing_state", "stock_reserved", "sellable",
                       "fnac_price_shown", "push_badge", "push_message", "pushed_quantity", "pushed_price",
                       "pushed_at", "fnac_quantity", "fnac_price"]

    def get_list_display(self, request):
        return without_store_column(request, super().get_list_display(request))

    def get_changelist_form(self, request, **kwargs):
        return StockChangeListForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = StockChangeListForm
        return super().get_form(request, obj, change=change, **kwargs)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # editing the list needs one of the stock/price permissions; each edit is checked on its own in save_model
    def has_change_permission(self, request, obj=None):
        return self.has_adjust_stock_permission(request) or self.has_change_price_permission(request)

    def has_adjust_stock_permission(self, request, obj=None):
        return request.user.has_perm("catalogue.adjust_stock")

    def has_change_price_permission(self, request, obj=None):
        return request.user.has_perm("catalogue.change_price")

    def has_sync_permission(self, request, obj=None):
        return request.user.has_perm("stores.sync_store")

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not self.has_adjust_stock_permission(request):
            fields.append("stock_on_hand")
        if not self.has_change_price_permission(request):
            fields += ["price", "sale_price"]
        return fields

    def save_model(self, request, obj, form, change):
        """Never ``obj.save()``: a full-row save would overwrite a concurrent reservation. Each change goes through
        the inventory services (atomic update + outbox)."""
        refused = [label for fields, label, allowed in (
            (("stock_on_hand",), "stock (catalogue.adjust_stock)", self.has_adjust_stock_permission(request)),
            (("price", "sale_price"), "prices (catalogue.change_price)", self.has_change_price_permission(request)))
            if set(fields) & set(form.changed_data) and not allowed]
        if refused:
            self.message_user(request, f"{obj.sku}: not changed, you may not change {' or '.join(refused)}.",
                              messages.ERROR)
            return
        try:
            if "stock_on_hand" in form.changed_data:
                services.stock_set(product=obj, quantity=form.cleaned_data["stock_on_hand"], source="admin",
                                   user=request.user)
            price_changes = {k: form.cleaned_data[k] for k in ("price", "sale_price") if k in form.changed_data}
            if price_changes:
                clear_sale = "sale_price" in price_changes and price_changes["sale_price"] is None
                services.price_set(product=Product.objects.select_related("store").get(pk=obj.pk),
                                   price=price_changes.get("price"),
                                   sale_price=price_changes.get("sale_price") if not clear_sale else None,
                                   clear_sale_price=clear_sale, source="admin", user=request.user)
        except ServiceError as exc:
            self.message_user(request, f"{obj.sku}: {exc}", messages.ERROR)

    def save_related(self, request, form, formsets, change):
        pass  # movements are read-only

    @admin.display(description="Sellable on FNAC")
    def sellable(self, obj):
        return services.fnac_quantity_for(obj, obj.store)

    @admin.display(description="FNAC price")
    def fnac_price_shown(self, obj):
        value = services.fnac_price_for(obj, obj.store)
        return "—" if value is None else value

    @admin.display(description="SKU / product", ordering="sku")
    def sku_cell(self, obj):
        """The SKU with the product's name under it (one column: the list fits a 1366 px screen with the store)."""
        return format_html('<span style="white-space:nowrap">{}</span><br><span class="text-xs" title="{}" '
                           'style="display:inline-block;max-width:190px;white-space:normal">{}</span>',
                           obj.sku, obj.name, Truncator(obj.name).chars(45) or "—")

    @admin.display(description="Reserved", ordering="stock_reserved")
    def reserved(self, obj):
        return obj.stock_reserved

    @admin.display(description="Sellable on FNAC")
    def fnac_gets(self, obj):
        """What the next push sends: the sellable quantity and the mapped price (the store's rule)."""
        price = services.fnac_price_for(obj, obj.store)
        return format_html('<span style="white-space:nowrap"><strong>{}</strong> at {}</span>',
                           services.fnac_quantity_for(obj, obj.store), "—" if price is None else f"{price} €")

    @admin.display(description="Push", ordering="push_state")
    def push_badge(self, obj):
        return push_badge(obj)

    @admin.display(description="Last push to FNAC", ordering="pushed_at")
    def last_push(self, obj):
        """The push state, what was sent and when (local time), FNAC's message on hover."""
        sent = ""
        if obj.pushed_at:
            price = "—" if obj.pushed_price is None else obj.pushed_price
            qty = "—" if obj.pushed_quantity is None else obj.pushed_quantity
            sent = f"qty {qty} · {price} € · {when(obj.pushed_at)}"
        return format_html('<div style="white-space:normal;max-width:190px" title="{}">{}<div style="font-size:11px;'
                           'color:#5f6368">{}</div>{}</div>', obj.push_message, push_badge(obj), sent,
                           format_html('<div style="font-size:11px;color:#d93025">{}</div>',
                                       Truncator(obj.push_message).chars(60)) if obj.push_message else "")

    @admin.display(description="Active")
    def active(self, obj):
        return "Yes" if obj.is_active else badge("Deactivated: quantity 0 on FNAC, pushes held", "#80868b")

    @admin.display(description="Picture")
    def picture(self, obj):
        return thumbnail(obj, size=96)

    # ------------------------------------------------------------ Push now (stock page and product page)
    def has_push_now_permission(self, request, object_id=None):
        if not self.has_sync_permission(request):
            return False
        if object_id is None:
            return True
        product = self._push_product(request, object_id)
        return product is not None and product.store.is_connected and product.is_active and \
            product.listing_state == Product.ListingState.LIVE

    def _push_product(self, request, object_id):
        key = str(object_id)
        cache = request.__dict__.setdefault("_inventory_products", {})
        if key not in cache:
            cache[key] = self.get_queryset(request).select_related("store").filter(pk=key).first() \
                if key.isdigit() else None
        return cache[key]

    @action(description="Push now", url_path="push-now", permissions=["push_now"])
    def push_now(self, request, object_id):
        """Push this product's sellable quantity and price to FNAC now (a Sync Stock of one product)."""
        product = self._push_product(request, object_id)
        if product is None:
            raise Http404
        back = reverse("admin:catalogue_product_change" if request.GET.get("from") == "product"
                       else "admin:inventory_stock_change", args=[product.pk])
        if request.method == "POST":
            try:
                run = services.stock_sync_request(store=product.store, product_ids=[product.pk], trigger="admin")
            except ServiceError as exc:
                self.message_user(request, f"{product.sku}: {exc}", messages.ERROR)
            else:
                self.message_user(request, format_html(
                    'Push of {} to FNAC started: <a href="{}">follow run #{}</a>.', product.sku,
                    reverse("admin:stores_syncrun_change", args=[run.pk]), run.pk), messages.SUCCESS)
            return HttpResponseRedirect(back)
        context = {
            **self.admin_site.each_context(request), "title": f"Push now: {product.sku}", "opts": Product._meta,
            "product": product, "back": back, "button": "Push now", "picture": thumbnail(product, size=64),
            "text": f"FNAC gets quantity {services.fnac_quantity_for(product, product.store)} and price "
                    f"{services.fnac_price_for(product, product.store) or '(unchanged)'} now, without waiting "
                    "for the next push.",
        }
        return TemplateResponse(request, "admin/catalogue/product/action_confirm.html", context)

    # ------------------------------------------------------------ store pages (reached from the store's buttons)
    def get_urls(self):
        return [
            path("store/<int:store_id>/sync-stock/", self.admin_site.admin_view(self.store_sync_view),
                 name="inventory_store_sync_stock"),
            path("store/<int:store_id>/price-mapping/", self.admin_site.admin_view(self.price_mapping_view),
                 name="inventory_store_price_mapping"),
        ] + super().get_urls()

    def _store(self, request, store_id) -> Store:
        return get_object_or_404(stores_for_user(request.user), pk=store_id)

    def store_sync_view(self, request, store_id):
        def figures(store):
            products = Product.objects.filter(store=store)
            return {"active": products.filter(is_active=True).count(),
                    "pending": store.offer_changes.filter(version__gt=F("done_version")).count(),
                    "rejected": products.filter(push_state=Product.PushState.REJECTED).count(),
                    "batches": PushBatch.objects.filter(store=store).defer("items")[:10]}

        def start(store, request):
            skus = [s for s in request.POST.get("skus", "").replace(",", " ").split() if s]
            return services.stock_sync_request(store=store, skus=skus or None, trigger="admin")

        return store_sync_confirm(
            self, request, store_id, action="Sync Stock", template="admin/inventory/store_sync_stock.html",
            context=figures, start=start)

    def price_mapping_view(self, request, store_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        store = self._store(request, store_id)
        rows = []
        for product in Product.objects.filter(store=store).order_by("sku")[:50]:
            rows.append({"product": product, "fnac_price": services.fnac_price_for(product, store),
                         "sellable": services.fnac_quantity_for(product, store)})
        examples = []
        for value in ("9.5", "12.34", "12.95", "19999.2"):
            amount = Decimal(value)
            examples.append({"oms": amount, "by_rule": [(label, services.round_price(amount, rule))
                                                        for rule, label in Store.PriceRounding.choices]})
        context = {
            **self.admin_site.each_context(request), "title": f"Price mapping: {store.name}", "store": store,
            "opts": self.model._meta, "rows": rows, "examples": examples,
            "rules": Store.PriceRounding.choices, "min_price": limits.MIN_PRICE,
            "max_price": limits.MAX_PRICE, "max_quantity": limits.MAX_QUANTITY,
        }
        return TemplateResponse(request, "admin/inventory/price_mapping.html", context)


@admin.register(PushBatch)
class PushBatchAdmin(CompactListMixin, ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["id", "created", "store", "batch", "offers", "status_badge", "accepted", "rejected", "finished",
                    "message_short"]
    list_filter = [StoreFilter, "status"]
    list_select_related = ["store"]
    search_fields = ["batch_id"]
    # items (what the batch carries, up to 10,000 entries) is the follow-up's, not a page to read
    readonly_fields = [f.name for f in PushBatch._meta.fields if f.name not in ("status", "items")] + ["status_badge"]
    exclude = ["items"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("items")

    @admin.display(description="Batch id", ordering="batch_id")
    def batch(self, batch):
        return short_id(batch.batch_id)

    @admin.display(description="FNAC status", ordering="status")
    def status_badge(self, batch):
        return job_status_badge(batch.status)

    @admin.display(description="Message")
    def message_short(self, batch):
        return format_html('<span title="{}">{}</span>', batch.message, Truncator(batch.message).chars(50) or "—")


