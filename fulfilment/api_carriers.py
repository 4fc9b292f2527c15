"""REST API of carrier accounts (CRUD, secrets write-only and shown masked, "Test connection"), carrier bookings
(mark an unconfirmed booking "not booked") and cancelling a shipment (void with the carrier)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from fnac_connector.api import DetailSerializer, IntegerIdLookupMixin
from fnac_connector.carriers.karrio_adapter import CARRIERS
from fnac_connector.errors import InvalidInput
from fulfilment import accounts, shipping
from fulfilment.api import ShipmentSerializer, _valid
from fulfilment.models import CarrierAccount, CarrierBooking, Shipment
from stores.selectors import stores_for_user

ACCOUNT_FIELDS = ["id", "store", "carrier", "name", "active", "test_mode", "settings", "secrets_masked",
                  "fnac_carrier_code", "service", "services_by_method", "label_format", "default_weight_kg",
                  "default_length_cm", "default_width_cm", "default_height_cm", "capabilities", "last_test_at",
                  "last_test_ok", "last_test_message", "created_at", "updated_at"]


class CarrierAccountSerializer(serializers.ModelSerializer):
    """Reading: secrets only masked (``secrets_masked``). Writing: ``secrets`` is write-only; a key left out keeps
    its stored value. Everything is checked by the service (unknown keys, services, FNAC code)."""

    secrets = serializers.DictField(child=serializers.CharField(allow_blank=True), write_only=True, required=False,
                                    help_text="Secret settings: password, laposte_api_key, client_secret.")
    secrets_masked = serializers.SerializerMethodField()
    capabilities = serializers.SerializerMethodField()
    settings = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False,
                                     help_text="Non-secret settings: contract_number, account_number, client_id.")

    class Meta:
        model = CarrierAccount
        fields = [*ACCOUNT_FIELDS, "secrets"]
        read_only_fields = ["last_test_at", "last_test_ok", "last_test_message", "created_at", "updated_at"]
        validators: list = []  # the service checks everything (one active account per carrier: a 409)

    def get_secrets_masked(self, account) -> dict[str, str]:
        return account.masked_secrets()

    def get_capabilities(self, account) -> list[str]:
        spec = CARRIERS.get(account.carrier)
        return sorted(spec.capabilities) if spec else ["cancel", "labels", "lookup"]

    def validate_store(self, store):
        if store not in stores_for_user(self.context["request"].user):
            raise serializers.ValidationError("not one of your stores")
        return store


def _values(data: dict) -> dict:
    values = {k: v for k, v in data.items() if k not in ("store", "carrier", "settings", "secrets")}
    values.update(data.get("settings") or {})
    values.update(data.get("secrets") or {})
    return values


class CarrierAccountViewSet(IntegerIdLookupMixin, mixins.CreateModelMixin, mixins.UpdateModelMixin,
                            mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CarrierAccountSerializer
    filterset_fields = ["store", "carrier", "active"]

    def get_queryset(self):
        return (CarrierAccount.objects.filter(store__in=stores_for_user(self.request.user)).select_related("store")
                .order_by("store_id", "carrier", "name"))

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = accounts.carrier_account_create(store=data["store"], carrier=data["carrier"],
                                                              values=_values(data))

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        if "carrier" in data and data["carrier"] != serializer.instance.carrier:
            raise InvalidInput("An account's carrier cannot change: create a new account.",
                               details={"carrier": ["read-only after creation"]})
        if "store" in data and data["store"] != serializer.instance.store:
            raise InvalidInput("An account's store cannot change.", details={"store": ["read-only after creation"]})
        serializer.instance = accounts.carrier_account_update(account=serializer.instance, values=_values(data))

    @extend_schema(request=None, responses={200: CarrierAccountSerializer, 404: DetailSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Test connection: one cheap authenticated call to the carrier; the outcome is kept on the account."""
        account = accounts.carrier_account_test(account=self.get_object())
        return Response(CarrierAccountSerializer(account, context={"request": request}).data)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=1000)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class CarrierBookingSerializer(serializers.ModelSerializer):
    order_id = serializers.CharField(source="order.marketplace_order_id", read_only=True)

    class Meta:
        model = CarrierBooking
        fields = ["id", "store", "order", "order_id", "carrier_account", "adapter", "reference", "state",
                  "tracking_number", "error", "note", "created_at", "updated_at"]


class CarrierBookingViewSet(IntegerIdLookupMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = CarrierBookingSerializer
    filterset_fields = ["store", "state", "order"]
    required_perms = {"resolve": ["orders.ship_order"]}

    def get_queryset(self):
        return (CarrierBooking.objects.filter(store__in=stores_for_user(self.request.user))
                .select_related("order").order_by("-created_at", "-id"))

    @extend_schema(request=NoteSerializer,
                   responses={200: CarrierBookingSerializer, 400: DetailSerializer, 409: DetailSerializer})
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Checked on the carrier's site: this unconfirmed booking does not exist; the order may be booked again."""
        note = _valid(NoteSerializer, request)["note"]
        booking = shipping.carrier_booking_resolve(booking=self.get_object(), note=note, user=request.user)
        return Response(CarrierBookingSerializer(booking).data)


class ShipmentVoidViewSet(IntegerIdLookupMixin, viewsets.GenericViewSet):
    """POST /api/shipments/{id}/void/ (a separate viewset so the read-only shipments API stays as it is)."""

    serializer_class = ShipmentSerializer
    required_perms = {"void": ["orders.ship_order"]}

    def get_queryset(self):
        return Shipment.objects.filter(store__in=stores_for_user(self.request.user))

    @extend_schema(request=ReasonSerializer,
                   responses={200: ShipmentSerializer, 400: DetailSerializer, 409: DetailSerializer,
                              502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def void(self, request, pk=None):
        """Cancel a shipment FNAC has not confirmed: voided with the carrier where it allows; its lines are freed."""
        shipment = get_object_or_404(self.get_queryset(), pk=pk)
        reason = _valid(ReasonSerializer, request)["reason"]
        done = shipping.shipment_void(shipment=shipment, reason=reason, user=request.user)
        return Response(ShipmentSerializer(done, context={"request": request}).data)
