from rest_framework.routers import DefaultRouter

from stores.api import StoreViewSet, SyncRunViewSet

router = DefaultRouter()
router.register("stores", StoreViewSet, basename="store")
router.register("sync-runs", SyncRunViewSet, basename="syncrun")
urlpatterns = router.urls
