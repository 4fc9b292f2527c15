"""Catalogue REST API (thin: every write calls a service)."""

from __future__ import annotations

import django_filters
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogue import rules, services
from catalogue.models import Category, CategoryAttribute, Product, ProductUpload, ValuesListValue
from catalogue.selectors import common_attributes, products_for_user
from catalogue.validation import CatalogueContext
from fnac_connector.api import MAX_ID, DetailSerializer, IntegerIdLookupMixin, query_int
from fnac_connector.errors import InvalidInput
from fnac_connector.filters import BoundedIntegerFilter, IdFilter
from fnac_connector.permissions import check_perms
from stores.selectors import stores_for_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ProductSerializer(serializers.ModelSerializer):
    quantity = serializers.IntegerField(source="stock_on_hand", read_only=True)
    available = serializers.IntegerField(source="stock_available", read_only=True)
    category = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    store_name = serializers.CharField(source="store.name", read_only=True)

    class Meta:
        model = Product
        fields = ["id", "store", "store_name", "sku", "ean", "name", "brand", "category", "condition", "description",
                  "image_url", "images", "attributes", "price", "sale_price", "quantity", "stock_reserved",
                  "available", "is_active", "listing_state", "listing_message", "listing_updated_at",
                  "fnac_product_id", "fnac_offer_id", "product_url", "fnac_price", "fnac_quantity",
                  "differs_from_fnac", "removed_on_fnac", "push_state", "push_message", "imported_at",
                  "created_at", "updated_at"]
        read_only_fields = fields


class ProductCreateSerializer(serializers.Serializer):
    """Validated by the service (per-field errors); the serializer only shapes the input."""

    store = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    sku = serializers.CharField()
    ean = serializers.CharField()
    name = serializers.CharField(help_text="Title, at most 200 characters.")
    brand = serializers.CharField(help_text="A value of FNAC's brand list.")
    category = serializers.CharField(help_text="Code of a leaf category (GET /api/categories/).")
    condition = serializers.CharField(required=False, default="11", help_text="11 new, 10 refurbished, 1-8 ...")
    price = serializers.CharField()
    sale_price = serializers.CharField(required=False, allow_blank=True)
    quantity = serializers.IntegerField(min_value=0, max_value=rules.MAX_STOCK_ON_HAND)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    images = serializers.ListField(child=serializers.CharField(), required=False, default=list)
    attributes = serializers.DictField(required=False, default=dict,
                                       help_text="The category's attributes, by code (required ones included).")


class ProductPatchSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    brand = serializers.CharField(required=False)
    category = serializers.CharField(required=False)
    condition = serializers.CharField(required=False)
    ean = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    images = serializers.ListField(child=serializers.CharField(), required=False)
    attributes = serializers.DictField(required=False)
    price = serializers.CharField(required=False)
    sale_price = serializers.CharField(required=False, allow_blank=True)
    quantity = serializers.IntegerField(required=False, min_value=0, max_value=rules.MAX_STOCK_ON_HAND)
    is_active = serializers.BooleanField(required=False)


class ProductFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    sku = django_filters.CharFilter()
    ean = django_filters.CharFilter()
    category = django_filters.CharFilter(field_name="category__code")
    listing_state = django_filters.MultipleChoiceFilter(choices=Product.ListingState.choices)
    active = django_filters.BooleanFilter(field_name="is_active")
    differs_from_fnac = django_filters.BooleanFilter()
    removed_on_fnac = django_filters.BooleanFilter()

    class Meta:
        model = Product
        fields = ["store", "sku", "ean", "category", "listing_state", "active", "differs_from_fnac",
                  "removed_on_fnac"]


class CatalogueRunStartedSerializer(serializers.Serializer):
    run_id = serializers.IntegerField()
    state = serializers.CharField()
    kind = serializers.CharField()


def _started(run, code=status.HTTP_202_ACCEPTED):
    run.refresh_from_db()
    return Response({"run_id": run.pk, "state": run.state, "kind": run.kind}, status=code)


class ProductViewSet(IntegerIdLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["sku", "ean", "name"]
    ordering_fields = ["sku", "name", "price", "stock_on_hand", "updated_at", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    # view/add/change_product by default; what goes live on FNAC needs publish_product
    required_perms = {
        "list_on_fnac": ["catalogue.publish_product"], "delete_offer": ["catalogue.publish_product"],
        "activate": ["catalogue.publish_product"], "deactivate": ["catalogue.publish_product"],
        "import_file": ["catalogue.add_product", "catalogue.change_product"],
    }
    # a PATCH of these fields needs the same permissions as the stock, price and listing doors
    FIELD_PERMS = {"quantity": "catalogue.adjust_stock", "price": "catalogue.change_price",
                   "sale_price": "catalogue.change_price", "is_active": "catalogue.publish_product"}

    def get_queryset(self):
        return products_for_user(self.request.user).order_by("store_id", "sku")

    @extend_schema(request=ProductCreateSerializer, responses={201: ProductSerializer, 400: DetailSerializer})
    def create(self, request, *args, **kwargs):
        data = ProductCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        store = get_object_or_404(stores_for_user(request.user), pk=values.pop("store"))
        product = services.product_create(store=store, data=values, trigger="api")
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProductPatchSerializer, responses={200: ProductSerializer, 400: DetailSerializer})
    def partial_update(self, request, *args, **kwargs):
        product = self.get_object()
        data = ProductPatchSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        check_perms(request.user, sorted({self.FIELD_PERMS[f] for f in data.validated_data if f in self.FIELD_PERMS}))
        product = services.product_update(product=product, data=dict(data.validated_data), trigger="api")
        return Response(ProductSerializer(product).data)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses={202: CatalogueRunStartedSerializer, 409: DetailSerializer})
    @action(detail=True, methods=["post"], url_path="list")
    def list_on_fnac(self, request, pk=None):
        product = self.get_object()
        return _started(services.products_list_request(store=product.store, product_ids=[product.pk], trigger="api"))

    @extend_schema(request=None, responses={202: CatalogueRunStartedSerializer, 409: DetailSerializer})
    @action(detail=True, methods=["post"], url_path="delete-offer")
    def delete_offer(self, request, pk=None):
        product = self.get_object()
        return _started(services.products_delete_request(store=product.store, product_ids=[product.pk],
                                                         trigger="api"))

    def _switched(self, service):
        """``service`` (activate or deactivate) applied to this product; the product as it is then."""
        product = self.get_object()
        service(products=Product.objects.filter(pk=product.pk), trigger="api")
        product.refresh_from_db()
        return Response(ProductSerializer(product).data)

    @extend_schema(request=None, responses={200: ProductSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None):
        return self._switched(services.products_deactivate)

    @extend_schema(request=None, responses={200: ProductSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        return self._switched(services.products_activate)

    @extend_schema(parameters=[OpenApiParameter("category", str, required=True, description="leaf category code")],
                   responses={(200, XLSX): OpenApiTypes.BINARY, 400: DetailSerializer})
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def template(self, request):
        code = request.query_params.get("category", "")
        if not code:
            raise InvalidInput("the category query parameter is required (a leaf category code)",
                               details={"category": "required"})
        content = services.template_build(category_code=code)
        response = HttpResponse(content, content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="products-{code}.xlsx"'
        return response

    @extend_schema(
        request={"multipart/form-data": inline_serializer("ProductImportRequest", {
            "store": serializers.IntegerField(min_value=1, max_value=MAX_ID), "file": serializers.FileField(),
            "category": serializers.CharField(required=False),
            "dry_run": serializers.BooleanField(required=False)})},
        responses={200: inline_serializer("ProductImportResult", {
            "upload_id": serializers.IntegerField(), "state": serializers.CharField(),
            "total_rows": serializers.IntegerField(), "valid_rows": serializers.IntegerField(),
            "rejected_rows": serializers.IntegerField(), "errors": serializers.DictField(),
            "counts": serializers.DictField(), "listing_run_id": serializers.IntegerField(allow_null=True),
            "rejected_rows_url": serializers.CharField(allow_null=True)}), 400: DetailSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser],
            filter_backends=[], pagination_class=None)
    def import_file(self, request):
        store_id = request.data.get("store")
        upload_file = request.FILES.get("file")
        errors = {}
        if not store_id:
            errors["store"] = "required"
        if upload_file is None:
            errors["file"] = "required (an .xlsx file)"
        if errors:
            raise InvalidInput("store and file are required", details=errors)
        store = get_object_or_404(stores_for_user(request.user), pk=query_int(store_id, field="store"))
        services.upload_size_check(upload_file.size)  # before anything reads it
        dry_run = str(request.data.get("dry_run", "")).lower() in ("1", "true", "yes", "on")
        upload = services.upload_validate(store=store, content=upload_file.read(), filename=upload_file.name,
                                          category_code=request.data.get("category", ""), user=request.user)
        if not dry_run:
            upload = services.upload_apply(upload=upload, trigger="api")
        return Response(_upload_body(request, upload))

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY})
    @action(detail=False, methods=["get"], url_path=r"import/(?P<upload_id>\d+)/rejected",
            filter_backends=[], pagination_class=None)
    def rejected_rows(self, request, upload_id=None):
        upload = get_object_or_404(ProductUpload.objects.filter(store__in=stores_for_user(request.user)),
                                   pk=upload_id)
        response = HttpResponse(services.rejected_rows_workbook(upload), content_type=XLSX)
        response["Content-Disposition"] = f'attachment; filename="rejected-rows-{upload.pk}.xlsx"'
        return response


def _upload_body(request, upload: ProductUpload) -> dict:
    return {"upload_id": upload.pk, "state": upload.state, "total_rows": upload.total_rows,
            "valid_rows": upload.valid_rows, "rejected_rows": upload.rejected_rows, "errors": upload.errors,
            "counts": upload.counts, "listing_run_id": upload.run_id,
            "rejected_rows_url": request.build_absolute_uri(f"/api/products/import/{upload.pk}/rejected/")
            if upload.rejected_rows else None}


class AttributeSerializer(serializers.ModelSerializer):
    values = serializers.SerializerMethodField()

    class Meta:
        model = CategoryAttribute
        fields = ["code", "label", "type", "required", "values_list_code", "variant", "description", "values"]

    def get_values(self, attr) -> list[dict] | None:
        lists = self.context.get("values_lists") or {}
        return lists.get(attr.values_list_code) if attr.values_list_code else None


class CategorySerializer(serializers.ModelSerializer):
    attributes = serializers.SerializerMethodField()
    is_leaf = serializers.SerializerMethodField()

    class Meta:
        model = Category
        fields = ["id", "code", "label", "level", "parent_code", "is_leaf", "attributes"]

    def get_is_leaf(self, category) -> bool:
        return category.code not in (self.context.get("parent_codes") or set())

    def get_attributes(self, category) -> list[dict]:
        """Every attribute a product of this category takes: common, inherited from parents, its own."""
        ctx = self.context.get("catalogue")
        attrs = ctx.attributes_for(category.code) if ctx is not None else category.attributes.all()
        return AttributeSerializer(attrs, many=True, context=self.context).data


class CategoryFilter(django_filters.FilterSet):
    parent_code = django_filters.CharFilter()
    level = BoundedIntegerFilter(min_value=0, max_value=100)
    code = django_filters.CharFilter()

    class Meta:
        model = Category
        fields = ["parent_code", "level", "code"]


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CategorySerializer
    filterset_class = CategoryFilter
    search_fields = ["code", "label"]
    lookup_field = "code"

    def get_queryset(self):
        return Category.objects.order_by("code")

    def get_serializer_context(self):
        ctx = super().get_serializer_context()
        ctx["parent_codes"] = set(Category.objects.exclude(parent_code="").values_list("parent_code", flat=True))
        values: dict[str, list[dict]] = {}
        if self.request.query_params.get("values", "1") not in ("0", "false"):
            for list_code, code, label in ValuesListValue.objects.values_list("values_list__code", "code", "label"):
                values.setdefault(list_code, []).append({"code": code, "label": label})
        ctx["values_lists"] = values
        ctx["catalogue"] = CatalogueContext.load()
        return ctx

    @extend_schema(responses={200: AttributeSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="common-attributes", pagination_class=None, filter_backends=[])
    def common_attributes(self, request):
        return Response(AttributeSerializer(common_attributes(), many=True,
                                            context=self.get_serializer_context()).data)


class SyncCatalogueSerializer(serializers.Serializer):
    full = serializers.BooleanField(required=False, default=True,
                                    help_text="true (default): categories + every offer + removed offers flagged; "
                                              "false: offers modified since the last sync.")


class StoreSyncCatalogueView(APIView):
    required_perms = {"POST": ["stores.sync_store"]}

    @extend_schema(request=SyncCatalogueSerializer,
                   responses={202: CatalogueRunStartedSerializer, 409: DetailSerializer})
    def post(self, request, pk: int):
        store = get_object_or_404(stores_for_user(request.user), pk=pk)
        data = SyncCatalogueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.catalogue_sync_request(store=store, full=data.validated_data["full"], trigger="api")
        return _started(run)
