from django.urls import path

from console.api import DashboardView

urlpatterns = [path("dashboard/", DashboardView.as_view(), name="dashboard-api")]
