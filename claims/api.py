"""REST API for claims and line refunds (thin: every action calls a service)."""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import filters, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from claims import selectors, services
from claims.models import Claim, ClaimLine, LineRefund
from fnac_connector.api import DetailSerializer, IntegerIdLookupMixin
from fnac_connector.filters import IdFilter
from orders.labels import REFUND_REASONS
from orders.selectors import orders_for_user
from stores.selectors import stores_for_user

REFUND_PERMS = ["claims.refund_lines"]


class ClaimLineSerializer(serializers.ModelSerializer):
    type_label = serializers.CharField(read_only=True)

    class Meta:
        model = ClaimLine
        fields = ["order_detail_id", "order_line", "type", "type_label", "status", "opened_at", "fnac_updated_at",
                  "refunded_product", "refunded_shipping", "refunded_fees", "refunded_at"]


class ClaimSerializer(serializers.ModelSerializer):
    type_label = serializers.CharField(read_only=True)
    lines = ClaimLineSerializer(many=True, read_only=True)

    class Meta:
        model = Claim
        fields = ["id", "store", "incident_id", "order", "marketplace_order_id", "status", "waiting_for_seller",
                  "main_type", "type_label", "message", "opened_by", "closed_by", "closed_status", "opened_at",
                  "fnac_updated_at", "closed_at", "lines"]


class LineRefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = LineRefund
        fields = ["id", "store", "order", "claim", "route", "reason", "note", "lines", "state", "error", "error_code",
                  "stock_returned", "created_at", "finished_at"]


class ClaimFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    status = django_filters.ChoiceFilter(choices=Claim.Status.choices)
    waiting_for_seller = django_filters.BooleanFilter()
    type = django_filters.NumberFilter(method="filter_type", help_text="Claims with a line of this FNAC type.")
    order = IdFilter(field_name="order_id")

    class Meta:
        model = Claim
        fields = ["store", "status", "waiting_for_seller", "order"]

    def filter_type(self, queryset, name, value):
        return queryset.filter(pk__in=ClaimLine.objects.filter(type=value).values("claim_id"))


class RefundLineInput(serializers.Serializer):
    order_detail_id = serializers.IntegerField(required=False, min_value=1)
    sku = serializers.CharField(required=False, allow_blank=False, max_length=100)
    quantity = serializers.IntegerField(required=False, min_value=1,
                                        help_text="The line's whole quantity (FNAC refunds whole lines); default.")
    returned_to_stock = serializers.BooleanField(required=False, default=False,
                                                 help_text="The item came back: it goes back on the shelf.")

    def validate(self, attrs):
        if not attrs.get("order_detail_id") and not attrs.get("sku"):
            raise serializers.ValidationError("give order_detail_id or sku")
        return attrs


class RefundInput(serializers.Serializer):
    lines = RefundLineInput(many=True, allow_empty=False)
    reason = serializers.ChoiceField(choices=list(REFUND_REASONS.items()))
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


def _refund(request, order) -> Response:
    data = RefundInput(data=request.data)
    data.is_valid(raise_exception=True)
    lines = [services.RefundLineRequest(order_detail_id=item.get("order_detail_id"), sku=item.get("sku", ""),
                                        quantity=item.get("quantity"), returned_to_stock=item["returned_to_stock"])
             for item in data.validated_data["lines"]]
    refund = services.lines_refund(order=order, lines=lines, reason=data.validated_data["reason"],
                                   note=data.validated_data["note"], user=request.user)
    return Response(LineRefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class ClaimViewSet(IntegerIdLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Buyer claims (FNAC incidents) of the stores the user may see, what waits for the seller first."""

    serializer_class = ClaimSerializer
    filterset_class = ClaimFilter
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields = ["opened_at", "fnac_updated_at", "status"]
    required_perms = {"refund": REFUND_PERMS}

    def get_queryset(self):
        return selectors.claims_for_user(self.request.user).prefetch_related("lines").order_by(
            "-waiting_for_seller", "-status", "-fnac_updated_at", "-id")

    @extend_schema(request=RefundInput, responses={201: LineRefundSerializer, 400: DetailSerializer,
                                                   409: DetailSerializer, 502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request, pk=None):
        """Refund lines of the claim's order (lines under the claim go through incidents_update)."""
        claim = self.get_object()
        if claim.order_id is None:
            return Response({"detail": "The order of this claim is not imported yet: sync the orders first.",
                             "code": "conflict"}, status=status.HTTP_409_CONFLICT)
        return _refund(request, claim.order)


class OrderRefundView(APIView):
    """``POST /api/orders/{id}/refund/``: refund one or several lines of an order, with a reason."""

    required_perms = {"POST": REFUND_PERMS}

    @extend_schema(request=RefundInput, responses={201: LineRefundSerializer, 400: DetailSerializer,
                                                   404: DetailSerializer, 409: DetailSerializer,
                                                   502: DetailSerializer})
    def post(self, request, pk: int):
        return _refund(request, get_object_or_404(orders_for_user(request.user), pk=pk))


class LineRefundViewSet(IntegerIdLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    serializer_class = LineRefundSerializer
    filterset_fields = ["store", "order", "state", "route"]
    filter_backends = [DjangoFilterBackend]

    def get_queryset(self):
        return selectors.refunds_for_user(self.request.user)


class StoreSyncClaimsView(APIView):
    required_perms = {"POST": ["stores.sync_store"]}

    @extend_schema(request=None, responses={202: inline_serializer("SyncClaimsStarted", {
        "run_id": serializers.IntegerField(), "state": serializers.CharField(), "kind": serializers.CharField()}),
        409: DetailSerializer})
    def post(self, request, pk: int):
        store = get_object_or_404(stores_for_user(request.user), pk=pk)
        run = services.claims_sync_request(store=store, trigger="api")
        run.refresh_from_db()
        return Response({"run_id": run.pk, "state": run.state, "kind": run.kind}, status=status.HTTP_202_ACCEPTED)
