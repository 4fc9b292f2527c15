"""The inbox in the seller console: buyer messages (unanswered first, the response clock, filters per store, type
and state), the conversation of an order with the reply form (FNAC's subjects as words), order comments with the
seller's reply, panels on the order page, and "Sync Messages" for stores."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from unfold.admin import ModelAdmin
from unfold.decorators import action
from unfold.enums import ActionVariant
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextareaWidget

from fnac_connector.errors import ServiceError
from fnac_connector.marketplace.fnac.messages import MAX_COMMENT_REPLY, MAX_MESSAGE_BODY, MESSAGE_SUBJECTS
from inbox import selectors, services
from inbox.models import Message, OrderComment, SendState
from stores.admin import ReadOnlyInline, StoreFilter, StoreScopedAdminMixin, badge, store_sync_confirm, stores_each

WARN, TODO, OK, GREY = "#d93025", "#f29900", "#1e8e3e", "#80868b"
SEND_COLOURS = {SendState.PENDING: TODO, SendState.UNKNOWN: TODO, SendState.SENT: OK, SendState.REFUSED: WARN,
                SendState.FAILED: WARN}


def _state_badge(message: Message, now=None):
    if message.direction == Message.Direction.OUTGOING:
        return badge(message.get_send_state_display(), SEND_COLOURS.get(message.send_state, GREY))
    if message.awaiting_reply:
        if selectors.is_overdue(message, now):
            return badge(f"⚠ Overdue ({timesince(message.created_at)})", WARN)
        return badge("Waiting for your answer", TODO)
    if message.archived:
        return badge("Archived", GREY)
    if message.answered_at:
        return badge("Answered", OK)
    return ""


# ---------------------------------------------------------------- store side: figure and Sync Messages
def store_overdue_figure(store):
    """The store page's response clock: overdue buyer messages, linking to them in the inbox."""
    n = selectors.overdue_count(store=store)
    url = f"{reverse('admin:inbox_message_changelist')}?store={store.pk}&state=overdue"
    text = f"{n} (answer within {store.answer_within_hours} h)"
    return format_html('<a href="{}">{}</a>', url, badge(text, WARN) if n else text)


# ---------------------------------------------------------------- store side: Sync Messages
@admin.action(description="Sync Messages", permissions=["sync"])
def sync_messages_action(modeladmin, request, queryset):
    started = [f"{store.name} (run #{run.pk})" for store, run in stores_each(
        modeladmin, request, queryset, lambda store: services.inbox_sync_request(store=store, trigger="admin"))]
    if started:
        modeladmin.message_user(request, "Message import started for " + ", ".join(started) + ".", messages.SUCCESS)


# ---------------------------------------------------------------- filters
class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue (past the store's answer time)"), ("awaiting", "Waiting for your answer"),
                ("unread", "Unread"), ("answered", "Answered"), ("archived", "Archived"),
                ("replies_problem", "Replies refused or not sent")]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "overdue":
            return queryset.filter(selectors.overdue_q(stores=model_stores(request)))
        if value == "awaiting":
            return queryset.filter(awaiting_reply=True)
        if value == "unread":
            return queryset.filter(direction=Message.Direction.INCOMING, is_read=False)
        if value == "answered":
            return queryset.filter(direction=Message.Direction.INCOMING, answered_at__isnull=False)
        if value == "archived":
            return queryset.filter(archived=True)
        if value == "replies_problem":
            return queryset.filter(send_state__in=[SendState.REFUSED, SendState.FAILED, SendState.UNKNOWN])
        return queryset


def model_stores(request):
    from stores.selectors import stores_for_user

    return stores_for_user(request.user)


class OrderFilter(admin.SimpleListFilter):
    """The conversation of one FNAC order (the order page links here)."""

    title = "order"
    parameter_name = "referer"

    def lookups(self, request, model_admin):
        return [(self.value(), self.value())] if self.value() else []

    def queryset(self, request, queryset):
        return queryset.filter(referer=self.value()) if self.value() else queryset


# ---------------------------------------------------------------- list actions
def _mark(mark: str, done_text: str):
    def run(modeladmin, request, queryset):
        chosen = list(queryset.filter(direction=Message.Direction.INCOMING).select_related("store"))
        try:
            done = services.messages_mark(messages=chosen, mark=mark)
        except ServiceError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            return
        modeladmin.message_user(request, f"{done} message(s) {done_text} on FNAC.", messages.SUCCESS)

    run.__name__ = f"mark_{mark}"
    return admin.action(description=f"{done_text.capitalize()} on FNAC", permissions=["change"])(run)


mark_read, mark_unread = _mark("read", "marked read"), _mark("unread", "marked unread")
archive, unarchive = _mark("archive", "archived"), _mark("unarchive", "unarchived")


class ReplyForm(forms.Form):
    subject = forms.ChoiceField(choices=[("", "Choose a subject…"), *MESSAGE_SUBJECTS.items()],
                                widget=UnfoldAdminSelectWidget, help_text="FNAC files your reply under this subject.")
    body = forms.CharField(label="Your reply", max_length=MAX_MESSAGE_BODY,
                           widget=UnfoldAdminTextareaWidget(attrs={"rows": 6}),
                           help_text="Sent to the buyer through FNAC, once.")


class CommentReplyForm(forms.Form):
    reply = forms.CharField(label="Your reply", max_length=MAX_COMMENT_REPLY,
                            widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}),
                            help_text=f"Shown under the buyer's comment on FNAC; at most {MAX_COMMENT_REPLY} "
                                      "characters; one reply per comment.")


# ---------------------------------------------------------------- the inbox
@admin.register(Message)
class MessageAdmin(StoreScopedAdminMixin, ModelAdmin):
    list_display = ["when", "state_badge", "sender_text", "about_text", "subject_text", "read_text", "store"]
    list_display_links = ["when", "subject_text"]
    list_select_related = ["store", "order"]
    list_filter = [StoreFilter, StateFilter, "about", "sender", "direction", OrderFilter]
    search_fields = ["referer", "subject", "sender_name", "body"]
    list_per_page = 50
    show_full_result_count = False
    actions = [mark_read, mark_unread, archive, unarchive]
    actions_detail = ["reply_button"]
    list_before_template = "admin/inbox/message/list_before.html"
    readonly_fields = ["store", "state_badge", "about_text", "sender_text", "subject", "body_html", "created_at",
                       "read_text", "archived", "answer_text", "send_text", "conversation_html"]
    fieldsets = [
        (None, {"fields": ["store", "state_badge", "about_text", "sender_text", "created_at", "read_text",
                           "archived"]}),
        ("Message", {"fields": ["subject", "body_html", "answer_text", "send_text"]}),
        ("Conversation", {"fields": ["conversation_html"]}),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # FNAC's record: archive instead

    def has_reply_permission(self, request, obj=None):
        return request.user.has_perm("inbox.reply_message")

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("inbox.change_message")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store", "order")

    def changelist_view(self, request, extra_context=None):
        scoped = self.get_queryset(request).filter(direction=Message.Direction.INCOMING)
        oldest = selectors.oldest_unanswered(scoped)
        extra_context = {**(extra_context or {}), "oldest_unanswered": oldest,
                         "oldest_age": timesince(oldest) if oldest else "",
                         "awaiting_count": scoped.filter(awaiting_reply=True).count(),
                         "overdue_count": scoped.filter(selectors.overdue_q(stores=model_stores(request))).count()}
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False, "show_delete": False}
        return super().change_view(request, object_id, form_url, extra_context)

    # ------------------------------------------------------------ columns
    @admin.display(description="Written", ordering="created_at")
    def when(self, message):
        return format_html("{}<br><span class='text-xs'>{} ago</span>",
                           timezone.localtime(message.created_at).strftime("%d/%m/%Y %H:%M"),
                           timesince(message.created_at))

    @admin.display(description="State")
    def state_badge(self, message):
        return _state_badge(message) or "—"

    @admin.display(description="From", ordering="sender")
    def sender_text(self, message):
        who = message.get_sender_display() or "Unknown sender"
        return f"{who} ({message.sender_name})" if message.sender_name else who

    @admin.display(description="About", ordering="referer")
    def about_text(self, message):
        if message.about == Message.About.OFFER:
            return f"Offer {message.referer}"
        if message.order_id:
            return format_html('<a href="{}">Order {}</a>', reverse("admin:orders_order_change",
                                                                    args=[message.order_id]), message.referer)
        return format_html("Order {} {}", message.referer, badge("not imported yet", TODO))

    @admin.display(description="Subject")
    def subject_text(self, message):
        text = message.subject or message.body[:60]
        return format_html("{}<br><span class='text-xs'>{}</span>", text, message.body[:90])

    @admin.display(description="Read")
    def read_text(self, message):
        if message.direction == Message.Direction.OUTGOING:
            return "—"
        return "Read" if message.is_read else badge("Unread", "#1a73e8")

    @admin.display(description="Message")
    def body_html(self, message):
        return format_html('<div style="white-space:pre-wrap">{}</div>', message.body)

    @admin.display(description="Answer on FNAC")
    def answer_text(self, message):
        return message.fnac_answer or "—"

    @admin.display(description="Sending")
    def send_text(self, message):
        if message.direction != Message.Direction.OUTGOING:
            return "—"
        return format_html("{} {}", badge(message.get_send_state_display(), SEND_COLOURS.get(message.send_state,
                                                                                             GREY)),
                           message.send_error)

    @admin.display(description="Conversation")
    def conversation_html(self, message):
        rows = selectors.conversation(message)
        return format_html_join("", '<div style="margin:6px 0;padding:6px 10px;border-left:3px solid {};">'
                                    '<strong>{}</strong> · {} · {}<div style="white-space:pre-wrap">{}</div>{}</div>',
                                ((OK if m.direction == Message.Direction.OUTGOING else "#1a73e8",
                                  m.get_sender_display() or "Unknown sender", m.subject,
                                  timezone.localtime(m.created_at).strftime("%d/%m/%Y %H:%M"), m.body,
                                  _state_badge(m) or "") for m in rows))

    # ------------------------------------------------------------ the reply form
    def get_actions_detail(self, request, object_id):
        allowed = super().get_actions_detail(request, object_id)
        message = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if message is None or message.direction != Message.Direction.INCOMING or message.sender not in (
                Message.Sender.CLIENT, Message.Sender.CALLCENTER):
            return []
        return allowed

    @action(description="Reply…", url_path="reply", permissions=["reply"], icon="reply",
            variant=ActionVariant.PRIMARY)
    def reply_button(self, request, object_id):
        message = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if message is None:
            raise Http404("No such message among your stores.")
        back = reverse("admin:inbox_message_change", args=[message.pk])
        form = ReplyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.message_reply(message=message, subject_code=form.cleaned_data["subject"],
                                       body=form.cleaned_data["body"], user=request.user)
            except ServiceError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, "Reply sent to the buyer through FNAC.", messages.SUCCESS)
            return HttpResponseRedirect(back)
        return TemplateResponse(request, "admin/inbox/reply.html", {
            **self.admin_site.each_context(request), "title": f"Reply about {message.order_label}",
            "opts": Message._meta, "message": message, "conversation": selectors.conversation(message),
            "form": form, "back": back, "submit": "Send the reply"})

    # ------------------------------------------------------------ extra pages
    def get_urls(self):
        return [path("sync-store/<int:store_id>/", self.admin_site.admin_view(self.sync_store_view),
                     name="inbox_message_sync_store")] + super().get_urls()

    def sync_store_view(self, request, store_id):
        return store_sync_confirm(
            self, request, store_id, action="Sync Messages", template="admin/inbox/sync_store.html",
            start=lambda store, r: services.inbox_sync_request(store=store, trigger="admin"))


# ---------------------------------------------------------------- order comments
@admin.register(OrderComment)
class OrderCommentAdmin(StoreScopedAdminMixin, ModelAdmin):
    list_display = ["created_at", "rate_text", "client_name", "order_text", "comment", "reply_text", "store"]
    list_select_related = ["store", "order"]
    list_filter = [StoreFilter, "rate"]
    search_fields = ["referer", "client_name", "comment"]
    actions_detail = ["reply_button"]
    readonly_fields = ["store", "order_text", "rate_text", "client_name", "comment", "flags", "created_at",
                       "reply_text"]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_reply_permission(self, request, obj=None):
        return request.user.has_perm("inbox.reply_message")

    @admin.display(description="Rating", ordering="rate")
    def rate_text(self, comment):
        return "—" if comment.rate is None else f"{'★' * comment.rate}{'☆' * max(0, 5 - comment.rate)}"

    @admin.display(description="Order", ordering="referer")
    def order_text(self, comment):
        if comment.order_id:
            return format_html('<a href="{}">{}</a>', reverse("admin:orders_order_change", args=[comment.order_id]),
                               comment.referer)
        return f"{comment.referer} (order not imported yet)"

    @admin.display(description="Buyer said")
    def flags(self, comment):
        said = [(label, value) for label, value in (("received", comment.is_received), ("fast", comment.is_fast),
                                                    ("well packed", comment.is_well_packed),
                                                    ("in good shape", comment.is_good_shape)) if value is not None]
        return ", ".join(f"{label}: {'yes' if value else 'no'}" for label, value in said) or "—"

    @admin.display(description="Your reply")
    def reply_text(self, comment):
        if comment.reply:
            return comment.reply
        if comment.reply_state:
            return format_html("{} {}", badge(comment.get_reply_state_display(),
                                              SEND_COLOURS.get(comment.reply_state, GREY)), comment.reply_error)
        return badge("No reply", TODO)

    @action(description="Reply…", url_path="reply", permissions=["reply"], icon="reply",
            variant=ActionVariant.PRIMARY)
    def reply_button(self, request, object_id):
        comment = self.get_queryset(request).filter(pk=object_id).first() if str(object_id).isdigit() else None
        if comment is None:
            raise Http404("No such comment among your stores.")
        back = reverse("admin:inbox_ordercomment_change", args=[comment.pk])
        form = CommentReplyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                services.comment_reply(comment=comment, text=form.cleaned_data["reply"], user=request.user)
            except ServiceError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, "Reply sent through FNAC.", messages.SUCCESS)
            return HttpResponseRedirect(back)
        return TemplateResponse(request, "admin/inbox/reply.html", {
            **self.admin_site.each_context(request), "title": f"Reply to {comment.client_name}'s comment",
            "opts": OrderComment._meta, "comment": comment, "form": form, "back": back,
            "submit": "Send the reply"})


# ---------------------------------------------------------------- panels on the order page (orders.hooks)
class OrderMessagesInline(ReadOnlyInline):
    model = Message
    fk_name = "order"
    verbose_name_plural = "buyer messages"
    fields = ["created_at", "sender_text", "subject", "body_text", "state_text", "open_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store").order_by("created_at", "id")

    @admin.display(description="From")
    def sender_text(self, message):
        return message.get_sender_display() or "—"

    @admin.display(description="Message")
    def body_text(self, message):
        return format_html('<div style="white-space:pre-wrap;max-width:40rem">{}</div>', message.body)

    @admin.display(description="State")
    def state_text(self, message):
        return _state_badge(message) or "—"

    @admin.display(description="")
    def open_link(self, message):
        target = message.reply_to_id or message.pk
        label = "Open" if message.direction == Message.Direction.OUTGOING else "Open and reply"
        return format_html('<a href="{}">{}</a>', reverse("admin:inbox_message_change", args=[target]), label)


class OrderCommentsInline(ReadOnlyInline):
    model = OrderComment
    fk_name = "order"
    verbose_name_plural = "buyer's rating and comment"
    fields = ["created_at", "rate", "client_name", "comment", "reply_text", "open_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("store")

    @admin.display(description="Your reply")
    def reply_text(self, comment):
        return comment.reply or comment.get_reply_state_display() or "No reply yet"

    @admin.display(description="")
    def open_link(self, comment):
        return format_html('<a href="{}">Open and reply</a>', reverse("admin:inbox_ordercomment_change",
                                                                    args=[comment.pk]))
