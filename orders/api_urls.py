from django.urls import path
from rest_framework.routers import DefaultRouter

from orders.api import OrderViewSet, StoreSyncOrdersView

router = DefaultRouter()
router.register("orders", OrderViewSet, basename="order")
urlpatterns = [
    path("stores/<int:pk>/sync-orders/", StoreSyncOrdersView.as_view(), name="store-sync-orders"),
    *router.urls,
]
