from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from fnac_connector.health import HealthView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("health/", HealthView.as_view(), name="health"),  # load balancer probe: JSON, no login (issue 14)
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/", include("stores.api_urls")),
    path("api/", include("catalogue.api_urls")),
    path("api/", include("orders.api_urls")),
    path("api/", include("inventory.api_urls")),
    path("api/", include("fulfilment.api_urls")),
    path("api/", include("claims.api_urls")),
    path("api/", include("pricing.api_urls")),
    path("api/", include("console.api_urls")),
    path("api/", include("inbox.api_urls")),
]

# an /api/ address no route matches answers JSON in the API's error format (fnac_connector.api)
handler404 = "fnac_connector.api.page_not_found"
