"""``GET /api/dashboard/``: the dashboard's figures as JSON (console.selectors.dashboard_figures, the same as the
admin home page)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from console.dashboard import FIGURES, figure_links
from console.selectors import FIGURE_LISTS, StoreNotVisible, can_view, dashboard_figures
from fnac_connector.api import DetailSerializer, query_int


def _figure_field(figure) -> serializers.IntegerField:
    return serializers.IntegerField(allow_null=True, help_text=f"{figure.help}. Null: you may not open that list.")


FiguresSerializer = type("DashboardFiguresCountsSerializer", (serializers.Serializer,), {
    f.name: _figure_field(f) for f in FIGURES})


class StoreRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StoreFiguresSerializer(serializers.Serializer):
    store_id = serializers.IntegerField()
    store_name = serializers.CharField()
    figures = FiguresSerializer()


class DayCountSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="Local date (settings.TIME_ZONE).")
    count = serializers.IntegerField()


class SyncDaySerializer(serializers.Serializer):
    day = serializers.DateField(help_text="Local date (settings.TIME_ZONE).")
    succeeded = serializers.IntegerField()
    partial = serializers.IntegerField(help_text="Succeeded with errors.")
    failed = serializers.IntegerField()


class RecentSyncSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    store_id = serializers.IntegerField()
    store_name = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    error_count = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    store = serializers.IntegerField(source="store_id", allow_null=True,
                                     help_text="The store shown; null: all your stores together.")
    stores = StoreRefSerializer(many=True, help_text="The stores you may see.")
    totals = FiguresSerializer(help_text="The figures of the store shown (or of all your stores).")
    by_store = StoreFiguresSerializer(many=True, help_text="The figures of each of your stores.")
    orders_per_day = DayCountSerializer(many=True, allow_null=True, help_text="Orders placed per day, last 30 days.")
    syncs_per_day = SyncDaySerializer(many=True, allow_null=True, help_text="Sync runs per day, last 14 days.")
    recent_syncs = RecentSyncSerializer(many=True, allow_null=True, help_text="The latest sync runs.")
    links = serializers.SerializerMethodField(help_text="Per figure, the admin list that shows its rows.")

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_links(self, data) -> dict[str, str]:
        return figure_links(data.store_id)


class DashboardView(APIView):
    """Staff holding the view (or change) permission of at least one list the figures count (``FIGURE_LISTS``);
    each figure is null unless the user may open its own list."""

    required_perms = {"GET": []}  # "any of" FIGURE_LISTS, checked in initial(): the default class knows "all of"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authenticated active staff (StaffModelPermissions)
        if not any(can_view(request.user, app_label, model) for app_label, model in FIGURE_LISTS):
            names = ", ".join(f"{app_label}.view_{model}" for app_label, model in FIGURE_LISTS)
            raise PermissionDenied(f"You do not have the permission to do this (missing: one of {names}); ask an "
                                   "administrator for a role that includes it.")

    @extend_schema(
        parameters=[OpenApiParameter("store", int, required=False,
                                     description="One of your stores (id); without it, all your stores together.")],
        responses={200: DashboardSerializer, 400: DetailSerializer, 401: DetailSerializer, 403: DetailSerializer,
                   404: DetailSerializer},
        summary="What needs attention now: the figures of the admin dashboard")
    def get(self, request):
        raw = request.query_params.get("store", "")
        store = query_int(raw, field="store") if raw.strip() else None
        try:
            data = dashboard_figures(user=request.user, store=store)
        except StoreNotVisible:
            raise NotFound("Not found: no store with this id among the stores you may see.") from None
        return Response(DashboardSerializer(data).data)
