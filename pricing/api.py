"""REST API for competitive pricing (thin: every view calls a pricing service or selector)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue.models import Product
from fnac_connector.api import MAX_ID, IntegerIdLookupMixin, query_int
from fnac_connector.errors import InvalidInput
from pricing import selectors, services
from pricing.models import Competition, RepriceLog, RepricingRule
from stores.selectors import stores_for_user


class CompetitionSerializer(serializers.ModelSerializer):
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    our_total = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True, allow_null=True)
    history = serializers.JSONField(read_only=True, help_text="[[read at, lowest competitor total, our total], ...], "
                                                              "oldest first.")

    class Meta:
        model = Competition
        fields = ["product", "store", "state", "state_label", "condition", "lowest_price", "lowest_shipping",
                  "lowest_total", "lowest_seller_type", "competitors", "our_price", "our_shipping", "our_total",
                  "is_lowest", "checked_at", "error_code", "error_message", "retry_after", "history"]
        read_only_fields = fields


class RepriceLogSerializer(serializers.ModelSerializer):
    class Meta:
        model = RepriceLog
        fields = ["id", "created_at", "rule_text", "field", "competitor_total", "old_price", "new_price", "reason",
                  "trigger"]
        read_only_fields = fields


class RepricingRuleSerializer(serializers.ModelSerializer):
    cost_price = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, allow_null=True,
                                          write_only=True, help_text="Sets the product's cost price (product rules).")

    class Meta:
        model = RepricingRule
        fields = ["id", "store", "product", "enabled", "strategy", "beat_by", "floor_mode", "floor_price",
                  "floor_margin", "ceiling_mode", "ceiling_price", "ceiling_margin", "updated_at", "cost_price"]
        read_only_fields = ["id", "updated_at"]
        validators = []  # the unique store rule is checked by the service, with a message that names it

    def validate_store(self, store):
        if not stores_for_user(self.context["request"].user).filter(pk=store.pk).exists():
            raise serializers.ValidationError("unknown store")
        return store

    def validate(self, attrs):
        if self.instance is not None and ("store" in attrs and attrs["store"] != self.instance.store
                                          or "product" in attrs and attrs["product"] != self.instance.product):
            raise serializers.ValidationError("a rule's store and product cannot change; create another rule")
        return attrs


class ProductCompetitionSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    sku = serializers.CharField()
    ean = serializers.CharField()
    condition = serializers.CharField()
    watched = serializers.BooleanField(help_text="Live with an EAN or a FNAC product id: the price watch reads it.")
    watched_by = serializers.CharField(help_text='What the watch asks FNAC about: "Ean", "FnacId" (no EAN), or "" '
                                                 "(not watched).")
    competition = CompetitionSerializer(allow_null=True, help_text="The last reading; null before the first.")
    rule = RepricingRuleSerializer(allow_null=True, help_text="The rule in force: the product's own, else the "
                                                                "store's; null when none.")
    changes = RepriceLogSerializer(many=True, help_text="The last 20 price changes of the repricer.")


class ProductCompetitionView(APIView):
    required_perms = {"GET": ["pricing.view_competition"]}

    @extend_schema(responses={200: ProductCompetitionSerializer})
    def get(self, request, pk: int):
        query_int(pk, field="id")
        product = get_object_or_404(Product.objects.filter(store__in=stores_for_user(request.user)), pk=pk)
        comp = Competition.objects.filter(product=product).first()
        live = product.listing_state == Product.ListingState.LIVE
        watched_by = "" if not live else "Ean" if product.ean else "FnacId" if product.fnac_product_id else ""
        rule = (RepricingRule.objects.filter(product=product).first()
                or RepricingRule.objects.filter(store_id=product.store_id, product__isnull=True).first())
        return Response(ProductCompetitionSerializer({
            "product": product.pk, "sku": product.sku, "ean": product.ean, "condition": product.condition,
            "watched": bool(watched_by), "watched_by": watched_by,
            "competition": comp, "rule": rule, "changes": RepriceLog.objects.filter(product=product)[:20],
        }).data)


class RepricingRuleViewSet(IntegerIdLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                           mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                           viewsets.GenericViewSet):
    serializer_class = RepricingRuleSerializer
    filterset_fields = ["store", "product", "enabled", "strategy"]

    def get_queryset(self):
        return selectors.rules_for_user(self.request.user).order_by("store_id", "product_id", "pk")

    def _save(self, serializer, rule: RepricingRule):
        data = dict(serializer.validated_data)
        cost = data.pop("cost_price", serializers.empty)
        rule.store = data.pop("store", getattr(rule, "store", None))
        if "product" in data:
            rule.product = data.pop("product")
        if rule.pk is None and rule.product_id is None and RepricingRule.objects.filter(
                store=rule.store, product__isnull=True).exists():
            raise InvalidInput(f"store {rule.store} already has a store rule; change it (PATCH) instead",
                               details={"store": ["already has a store rule"]})
        services.rule_save(rule=rule, data=data)
        if cost is not serializers.empty and rule.product_id:
            services.product_cost_set(product=rule.product, cost_price=cost)
        serializer.instance = rule

    def perform_create(self, serializer):
        self._save(serializer, RepricingRule())

    def perform_update(self, serializer):
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance):
        services.rule_delete(rule=instance)


class ProposalSerializer(serializers.Serializer):
    product = serializers.IntegerField(source="product_id")
    sku = serializers.CharField()
    rule = serializers.IntegerField(source="rule_id", allow_null=True)
    rule_text = serializers.CharField()
    rule_applied = serializers.BooleanField(source="enabled")
    competitor_total = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    old_price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    new_price = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    changes = serializers.BooleanField()
    field = serializers.CharField()
    reason = serializers.CharField()


class DryRunSerializer(serializers.Serializer):
    would_change = serializers.IntegerField()
    proposals = ProposalSerializer(many=True)


class DryRunView(APIView):
    required_perms = {"GET": ["pricing.view_repricingrule"]}

    @extend_schema(parameters=[OpenApiParameter("store", int, required=True, description="Store id")],
                   responses={200: DryRunSerializer})
    def get(self, request):
        """What the store's rules (applied or not) would change now; changes nothing, sends nothing."""
        raw = request.query_params.get("store")
        if raw is None:
            raise InvalidInput("give the store: ?store=ID", details={"store": ["required"]})
        store = get_object_or_404(stores_for_user(request.user), pk=query_int(raw, field="store", min_value=1,
                                                                              max_value=MAX_ID))
        result = services.reprice(store=store, dry_run=True)
        return Response(DryRunSerializer({"would_change": len(result.changed), "proposals": result.proposals}).data)
