from django.urls import path
from rest_framework.routers import DefaultRouter

from catalogue.api import CategoryViewSet, ProductViewSet, StoreSyncCatalogueView

router = DefaultRouter()
router.register("products", ProductViewSet, basename="product")
router.register("categories", CategoryViewSet, basename="category")
urlpatterns = [
    path("stores/<int:pk>/sync-catalogue/", StoreSyncCatalogueView.as_view(), name="store-sync-catalogue"),
    *router.urls,
]
