"""REST API for orders (thin: every action calls a service)."""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import filters, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from fnac_connector.api import DetailSerializer, IntegerIdLookupMixin
from fnac_connector.filters import IdFilter, UtcDateTimeFilter
from orders import selectors, services
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.status import mapping_rows
from stores.selectors import stores_for_user


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["id", "order_detail_id", "sku", "product", "product_name", "quantity", "price", "fees",
                  "shipping_price", "shipping_method", "state", "unmatched", "reserved_quantity", "tracking_number",
                  "tracking_company", "shipped_at", "nb_products_to_take_back"]


class OrderStatusChangeSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", default=None, read_only=True, allow_null=True)

    class Meta:
        model = OrderStatusChange
        fields = ["created_at", "from_status", "to_status", "source", "user", "note"]


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "store", "marketplace_order_id", "fnac_state", "status", "created_at", "fnac_updated_at",
                  "customer_firstname", "customer_lastname", "total_amount", "shipping_total", "has_unmatched_lines",
                  "flagged", "flag_reason", "decision_needed", "decision_note", "last_push_error", "lines"]


class OrderDetailSerializer(OrderSerializer):
    status_history = OrderStatusChangeSerializer(source="status_changes", many=True, read_only=True)

    class Meta(OrderSerializer.Meta):
        fields = OrderSerializer.Meta.fields + [
            "client_id", "customer_email", "shipping_address", "billing_address", "fees", "vat_rate",
            "shipping_method", "delivery_note", "shipping_mode", "carrier_code", "tracking_number", "imported_at",
            "updated_at", "last_sync_run", "synced_at", "status_history"]


class OrderFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    fnac_state = django_filters.CharFilter()
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    unmatched = django_filters.BooleanFilter(field_name="has_unmatched_lines")
    flagged = django_filters.BooleanFilter()
    decision_needed = django_filters.BooleanFilter()
    sku = django_filters.CharFilter(method="filter_sku", help_text="Orders with a line of this SKU (exact).")

    class Meta:
        model = Order
        fields = ["store", "status", "fnac_state", "flagged", "decision_needed"]

    def filter_sku(self, queryset, name, value):
        return queryset.filter(pk__in=OrderLine.objects.filter(sku=value).values("order_id"))


class OrderSearchFilter(filters.SearchFilter):
    """``search=``: order id, customer names or a line's SKU."""

    def filter_queryset(self, request, queryset, view):
        text = request.query_params.get(self.search_param, "").strip()
        return selectors.orders_search(queryset, text) if text else queryset

    def get_schema_operation_parameters(self, view):
        return [{"name": self.search_param, "required": False, "in": "query",
                 "description": "Order id, customer name or SKU (each word must match)", "schema": {"type": "string"}}]


class AcceptSerializer(serializers.Serializer):
    refuse_lines = serializers.ListField(child=serializers.IntegerField(), required=False, default=list,
                                         help_text="order_detail_ids to refuse while accepting the others.")


class RefuseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Why the order is refused (required; kept in the "
                                                               "order's status history).")


class OrderViewSet(IntegerIdLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Orders of the stores the user may see. Search (``search=``) looks in the order id, customer names and
    SKUs."""

    filterset_class = OrderFilter
    filter_backends = [DjangoFilterBackend, OrderSearchFilter, filters.OrderingFilter]
    required_perms = {"accept": ["orders.accept_order"], "refuse": ["orders.accept_order"]}
    ordering_fields = ["created_at", "status", "fnac_state"]

    def get_queryset(self):
        qs = selectors.orders_for_user(self.request.user)
        if self.action == "retrieve":
            return qs.prefetch_related("lines", "status_changes__user")
        return qs.prefetch_related("lines")

    def get_serializer_class(self):
        return OrderDetailSerializer if self.action in ("retrieve", "accept", "refuse") else OrderSerializer

    @extend_schema(request=AcceptSerializer, responses={200: OrderDetailSerializer, 409: DetailSerializer,
                                                        502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        order = self.get_object()
        data = AcceptSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_accept(order=order, user=request.user, refuse_lines=data.validated_data["refuse_lines"])
        return Response(OrderDetailSerializer(selectors.order_detail(order.pk)).data)

    @extend_schema(request=RefuseSerializer, responses={200: OrderDetailSerializer, 400: DetailSerializer,
                                                        409: DetailSerializer, 502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def refuse(self, request, pk=None):
        order = self.get_object()
        data = RefuseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = services.order_refuse(order=order, user=request.user, reason=data.validated_data["reason"])
        return Response(OrderDetailSerializer(selectors.order_detail(order.pk)).data)

    @extend_schema(responses={200: inline_serializer("StatusMappingRow", {
        "oms_status": serializers.CharField(), "oms_label": serializers.CharField(),
        "fnac_state": serializers.CharField(), "rule": serializers.CharField(), "next": serializers.CharField()},
        many=True)})
    @action(detail=False, methods=["get"], url_path="status-mapping", pagination_class=None, filter_backends=[])
    def status_mapping(self, request):
        return Response(mapping_rows())


class SyncOrdersSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=list(services.SyncMode.ALL), default=services.SyncMode.MANUAL)
    since = serializers.DateTimeField(required=False, allow_null=True)


class StoreSyncOrdersView(APIView):
    required_perms = {"POST": ["stores.sync_store"]}

    @extend_schema(request=SyncOrdersSerializer, responses={202: inline_serializer("SyncOrdersStarted", {
        "run_id": serializers.IntegerField(), "state": serializers.CharField(), "kind": serializers.CharField()}),
        409: DetailSerializer})
    def post(self, request, pk: int):
        store = get_object_or_404(stores_for_user(request.user), pk=pk)
        data = SyncOrdersSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.orders_sync_request(store=store, mode=data.validated_data["mode"],
                                           since=data.validated_data.get("since"), trigger="api")
        run.refresh_from_db()
        return Response({"run_id": run.pk, "state": run.state, "kind": run.kind}, status=status.HTTP_202_ACCEPTED)
