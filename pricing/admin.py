"""Competitive pricing in the console: competitor prices (with the "not the lowest" filter), the repricing rules
(store and product), the log of price changes, the dry-run report, and a panel on the product page (position,
rule, price history chart)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime
from unfold.admin import ModelAdmin
from unfold.decorators import action

from catalogue.models import Product
from fnac_connector.errors import InvalidInput, ServiceError
from pricing import services
from pricing.charts import history_svg
from pricing.models import Competition, RepriceLog, RepricingRule
from stores import hooks as store_hooks
from stores.admin import StoreFilter, StoreScopedAdminMixin, ViewOnlyAdminMixin, badge
from stores.selectors import stores_for_user
from stores.syncs import LockBusy


def _when(value) -> str:
    return date_format(localtime(value), "SHORT_DATETIME_FORMAT") if value else "never"


def position_badge(comp: Competition):
    if comp.state == Competition.State.INVALID:
        return badge("Unknown to FNAC", "#d93025")
    if comp.state == Competition.State.ERROR and comp.checked_at is None:
        return badge("Not read", "#80868b")
    if comp.competitors == 0:
        return badge("No competitor", "#1e8e3e")
    if comp.is_lowest:
        return badge("Lowest", "#1e8e3e")
    if comp.is_lowest is False:
        return badge("Not the lowest", "#e37400")
    return badge("Unknown", "#80868b")


class NotLowestFilter(admin.SimpleListFilter):
    title = "position"
    parameter_name = "position"

    def lookups(self, request, model_admin):
        return [("not_lowest", "Not the lowest"), ("lowest", "The lowest"), ("invalid", "Unknown to FNAC")]

    def queryset(self, request, queryset):
        if self.value() == "not_lowest":
            return queryset.filter(is_lowest=False, state=Competition.State.OK)
        if self.value() == "lowest":
            return queryset.filter(is_lowest=True, state=Competition.State.OK)
        if self.value() == "invalid":
            return queryset.filter(state=Competition.State.INVALID)
        return queryset


@admin.register(Competition)
class CompetitionAdmin(ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["sku", "name", "store", "our", "lowest", "competitors", "position", "checked"]
    list_filter = [NotLowestFilter, StoreFilter, "state"]
    list_select_related = ["product", "store"]
    search_fields = ["product__sku", "product__ean", "product__name"]
    list_per_page = 100
    actions = ["watch_now"]
    readonly_fields = ["product_link", "store", "position", "our", "lowest", "lowest_seller_type", "competitors",
                       "checked", "error_code", "error_message", "retry_after", "chart", "rule"]
    fields = readonly_fields

    def has_watch_permission(self, request, obj=None):
        return request.user.has_perm("pricing.watch_prices")

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, comp):
        return comp.product.sku

    @admin.display(description="Product", ordering="product__name")
    def name(self, comp):
        return comp.product.name or "—"

    @admin.display(description="Product")
    def product_link(self, comp):
        return format_html('<a href="{}">{}</a>', reverse("admin:catalogue_product_change", args=[comp.product_id]),
                           comp.product)

    @admin.display(description="Our price + shipping")
    def our(self, comp):
        total = comp.our_total
        return "—" if total is None else f"{total:.2f} EUR"

    @admin.display(description="Lowest competitor (same condition)", ordering="lowest_total")
    def lowest(self, comp):
        return "—" if comp.lowest_total is None else f"{comp.lowest_total:.2f} EUR"

    @admin.display(description="Position")
    def position(self, comp):
        return position_badge(comp)

    @admin.display(description="Last check", ordering="checked_at")
    def checked(self, comp):
        return _when(comp.checked_at)

    @admin.display(description="Price history")
    def chart(self, comp):
        return history_svg(comp.history) or "No reading yet."

    @admin.display(description="Repricing rule")
    def rule(self, comp):
        return _rule_line(comp.product)

    @action(description="Watch prices now", permissions=["watch"])
    def watch_now(self, request, queryset):
        by_store: dict[int, list[str]] = {}
        for store_id, sku in queryset.values_list("store_id", "product__sku"):
            by_store.setdefault(store_id, []).append(sku)
        for store in stores_for_user(request.user).filter(pk__in=list(by_store)):
            try:
                run = services.prices_watch(store=store, skus=by_store[store.pk], trigger="admin")
            except (ServiceError, LockBusy) as exc:
                self.message_user(request, f"{store.name}: {exc}", messages.WARNING)
            else:
                self.message_user(request, f"{store.name}: {run.message}", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("store/<int:store_id>/dry-run/", view(self.dry_run_view), name="pricing_dry_run"),
            path("store/<int:store_id>/rule/", view(self.store_rule_view), name="pricing_store_rule"),
        ] + super().get_urls()

    def dry_run_view(self, request, store_id):
        if not request.user.has_perm("pricing.view_repricingrule"):
            raise PermissionDenied
        store = get_object_or_404(stores_for_user(request.user), pk=store_id)
        result = services.reprice(store=store, dry_run=True)
        context = {**self.admin_site.each_context(request), "title": f"Repricing dry-run: {store.name}",
                   "opts": self.model._meta, "store": store, "result": result,
                   "unchanged": len(result.proposals) - len(result.changed)}
        return TemplateResponse(request, "admin/pricing/dry_run.html", context)

    def store_rule_view(self, request, store_id):
        store = get_object_or_404(stores_for_user(request.user), pk=store_id)
        rule = RepricingRule.objects.filter(store=store, product__isnull=True).first()
        if rule is not None:
            return HttpResponseRedirect(reverse("admin:pricing_repricingrule_change", args=[rule.pk]))
        return HttpResponseRedirect(reverse("admin:pricing_repricingrule_add") + f"?store={store.pk}")


class RuleForm(forms.ModelForm):
    cost_price = forms.DecimalField(required=False, max_digits=10, decimal_places=2, min_value=0,
                                    help_text="The product's cost price (for a product rule with cost + margin %).")

    class Meta:
        model = RepricingRule
        fields = ["store", "product", "enabled", "strategy", "beat_by", "floor_mode", "floor_price", "floor_margin",
                  "ceiling_mode", "ceiling_price", "ceiling_margin"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.product_id:
            self.fields["cost_price"].initial = self.instance.product.cost_price
        if user is not None and not user.is_superuser:
            self.fields["store"].queryset = stores_for_user(user)
            self.fields["product"].queryset = Product.objects.filter(store__in=stores_for_user(user))

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        rule = self.instance
        for name in self.Meta.fields:
            setattr(rule, name, cleaned.get(name))
        for field, problems in services.rule_problems(rule).items():
            self.add_error(field if field in self.fields else None, " ".join(problems))
        product = cleaned.get("product")
        if product is not None and product.store_id != getattr(cleaned.get("store"), "pk", None):
            self.add_error("product", "This product belongs to another store.")
        return cleaned


@admin.register(RepricingRule)
class RepricingRuleAdmin(StoreScopedAdminMixin, ModelAdmin):
    form = RuleForm
    list_display = ["scope", "store", "strategy", "floor", "ceiling", "applied"]
    list_filter = [StoreFilter, "enabled", "strategy"]
    list_select_related = ["store", "product"]
    autocomplete_fields = []
    raw_id_fields = ["product"]
    fieldsets = [
        (None, {"fields": ["store", "product", "enabled"]}),
        ("Strategy", {"fields": ["strategy", "beat_by"]}),
        ("Floor (never below)", {"fields": ["floor_mode", "floor_price", "floor_margin"]}),
        ("Ceiling (never above)", {"fields": ["ceiling_mode", "ceiling_price", "ceiling_margin"]}),
        ("Product", {"fields": ["cost_price"]}),
    ]

    actions = ["reprice_now"]

    def has_reprice_permission(self, request, obj=None):
        return request.user.has_perm("pricing.reprice")

    @action(description="Reprice these stores now (applied rules only)", permissions=["reprice"])
    def reprice_now(self, request, queryset):
        store_ids = set(queryset.values_list("store_id", flat=True))
        for store in stores_for_user(request.user).filter(pk__in=store_ids):
            try:
                result = services.reprice(store=store, trigger="admin", user=request.user)
            except (ServiceError, LockBusy) as exc:
                self.message_user(request, f"{store.name}: {exc}", messages.WARNING)
            else:
                self.message_user(request, f"{store.name}: {len(result.changed)} prices changed out of "
                                           f"{len(result.proposals)} products with an applied rule", messages.SUCCESS)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class Bound(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, user=request.user, **kw)
        return Bound

    def get_changeform_initial_data(self, request):
        return {k: v for k, v in request.GET.items() if k in ("store", "product")}

    def save_model(self, request, obj, form, change):
        try:
            services.rule_save(rule=obj, data={})
        except InvalidInput as exc:
            raise PermissionDenied(str(exc)) from None
        if obj.product_id and "cost_price" in form.changed_data:
            services.product_cost_set(product=obj.product, cost_price=form.cleaned_data.get("cost_price"))

    @admin.display(description="Applies to")
    def scope(self, rule):
        return f"Product {rule.product.sku}" if rule.product_id else "Every product of the store"

    @admin.display(description="Floor")
    def floor(self, rule):
        if rule.floor_mode == RepricingRule.Bound.COST_MARGIN:
            return f"cost + {rule.floor_margin}%"
        return f"{rule.floor_price} EUR" if rule.floor_price is not None else "—"

    @admin.display(description="Ceiling")
    def ceiling(self, rule):
        if rule.ceiling_mode == RepricingRule.Bound.COST_MARGIN:
            return f"cost + {rule.ceiling_margin}%"
        return f"{rule.ceiling_price} EUR" if rule.ceiling_price is not None else "FNAC's maximum"

    @admin.display(description="Applied", boolean=True, ordering="enabled")
    def applied(self, rule):
        return rule.enabled


@admin.register(RepriceLog)
class RepriceLogAdmin(ViewOnlyAdminMixin, StoreScopedAdminMixin, ModelAdmin):
    list_display = ["created_at", "sku", "store", "old_price", "new_price", "competitor_total", "rule_text", "reason"]
    list_filter = [StoreFilter, "trigger"]
    list_select_related = ["product", "store"]
    search_fields = ["product__sku"]
    list_per_page = 100

    @admin.display(description="SKU", ordering="product__sku")
    def sku(self, log):
        return log.product.sku


# ---------------------------------------------------------------- the panel on the catalogue's product page
def _rule_line(product: Product) -> str:
    rule = RepricingRule.objects.filter(product=product).first() or RepricingRule.objects.filter(
        store_id=product.store_id, product__isnull=True).first()
    if rule is None:
        return "No repricing rule"
    state = "applied" if rule.enabled else "dry-run only"
    return f"{services.rule_text(rule)} ({state})"


def product_panel(request, product) -> str:
    if not request.user.has_perm("pricing.view_competition"):
        return ""
    comp = Competition.objects.filter(product=product).first()
    own_rule = RepricingRule.objects.filter(product=product).first()
    rule_url = (reverse("admin:pricing_repricingrule_change", args=[own_rule.pk]) if own_rule else
                reverse("admin:pricing_repricingrule_add") + f"?store={product.store_id}&product={product.pk}")
    return render_to_string("admin/pricing/product_panel.html", {
        "comp": comp, "position": position_badge(comp) if comp else "", "checked": _when(comp.checked_at if comp
                                                                                         else None),
        "chart": history_svg(comp.history) if comp else "", "rule": _rule_line(product), "rule_url": rule_url,
        "own_rule": own_rule, "logs": RepriceLog.objects.filter(product=product)[:5],
    })


store_hooks.product_panel(product_panel)
