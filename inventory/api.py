"""REST API for stock and prices (thin: every view calls an inventory service)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue.models import Product
from fnac_connector.api import MAX_ID, DetailSerializer
from fnac_connector.errors import InvalidInput
from fnac_connector.marketplace.fnac import limits
from inventory import services
from stores.selectors import stores_for_user


def _products_for(user):
    return Product.objects.filter(store__in=stores_for_user(user)).select_related("store")


class StockSerializer(serializers.ModelSerializer):
    sellable = serializers.SerializerMethodField(help_text="What FNAC may sell: on hand - reserved - safety stock, "
                                                           f"0..{limits.MAX_QUANTITY} (0 when the product is "
                                                           "deactivated).")
    fnac_price = serializers.SerializerMethodField(help_text="The price sent to FNAC (store's mapping and rounding).")

    class Meta:
        model = Product
        fields = ["id", "store", "sku", "stock_on_hand", "stock_reserved", "sellable", "price", "sale_price",
                  "fnac_price", "is_active", "push_state", "push_message", "pushed_quantity", "pushed_price",
                  "pushed_at"]
        read_only_fields = fields

    def get_sellable(self, obj) -> int:
        return services.fnac_quantity_for(obj, obj.store)

    def get_fnac_price(self, obj) -> str | None:
        value = services.fnac_price_for(obj, obj.store)
        return None if value is None else f"{value:.2f}"


class StockPatchSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(required=False, min_value=0, max_value=services.MAX_STOCK_ON_HAND,
                                        help_text="New stock on hand (an inventory count).")
    delta = serializers.IntegerField(required=False, min_value=-services.MAX_STOCK_ON_HAND,
                                     max_value=services.MAX_STOCK_ON_HAND,
                                     help_text="Units to add (negative to remove).")

    def validate(self, attrs):
        if ("quantity" in attrs) == ("delta" in attrs):
            raise serializers.ValidationError("give exactly one of quantity or delta")
        return attrs


class StockItemSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField(required=False)
    delta = serializers.IntegerField(required=False)


class StockBatchSerializer(serializers.Serializer):
    store = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Store id: SKUs are per store.")
    items = serializers.ListField(child=serializers.JSONField(), allow_empty=False, max_length=100_000,
                                  help_text="[{sku, quantity} | {sku, delta}, ...]")


class StockBatchItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    sku = serializers.CharField()
    ok = serializers.BooleanField()
    error = serializers.CharField(required=False)
    product_id = serializers.IntegerField(required=False)
    stock_on_hand = serializers.IntegerField(required=False)
    sellable = serializers.IntegerField(required=False)


class StockBatchResultSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    rejected = serializers.IntegerField()
    results = StockBatchItemResultSerializer(many=True)


class PricePatchSerializer(serializers.Serializer):
    price = serializers.CharField(required=False,
                                  help_text=f"OMS price, {limits.MIN_PRICE} to {limits.MAX_PRICE} EUR, two decimals.")
    sale_price = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                       help_text="Sale price (same limits); null or \"\" removes it.")


class SyncStockSerializer(serializers.Serializer):
    skus = serializers.ListField(child=serializers.CharField(), required=False,
                                 help_text="Only these SKUs; every active product when absent.")


class RunStartedSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    state = serializers.CharField()
    kind = serializers.CharField()


class ProductStockView(APIView):
    required_perms = {"GET": ["inventory.view_stock"], "PATCH": ["catalogue.adjust_stock"]}

    @extend_schema(request=StockPatchSerializer, responses={200: StockSerializer, 400: DetailSerializer},
                   examples=[OpenApiExample("set", value={"quantity": 12}),
                             OpenApiExample("adjust", value={"delta": -2})])
    def patch(self, request, pk: int):
        product = get_object_or_404(_products_for(request.user), pk=pk)
        data = StockPatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "quantity" in data.validated_data:
            services.stock_set(product=product, quantity=data.validated_data["quantity"], source="api",
                               user=request.user)
        else:
            services.stock_adjust(product=product, delta=data.validated_data["delta"], source="api", user=request.user)
        product.refresh_from_db()
        return Response(StockSerializer(product).data)

    @extend_schema(responses={200: StockSerializer})
    def get(self, request, pk: int):
        return Response(StockSerializer(get_object_or_404(_products_for(request.user), pk=pk)).data)


class ProductPriceView(APIView):
    required_perms = {"PATCH": ["catalogue.change_price"]}

    @extend_schema(request=PricePatchSerializer, responses={200: StockSerializer, 400: DetailSerializer})
    def patch(self, request, pk: int):
        product = get_object_or_404(_products_for(request.user), pk=pk)
        data = PricePatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        clear = "sale_price" in values and values["sale_price"] in (None, "")
        services.price_set(product=product, price=values.get("price"),
                           sale_price=None if clear else values.get("sale_price"), clear_sale_price=clear,
                           source="api", user=request.user)
        product.refresh_from_db()
        return Response(StockSerializer(product).data)


class StockBatchView(APIView):
    required_perms = {"POST": ["catalogue.adjust_stock"]}

    @extend_schema(request=StockBatchSerializer, responses={200: StockBatchResultSerializer, 400: DetailSerializer},
                   examples=[OpenApiExample("batch", value={"store": 1, "items": [
                       {"sku": "A-1", "quantity": 10}, {"sku": "B-2", "delta": -1}]})])
    def post(self, request):
        data = StockBatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        store = stores_for_user(request.user).filter(pk=data.validated_data["store"]).first()
        if store is None:
            raise InvalidInput(f"unknown store {data.validated_data['store']}", details={"store": ["unknown"]})
        result = services.stock_batch(store=store, items=data.validated_data["items"], source="api",
                                      user=request.user)
        if result.rejected and not result.applied:  # the API's error body, with the per-item results
            return Response({"detail": f"No item was applied: {result.rejected} refused (see results).",
                             "code": "invalid", **result.as_dict()}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result.as_dict())


class StoreSyncStockView(APIView):
    required_perms = {"POST": ["stores.sync_store"]}

    @extend_schema(request=SyncStockSerializer, responses={202: RunStartedSerializer, 409: DetailSerializer},
                   description="Queues a Sync Stock; follow it at /api/sync-runs/{run_id}/ (counts: sent, accepted, "
                               "rejected, changed_on_fnac; message: what changed; issues: each rejected SKU).")
    def post(self, request, pk: int):
        store = get_object_or_404(stores_for_user(request.user), pk=pk)
        data = SyncStockSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.stock_sync_request(store=store, skus=data.validated_data.get("skus"), trigger="api")
        run.refresh_from_db()
        return Response({"run_id": run.pk, "state": run.state, "kind": run.kind}, status=status.HTTP_202_ACCEPTED)
