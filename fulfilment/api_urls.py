from django.urls import path
from rest_framework.routers import SimpleRouter

from fulfilment import api, api_carriers

router = SimpleRouter()
router.register("shipments", api.ShipmentViewSet, basename="shipment")
router.register("carriers", api.CarrierViewSet, basename="carrier")
router.register("wms/deliveries", api.WmsDeliveryViewSet, basename="wms-delivery")
router.register("wms/event-log", api.WmsEventLogViewSet, basename="wms-event-log")
router.register("carrier-accounts", api_carriers.CarrierAccountViewSet, basename="carrier-account")
router.register("carrier-bookings", api_carriers.CarrierBookingViewSet, basename="carrier-booking")
router.register("shipments", api_carriers.ShipmentVoidViewSet, basename="shipment-void")

urlpatterns = [
    path("orders/<int:pk>/release/", api.ReleaseView.as_view(), name="order-release"),
    path("orders/<int:pk>/ready-to-ship/", api.ReadyToShipView.as_view(), name="order-ready-to-ship"),
    path("orders/<int:pk>/retry-shipment-confirmation/", api.RetryConfirmationView.as_view(),
         name="order-retry-shipment-confirmation"),
    path("orders/<int:pk>/cancel/", api.CancelView.as_view(), name="order-cancel"),
    path("orders/<int:pk>/label/", api.OrderLabelView.as_view(), name="order-label"),
    path("labels/", api.LabelsView.as_view(), name="labels"),
    path("stores/<int:pk>/refresh-carriers/", api.RefreshCarriersView.as_view(), name="store-refresh-carriers"),
    path("wms/events/", api.WmsEventsView.as_view(), name="wms-events"),
    path("wms/labels/<str:token>/", api.WmsLabelView.as_view(), name="wms-label"),
    *router.urls,
]
