from django.urls import path
from rest_framework.routers import DefaultRouter

from inbox.api import MessageViewSet, OrderCommentViewSet, StoreSyncMessagesView

router = DefaultRouter()
router.register("messages", MessageViewSet, basename="message")
router.register("order-comments", OrderCommentViewSet, basename="order-comment")
urlpatterns = [
    path("stores/<int:pk>/sync-messages/", StoreSyncMessagesView.as_view(), name="store-sync-messages"),
    *router.urls,
]
