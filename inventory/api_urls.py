from django.urls import path

from inventory.api import ProductPriceView, ProductStockView, StockBatchView, StoreSyncStockView

urlpatterns = [
    path("products/<int:pk>/stock/", ProductStockView.as_view(), name="product-stock"),
    path("products/<int:pk>/price/", ProductPriceView.as_view(), name="product-price"),
    path("stock/", StockBatchView.as_view(), name="stock-batch"),
    path("stores/<int:pk>/sync-stock/", StoreSyncStockView.as_view(), name="store-sync-stock"),
]
