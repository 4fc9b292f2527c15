"""REST API for stores and sync runs (thin: every action calls a service)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from fnac_connector.api import DetailSerializer, IntegerIdLookupMixin
from fnac_connector.filters import UtcDateTimeFilter
from fnac_connector.permissions import missing_perms
from stores import services
from stores.models import Store, SyncIssue, SyncRun
from stores.selectors import stores_for_user, sync_runs_for_user


class StoreSerializer(serializers.ModelSerializer):
    fnac_key = serializers.CharField(write_only=True, required=False, allow_blank=True,
                                     style={"input_type": "password"})
    mirakl_api_key = serializers.CharField(write_only=True, required=False, allow_blank=True,
                                           style={"input_type": "password"})
    wms_secret = serializers.CharField(write_only=True, required=False, allow_blank=True)
    fnac_key_masked = serializers.CharField(read_only=True)
    mirakl_api_key_masked = serializers.CharField(read_only=True)
    wms_secret_masked = serializers.CharField(read_only=True)

    class Meta:
        model = Store
        fields = [
            "id", "name", "partner_id", "shop_id", "fnac_key", "mirakl_api_key", "fnac_key_masked",
            "mirakl_api_key_masked", "fnac_base_url", "mirakl_base_url", "country", "currency", "status",
            "last_error", "connected_at", "disconnected_at", "disconnect_reason", "mirakl_shop_name",
            "sync_catalogue_enabled", "sync_orders_enabled", "sync_order_status_enabled", "sync_stock_enabled",
            "sync_prices_enabled", "orders_interval_minutes", "status_interval_minutes",
            "catalogue_interval_minutes", "acceptance_mode", "uncovered_policy", "safety_stock", "price_field",
            "price_rounding", "shipping_mode", "default_carrier_code", "carrier_adapter", "sender_name",
            "sender_address1", "sender_zipcode", "sender_city", "sender_country", "sender_phone", "wms_enabled",
            "wms_webhook_url", "wms_secret", "wms_secret_masked", "tracking_stuck_days", "created_at", "updated_at",
            "answer_within_hours",
        ]
        read_only_fields = ["country", "currency", "status", "last_error", "connected_at", "disconnected_at",
                            "disconnect_reason",
                            "mirakl_shop_name", "created_at", "updated_at"]

    def create(self, validated_data):
        user = self.context["request"].user
        return services.store_create(users=[user] if not user.is_superuser else [], **validated_data)

    def update(self, instance, validated_data):
        return services.store_update(store=instance, data=validated_data)


class ConnectSerializer(serializers.Serializer):
    fnac_key = serializers.CharField(required=False, allow_blank=True, write_only=True,
                                     help_text="Replaces the stored key if given and valid.")
    mirakl_api_key = serializers.CharField(required=False, allow_blank=True, write_only=True)


class DisconnectSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=1000,
                                   help_text="Why the store is disconnected; kept on the store.")


class StoreViewSet(IntegerIdLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = StoreSerializer
    filterset_fields = ["status"]
    search_fields = ["name", "shop_id"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    # view/add/change_store by default; URLs and keys need stores.change_store_credentials on top (below)
    required_perms = {"connect": ["stores.connect_store"], "disconnect": ["stores.connect_store"]}

    def get_queryset(self):
        return stores_for_user(self.request.user).order_by("name")

    def _check_credentials(self, store, data) -> None:
        """Where keys go and the keys themselves: only with stores.change_store_credentials."""
        fields = services.credential_fields_changed(store=store, data=data)
        if fields and missing_perms(self.request.user, [services.CREDENTIALS_PERMISSION]):
            raise PermissionDenied(f"Changing {', '.join(sorted(fields))} needs the permission "
                                   f"{services.CREDENTIALS_PERMISSION}; ask an administrator.")

    def perform_create(self, serializer):
        self._check_credentials(None, serializer.validated_data)
        serializer.save()

    def perform_update(self, serializer):
        self._check_credentials(serializer.instance, serializer.validated_data)
        serializer.save()

    @extend_schema(request=ConnectSerializer, responses={200: StoreSerializer})
    @action(detail=True, methods=["post"])
    def connect(self, request, pk=None):
        store = self.get_object()
        data = ConnectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        self._check_credentials(store, data.validated_data)
        try:
            store = services.store_connect(store=store, trigger="api", **data.validated_data)
        except services.ConnectFailed as exc:
            store.refresh_from_db()
            return Response({"detail": str(exc), "code": exc.code, "errors": exc.details,
                             "store": StoreSerializer(store, context={"request": request}).data},
                            status=status.HTTP_400_BAD_REQUEST)
        return Response(StoreSerializer(store, context={"request": request}).data)

    @extend_schema(request=DisconnectSerializer, responses={200: StoreSerializer, 409: DetailSerializer})
    @action(detail=True, methods=["post"])
    def disconnect(self, request, pk=None):
        data = DisconnectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        store = services.store_disconnect(store=self.get_object(), reason=data.validated_data.get("reason", ""))
        return Response(StoreSerializer(store, context={"request": request}).data)


class SyncIssueSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncIssue
        fields = ["id", "code", "message", "reference", "details", "raw", "created_at"]


class SyncRunSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = SyncRun
        fields = ["id", "store", "kind", "state", "trigger", "started_at", "finished_at", "processed", "total",
                  "progress_percent", "counts", "error_count", "message", "params", "created_at"]


class SyncRunDetailSerializer(SyncRunSerializer):
    issues = serializers.SerializerMethodField()

    class Meta(SyncRunSerializer.Meta):
        fields = SyncRunSerializer.Meta.fields + ["issues"]

    def get_issues(self, run) -> list[dict]:
        return SyncIssueSerializer(run.issues.all()[:1000], many=True).data


class SyncRunFilter(django_filters.FilterSet):
    created_at__gte = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at__lte = UtcDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = SyncRun
        fields = {"store": ["exact"], "kind": ["exact"], "state": ["exact"]}


class SyncRunViewSet(IntegerIdLookupMixin, viewsets.ReadOnlyModelViewSet):
    filterset_class = SyncRunFilter
    ordering_fields = ["created_at", "id"]

    def get_queryset(self):
        return sync_runs_for_user(self.request.user).order_by("-created_at", "-id")

    def get_serializer_class(self):
        return SyncRunDetailSerializer if self.action == "retrieve" else SyncRunSerializer

    @extend_schema(responses={200: SyncIssueSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def issues(self, request, pk=None):
        run = self.get_object()
        page = self.paginate_queryset(run.issues.all())
        return self.get_paginated_response(SyncIssueSerializer(page, many=True).data)
