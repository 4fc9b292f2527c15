from django.urls import path
from rest_framework.routers import DefaultRouter

from claims.api import ClaimViewSet, LineRefundViewSet, OrderRefundView, StoreSyncClaimsView

router = DefaultRouter()
router.register("incidents", ClaimViewSet, basename="incident")
router.register("refunds", LineRefundViewSet, basename="refund")
urlpatterns = [
    path("orders/<int:pk>/refund/", OrderRefundView.as_view(), name="order-refund"),
    path("stores/<int:pk>/sync-incidents/", StoreSyncClaimsView.as_view(), name="store-sync-incidents"),
    *router.urls,
]
