"""REST API of fulfilment (thin: every view calls a service).

Staff/OMS endpoints use the usual token or session auth and see only their stores. ``POST /api/wms/events/``
is for the warehouse: no user, the store's own secret signs the body (HMAC-SHA256)."""

from __future__ import annotations

import json

import django_filters
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from fnac_connector.api import DetailSerializer, IntegerIdLookupMixin, query_int
from fnac_connector.errors import Conflict
from fnac_connector.marketplace.fnac.types import REFUND_REASONS
from fulfilment import services
from fulfilment.labels import label_content_type
from fulfilment.models import Carrier, Shipment, TrackingEvent, WmsDelivery, WmsEvent
from fulfilment.selectors import TRACKING_FILTERS, tracking_filter_q
from fulfilment.signing import (
    SIGNATURE_HEADER,
    STORE_HEADER,
    is_fresh,
    label_token_shipment_id,
    parse_sent_at,
    signature_valid,
    tolerance,
)
from orders.api import OrderDetailSerializer
from orders.selectors import order_detail, orders_for_user
from stores.models import Store
from stores.selectors import stores_for_user


def _pdf(content: bytes, filename: str) -> HttpResponse:
    """A label file: PDF, or ZPL text when the carrier account prints for thermal printers."""
    content_type, extension = label_content_type(content)
    filename = f"{filename.rsplit('.', 1)[0]}.{extension}"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# ---------------------------------------------------------------- serializers
class ShipmentSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.marketplace_order_id", read_only=True)
    lines = serializers.SerializerMethodField()
    label_url = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = ["id", "order", "order_id", "store", "shipping_mode", "source", "adapter", "carrier_code", "awb",
                  "tracking_number", "tracking_url", "weight_kg", "state", "attempts", "last_error", "fnac_state",
                  "confirmed_at", "created_at", "lines", "label_url", "tracking_status", "last_tracked_at",
                  "last_event_at", "delivered_at", "stuck_since", "tracking_error"]

    def get_lines(self, shipment) -> list[int]:
        return [sl.order_line.order_detail_id for sl in shipment.lines.all() if not sl.cancelled]

    def get_label_url(self, shipment) -> str | None:
        if shipment.source == Shipment.Source.MANUAL:
            return None
        request = self.context.get("request")
        url = reverse("shipment-label", args=[shipment.pk])
        return request.build_absolute_uri(url) if request else url


class TrackingEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = ["at", "status", "code", "description", "location", "recorded_at"]


class ShipmentFilter(django_filters.FilterSet):
    tracking = django_filters.ChoiceFilter(
        choices=[(v, v) for v in TRACKING_FILTERS], method="filter_tracking",
        help_text="stuck (no carrier event for the store's days), in_transit, delivered, problem (delivery problem or "
                  "returned), unknown (the carrier does not know the number), not_checked.")

    def filter_tracking(self, queryset, name, value):
        return queryset.filter(tracking_filter_q(value))

    class Meta:
        model = Shipment
        fields = {"store": ["exact"], "order": ["exact"], "state": ["exact"], "tracking_number": ["exact"]}


class ReadyToShipSerializer(serializers.Serializer):
    lines = serializers.ListField(child=serializers.IntegerField(), required=False, default=list,
                                  help_text="order_detail_ids to ship now (split shipment); empty: every open line.")
    tracking_number = serializers.CharField(required=False, allow_blank=True, default="", max_length=32,
                                            help_text="Self ship: a tracking number from another system.")
    carrier_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                         help_text="FNAC carrier code; default: the order's, then the store's.")
    carrier_free_text = serializers.BooleanField(
        required=False, default=False,
        help_text="Self ship: carrier_code is a carrier name FNAC does not list, typed on purpose and sent to FNAC "
                  "as typed. Without it, a code not in the store's FNAC carrier list is refused (400).")


class RetrySerializer(serializers.Serializer):
    carrier_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=100,
                                         help_text="A corrected FNAC carrier code for the refused shipments.")
    carrier_free_text = serializers.BooleanField(
        required=False, default=False,
        help_text="Self ship: carrier_code is a carrier name FNAC does not list, typed on purpose and sent to FNAC "
                  "as typed. Without it, a code not in the store's FNAC carrier list is refused (400).")


class CancelSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=list(REFUND_REASONS), default="no_stock",
                                     help_text="refund_reason sent to FNAC when the order is already paid.")


ShipResultSerializer = inline_serializer("ShipResult", {
    "confirmed": serializers.BooleanField(), "error": serializers.CharField(),
    "shipment": ShipmentSerializer(), "order": OrderDetailSerializer()})


LABEL_PERMS = {"GET": ["orders.view_order", "fulfilment.view_shipment"]}


def _valid(serializer_class, request) -> dict:
    """The request body checked by ``serializer_class`` (a 400 with the field errors when it does not pass)."""
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _order(request, pk: int):
    return get_object_or_404(orders_for_user(request.user), pk=pk)


# ---------------------------------------------------------------- order endpoints
class ReleaseView(APIView):
    required_perms = {"POST": ["orders.ship_order"]}

    @extend_schema(request=None, responses={200: OrderDetailSerializer, 409: DetailSerializer},
                   summary="Release to the warehouse (New -> RFP)")
    def post(self, request, pk: int):
        order = services.order_release_to_warehouse(order=_order(request, pk), user=request.user)
        return Response(OrderDetailSerializer(order_detail(order.pk)).data)


class ReadyToShipView(APIView):
    required_perms = {"POST": ["orders.ship_order"]}

    @extend_schema(request=ReadyToShipSerializer, responses={200: ShipResultSerializer, 400: DetailSerializer,
                                                             409: DetailSerializer, 502: DetailSerializer},
                   summary="Ready to Ship: book the shipment and confirm it to FNAC")
    def post(self, request, pk: int):
        order = _order(request, pk)
        data = _valid(ReadyToShipSerializer, request)
        outcome = services.order_ready_to_ship(order=order, user=request.user, trigger="api",
                                               lines=data["lines"] or None,
                                               tracking_number=data["tracking_number"],
                                               carrier_code=data["carrier_code"],
                                               carrier_free_text=data["carrier_free_text"])
        return Response({"confirmed": outcome.ok, "error": outcome.error,
                         "shipment": ShipmentSerializer(outcome.shipment, context={"request": request}).data,
                         "order": OrderDetailSerializer(order_detail(order.pk)).data})


class RetryConfirmationView(APIView):
    required_perms = {"POST": ["orders.ship_order"]}

    @extend_schema(request=RetrySerializer, responses={200: inline_serializer("RetryResult", {
        "confirmed": serializers.BooleanField(), "error": serializers.CharField(),
        "shipments": ShipmentSerializer(many=True), "order": OrderDetailSerializer()}), 409: DetailSerializer},
        summary="Retry the shipment confirmation to FNAC (after fixing what it refused)")
    def post(self, request, pk: int):
        order = _order(request, pk)
        data = _valid(RetrySerializer, request)
        shipments = services.order_shipments_retry(order=order, user=request.user, trigger="api",
                                                   carrier_code=data["carrier_code"],
                                                   carrier_free_text=data["carrier_free_text"])
        detail = order_detail(order.pk)
        confirmed = all(s.state == Shipment.State.CONFIRMED for s in shipments)
        return Response({"confirmed": confirmed, "error": "" if confirmed else detail.last_push_error,
                         "shipments": ShipmentSerializer(shipments, many=True, context={"request": request}).data,
                         "order": OrderDetailSerializer(detail).data})


class CancelView(APIView):
    required_perms = {"POST": ["orders.cancel_order"]}

    @extend_schema(request=CancelSerializer, responses={200: OrderDetailSerializer, 409: DetailSerializer,
                                                        502: DetailSerializer},
                   summary="Cancel by the seller (refused lines before acceptance, refund after payment)")
    def post(self, request, pk: int):
        order = _order(request, pk)
        data = _valid(CancelSerializer, request)
        order = services.order_cancel_by_seller(order=order, reason=data["reason"], user=request.user)
        return Response(OrderDetailSerializer(order_detail(order.pk)).data)


class OrderLabelView(APIView):
    required_perms = LABEL_PERMS

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: DetailSerializer},
                   summary="The order's shipping label (one A6 page per parcel)")
    def get(self, request, pk: int):
        order = _order(request, pk)
        return _pdf(services.order_label(order=order), f"label-{order.marketplace_order_id}.pdf")


MAX_LABELS = 500


class LabelsView(APIView):
    required_perms = LABEL_PERMS

    @extend_schema(parameters=[OpenApiParameter("orders", str, required=True,
                                                 description="Comma-separated OMS order ids (at most 500)")],
                   responses={(200, "application/pdf"): OpenApiTypes.BINARY, 400: DetailSerializer,
                              404: DetailSerializer},
                   summary="The labels of several orders merged into one PDF")
    def get(self, request):
        parts = [x for x in request.query_params.get("orders", "").split(",") if x.strip()]
        if not parts or len(parts) > MAX_LABELS:
            message = "give ?orders=<id>,<id>..." if not parts else f"at most {MAX_LABELS} orders per call"
            return Response({"detail": message, "code": "invalid", "errors": {"orders": [message]}},
                            status=status.HTTP_400_BAD_REQUEST)
        ids = [query_int(x, field="orders") for x in parts]
        orders = list(orders_for_user(request.user).filter(pk__in=ids))
        return _pdf(services.orders_labels(orders=orders), "labels.pdf")


TrackResultSerializer = inline_serializer("TrackResult", {
    "run_id": serializers.IntegerField(), "run_state": serializers.CharField(), "message": serializers.CharField(),
    "shipment": ShipmentSerializer(), "events": TrackingEventSerializer(many=True)})


class ShipmentViewSet(IntegerIdLookupMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = ShipmentSerializer
    filterset_class = ShipmentFilter
    ordering_fields = ["created_at", "id"]
    required_perms = {"track": ["fulfilment.view_shipment", "orders.ship_order"]}

    def get_queryset(self):
        return (Shipment.objects.filter(store__in=stores_for_user(self.request.user))
                .select_related("order").prefetch_related("lines__order_line").defer("label_pdf", "label_data")
                .order_by("-created_at", "-id"))

    @extend_schema(responses={200: TrackingEventSerializer(many=True), 404: DetailSerializer},
                   summary="The carrier's events of the parcel, newest first")
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def tracking(self, request, pk=None):
        shipment = self.get_object()
        events = shipment.tracking_events.order_by("-at", "-id")
        return Response(TrackingEventSerializer(events, many=True).data)

    @extend_schema(request=None, responses={200: TrackResultSerializer, 404: DetailSerializer,
                                            409: DetailSerializer},
                   summary="Ask the carrier about the parcel now (a tracking run of just this parcel)")
    @action(detail=True, methods=["post"], filterset_class=None)
    def track(self, request, pk=None):
        shipment = self.get_object()
        if shipment.state != Shipment.State.CONFIRMED or shipment.delivered_at is not None:
            raise Conflict(f"Parcel {shipment.tracking_number} is not followed: tracking is for parcels FNAC "
                           "confirmed and the carrier has not delivered yet.")
        [run] = services.shipments_track_now(shipments=[shipment], trigger="api")
        shipment = self.get_queryset().get(pk=shipment.pk)
        return Response({"run_id": run.pk, "run_state": run.state, "message": run.message,
                         "shipment": ShipmentSerializer(shipment, context={"request": request}).data,
                         "events": TrackingEventSerializer(shipment.tracking_events.order_by("-at", "-id"),
                                                           many=True).data})

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: DetailSerializer})
    @action(detail=True, methods=["get"])
    def label(self, request, pk=None):
        shipment = get_object_or_404(Shipment.objects.filter(store__in=stores_for_user(request.user)), pk=pk)
        return _pdf(services.shipment_label(shipment=shipment), f"label-{shipment.tracking_number}.pdf")


# ---------------------------------------------------------------- carriers
class CarrierSerializer(serializers.ModelSerializer):
    class Meta:
        model = Carrier
        fields = ["id", "store", "code", "name", "is_global", "active", "refreshed_at"]


class CarrierViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = CarrierSerializer
    filterset_fields = ["store", "active"]

    def get_queryset(self):
        return Carrier.objects.filter(store__in=stores_for_user(self.request.user)).order_by("store_id", "code")


class RefreshCarriersView(APIView):
    required_perms = {"POST": ["stores.sync_store"]}

    @extend_schema(request=None, responses={200: inline_serializer("CarriersRefreshed", {
        "run_id": serializers.IntegerField(), "carriers": CarrierSerializer(many=True)}), 409: DetailSerializer,
        502: DetailSerializer})
    def post(self, request, pk: int):
        store = get_object_or_404(stores_for_user(request.user), pk=pk)
        run = services.carriers_refresh(store=store, trigger="api")
        carriers = Carrier.objects.filter(store=store, active=True).order_by("code")
        return Response({"run_id": run.pk, "carriers": CarrierSerializer(carriers, many=True).data})


# ---------------------------------------------------------------- WMS side
class WmsDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WmsDelivery
        fields = ["id", "store", "order", "shipment", "kind", "key", "payload", "state", "attempts",
                  "next_attempt_at", "last_attempt_at", "last_status_code", "last_error", "delivered_at", "created_at"]


class WmsDeliveryViewSet(IntegerIdLookupMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = WmsDeliverySerializer
    required_perms = {"retry": ["fulfilment.change_wmsdelivery"]}
    filterset_fields = ["store", "order", "state", "kind"]

    def get_queryset(self):
        return WmsDelivery.objects.filter(store__in=stores_for_user(self.request.user)).order_by("-created_at", "-id")

    @extend_schema(request=None, responses={200: WmsDeliverySerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request, pk=None):
        delivery = self.get_object()
        services.wms_delivery_retry_now(delivery=delivery)
        delivery.refresh_from_db()
        return Response(WmsDeliverySerializer(delivery).data)


class WmsEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = WmsEvent
        fields = ["id", "store", "event_id", "kind", "order", "order_ref", "lines", "occurred_at", "outcome", "note",
                  "duplicates", "received_at"]


class WmsEventLogViewSet(IntegerIdLookupMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = WmsEventSerializer
    filterset_fields = ["store", "order", "outcome", "kind"]

    def get_queryset(self):
        return WmsEvent.objects.filter(store__in=stores_for_user(self.request.user)).order_by("-received_at", "-id")


def _unauthorised(message: str, code: str) -> Response:
    response = Response({"detail": message, "code": code}, status=status.HTTP_401_UNAUTHORIZED)
    response["WWW-Authenticate"] = 'HMAC-SHA256 realm="wms", headers="X-Store-Id X-Signature"'
    return response


WmsEventRequest = inline_serializer("WmsEvent", {
    "event_id": serializers.CharField(help_text="Unique per store; a repeated id is answered 'duplicate'."),
    "type": serializers.ChoiceField(choices=WmsEvent.Kind.values),
    "order_id": serializers.CharField(help_text="FNAC order id"),
    "lines": serializers.ListField(child=serializers.IntegerField(), required=False,
                                   help_text="order_detail_ids; absent: the whole order"),
    "ship": serializers.BooleanField(required=False, help_text="Ship these lines now (split shipment)"),
    "occurred_at": serializers.DateTimeField(required=False),
    "sent_at": serializers.DateTimeField(help_text="When the WMS sent the request; must be within the tolerance"),
})


class WmsEventsView(APIView):
    """Warehouse events, signed with the store's WMS secret:
    ``X-Store-Id: <store id>`` and ``X-Signature: sha256=<hex HMAC-SHA256(wms_secret, raw body)>``.
    The body is one event or ``{"events": [...], "sent_at": ...}``."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(request=WmsEventRequest, responses={200: inline_serializer("WmsEventResults", {
        "results": inline_serializer("WmsEventResult", {
            "event_id": serializers.CharField(), "status": serializers.CharField(),
            "detail": serializers.CharField(), "order_status": serializers.CharField(allow_null=True)}, many=True)}),
        400: DetailSerializer, 401: DetailSerializer}, summary="Warehouse events (HMAC-signed)")
    def post(self, request):
        raw = request.body
        store_header = (request.headers.get(STORE_HEADER) or "").strip()
        if not store_header:
            return _unauthorised(f"{STORE_HEADER} header missing: say which store the events are for.", "no_store")
        store = Store.objects.filter(pk=int(store_header)).first() if store_header.isdigit() else None
        if store is None or not store.wms_enabled or not store.wms_secret:
            return _unauthorised(f"Store {store_header!r} does not accept WMS events (unknown store, WMS switched "
                                 "off or no WMS secret set).", "store_refused")
        signature = (request.headers.get(SIGNATURE_HEADER) or "").strip()
        if not signature:
            return _unauthorised(f"Unsigned request: send {SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body "
                                 "with the store's WMS secret>.", "unsigned")
        if not signature_valid(store.wms_secret, raw, signature):
            return _unauthorised("Bad signature: it does not match HMAC-SHA256 of the raw body with the store's WMS "
                                 "secret (check the secret, and sign the exact bytes sent).", "bad_signature")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return Response({"detail": f"The body is not JSON: {exc}", "code": "invalid"},
                            status=status.HTTP_400_BAD_REQUEST)
        if not isinstance(body, dict):
            return Response({"detail": "The body must be a JSON object (one event, or {\"events\": [...]}).",
                             "code": "invalid"}, status=status.HTTP_400_BAD_REQUEST)
        sent_at = parse_sent_at(body.get("sent_at"))
        if sent_at is None:
            return _unauthorised("sent_at missing or unreadable: the signed body must say when it was sent "
                                 "(ISO-8601 with offset, or Unix seconds).", "no_timestamp")
        if not is_fresh(sent_at):
            return _unauthorised(f"Stale request: sent_at {sent_at.isoformat()} is more than "
                                 f"{int(tolerance().total_seconds())} s away from the server time "
                                 f"{timezone.now().isoformat(timespec='seconds')}.", "stale")
        events = body.get("events") if "events" in body else [body]
        if not isinstance(events, list) or not events:
            return Response({"detail": "events must be a non-empty list.", "code": "invalid"},
                            status=status.HTTP_400_BAD_REQUEST)
        results = services.wms_events_receive(store=store, events=events)
        all_rejected = all(r["status"] == "rejected" for r in results)
        code = status.HTTP_400_BAD_REQUEST if all_rejected else status.HTTP_200_OK
        return Response({"results": results}, status=code)


class WmsLabelView(APIView):
    """The label link sent to the WMS: signed, expires (settings.WMS_LABEL_LINK_DAYS), no user needed."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY, 404: DetailSerializer})
    def get(self, request, token: str):
        shipment_id = label_token_shipment_id(token)
        shipment = Shipment.objects.filter(pk=shipment_id).first() if shipment_id else None
        if shipment is None:
            return Response({"detail": "Unknown or expired label link.", "code": "not_found"},
                            status=status.HTTP_404_NOT_FOUND)
        return _pdf(services.shipment_label(shipment=shipment), f"label-{shipment.tracking_number}.pdf")
