"""REST API of the inbox (thin: every action calls a service). Scoped to the stores the user may see."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import filters, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from fnac_connector.api import DetailSerializer, IntegerIdLookupMixin
from fnac_connector.filters import IdFilter, UtcDateTimeFilter
from fnac_connector.marketplace.fnac.messages import MAX_COMMENT_REPLY, MAX_MESSAGE_BODY, MESSAGE_SUBJECTS
from inbox import selectors, services
from inbox.models import Message, OrderComment, SendState
from stores.selectors import stores_for_user


class MessageSerializer(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField(help_text="Waiting for an answer for longer than the store allows.")
    order_imported = serializers.SerializerMethodField(help_text="False when the FNAC order is not imported (yet).")

    class Meta:
        model = Message
        fields = ["id", "store", "fnac_message_id", "direction", "about", "referer", "order", "order_imported",
                  "product", "sender", "sender_name", "subject", "subject_code", "body", "is_read", "archived",
                  "created_at", "fnac_updated_at", "awaiting_reply", "overdue", "answered_at", "fnac_answer",
                  "reply_to", "send_state", "send_error", "sent_at"]

    def get_overdue(self, message) -> bool:
        return selectors.is_overdue(message, self.context.get("now"))

    def get_order_imported(self, message) -> bool:
        return message.about != Message.About.ORDER or message.order_id is not None


class MessageFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    order = IdFilter(field_name="order_id")
    referer = django_filters.CharFilter(help_text="The FNAC order id (or offer) the messages are about.")
    about = django_filters.ChoiceFilter(choices=Message.About.choices)
    sender = django_filters.ChoiceFilter(choices=Message.Sender.choices)
    direction = django_filters.ChoiceFilter(choices=Message.Direction.choices)
    state = django_filters.ChoiceFilter(method="filter_state", choices=[
        ("awaiting", "Waiting for an answer"), ("overdue", "Overdue"), ("unread", "Unread"),
        ("answered", "Answered"), ("archived", "Archived")])
    send_state = django_filters.ChoiceFilter(choices=[c for c in SendState.choices if c[0]])
    is_read = django_filters.BooleanFilter()
    archived = django_filters.BooleanFilter()
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Message
        fields = ["store", "order", "referer", "about", "sender", "direction", "is_read", "archived"]

    def filter_state(self, queryset, name, value):
        if value == "overdue":
            return queryset.filter(selectors.overdue_q(stores=stores_for_user(self.request.user)))
        return queryset.filter({
            "awaiting": Q(awaiting_reply=True),
            "unread": Q(direction=Message.Direction.INCOMING, is_read=False),
            "answered": Q(direction=Message.Direction.INCOMING, answered_at__isnull=False),
            "archived": Q(archived=True),
        }[value])


class ReplySerializer(serializers.Serializer):
    subject = serializers.ChoiceField(choices=list(MESSAGE_SUBJECTS.items()),
                                      help_text="FNAC's subject code: " + ", ".join(MESSAGE_SUBJECTS))
    body = serializers.CharField(max_length=MAX_MESSAGE_BODY, help_text="The reply to the buyer.")


class MessageViewSet(IntegerIdLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     viewsets.GenericViewSet):
    """Buyer messages of the stores the user may see, unanswered first (oldest first among them)."""

    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["referer", "subject", "sender_name", "body"]
    ordering_fields = ["created_at", "fnac_updated_at"]
    required_perms = {"reply": ["inbox.reply_message"], "read": ["inbox.change_message"],
                      "unread": ["inbox.change_message"], "archive": ["inbox.change_message"],
                      "unarchive": ["inbox.change_message"]}

    def get_queryset(self):
        return selectors.messages_for_user(self.request.user).order_by("-awaiting_reply", "created_at", "id")

    def get_serializer_context(self):
        from django.utils import timezone

        return {**super().get_serializer_context(), "now": timezone.now()}

    @extend_schema(request=ReplySerializer, responses={201: MessageSerializer, 400: DetailSerializer,
                                                        409: DetailSerializer, 502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        message = self.get_object()
        data = ReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outgoing = services.message_reply(message=message, subject_code=data.validated_data["subject"],
                                          body=data.validated_data["body"], user=request.user)
        return Response(MessageSerializer(outgoing, context=self.get_serializer_context()).data,
                        status=status.HTTP_201_CREATED)

    def _mark(self, request, mark: str):
        message = self.get_object()
        services.messages_mark(messages=[message], mark=mark)
        message.refresh_from_db()
        return Response(MessageSerializer(message, context=self.get_serializer_context()).data)

    @extend_schema(request=None, responses={200: MessageSerializer, 409: DetailSerializer, 502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        return self._mark(request, "read")

    @extend_schema(request=None, responses={200: MessageSerializer, 409: DetailSerializer, 502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def unread(self, request, pk=None):
        return self._mark(request, "unread")

    @extend_schema(request=None, responses={200: MessageSerializer, 409: DetailSerializer, 502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._mark(request, "archive")

    @extend_schema(request=None, responses={200: MessageSerializer, 409: DetailSerializer, 502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def unarchive(self, request, pk=None):
        return self._mark(request, "unarchive")


class OrderCommentSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderComment
        fields = ["id", "store", "fnac_comment_id", "referer", "order", "rate", "client_name", "comment",
                  "is_received", "is_fast", "is_well_packed", "is_good_shape", "created_at", "reply", "reply_state",
                  "reply_error", "replied_at"]


class OrderCommentFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    order = IdFilter(field_name="order_id")
    referer = django_filters.CharFilter()
    answered = django_filters.BooleanFilter(method="filter_answered")

    class Meta:
        model = OrderComment
        fields = ["store", "order", "referer", "rate"]

    def filter_answered(self, queryset, name, value):
        return queryset.exclude(reply="") if value else queryset.filter(reply="")


class CommentReplySerializer(serializers.Serializer):
    reply = serializers.CharField(max_length=MAX_COMMENT_REPLY)


class OrderCommentViewSet(IntegerIdLookupMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                          viewsets.GenericViewSet):
    """Buyers' ratings and comments on orders, and the seller's reply (one per comment)."""

    serializer_class = OrderCommentSerializer
    filterset_class = OrderCommentFilter
    filter_backends = [DjangoFilterBackend, filters.OrderingFilter]
    ordering_fields = ["created_at", "rate"]
    required_perms = {"reply": ["inbox.reply_message"]}

    def get_queryset(self):
        return selectors.comments_for_user(self.request.user).order_by("-created_at", "-id")

    @extend_schema(request=CommentReplySerializer, responses={200: OrderCommentSerializer, 400: DetailSerializer,
                                                               409: DetailSerializer, 502: DetailSerializer})
    @action(detail=True, methods=["post"])
    def reply(self, request, pk=None):
        comment = self.get_object()
        data = CommentReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        comment = services.comment_reply(comment=comment, text=data.validated_data["reply"], user=request.user)
        return Response(OrderCommentSerializer(comment).data)


class SyncMessagesSerializer(serializers.Serializer):
    what = serializers.ChoiceField(choices=["messages", "comments"], default="messages")
    since = serializers.DateTimeField(required=False, allow_null=True)


class StoreSyncMessagesView(APIView):
    required_perms = {"POST": ["stores.sync_store"]}

    @extend_schema(request=SyncMessagesSerializer, responses={202: inline_serializer("SyncMessagesStarted", {
        "run_id": serializers.IntegerField(), "state": serializers.CharField(), "kind": serializers.CharField()}),
        409: DetailSerializer})
    def post(self, request, pk: int):
        store = get_object_or_404(stores_for_user(request.user), pk=pk)
        data = SyncMessagesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.inbox_sync_request(store=store, what=data.validated_data["what"],
                                          since=data.validated_data.get("since"), trigger="api")
        run.refresh_from_db()
        return Response({"run_id": run.pk, "state": run.state, "kind": run.kind}, status=status.HTTP_202_ACCEPTED)
