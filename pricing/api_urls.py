from django.urls import path
from rest_framework.routers import SimpleRouter

from pricing.api import DryRunView, ProductCompetitionView, RepricingRuleViewSet

router = SimpleRouter()
router.register("repricing/rules", RepricingRuleViewSet, basename="repricing-rule")

urlpatterns = [
    path("products/<int:pk>/competition/", ProductCompetitionView.as_view(), name="product-competition"),
    path("repricing/dry-run/", DryRunView.as_view(), name="repricing-dry-run"),
] + router.urls
