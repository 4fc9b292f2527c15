from django.apps import AppConfig


class InboxConfig(AppConfig):
    """After-sale conversations: FNAC buyer messages (import, reply, read/archive, response clock) and order
    comments. Sits above fulfilment, beside claims and pricing; plugs into stores and orders through their hooks."""

    name = "inbox"
    verbose_name = "Buyer messages"

    def ready(self):
        from django.urls import reverse

        from orders import hooks as order_hooks
        from stores import hooks

        def initial_import(store, trigger):
            from inbox.services import inbox_sync_request

            # 90 days back on connect (no cursor yet), messages then comments
            inbox_sync_request(store=store, what="messages", trigger=f"connect:{trigger}")
            inbox_sync_request(store=store, what="comments", trigger=f"connect:{trigger}")

        hooks.on_connect(initial_import)
        hooks.schedule(hooks.ScheduleSpec(
            job="messages_new", func="inbox.tasks.messages_new_task", minutes=lambda s: 5,
            label="Buyer messages"))
        hooks.schedule(hooks.ScheduleSpec(
            job="order_comments_new", func="inbox.tasks.comments_new_task", minutes=lambda s: 60,
            label="Order comments"))
        hooks.global_schedule(hooks.GlobalScheduleSpec(
            job="inbox_replies_resume", func="inbox.tasks.replies_resume_task", minutes=lambda: 5,
            label="Check replies whose outcome is unknown (sent once)"))
        from inbox import admin as inbox_admin

        hooks.store_admin_action(inbox_admin.sync_messages_action)
        hooks.store_button("Sync Messages",
                           lambda store: reverse("admin:inbox_message_sync_store", args=[store.pk]))
        hooks.store_figure("Buyer messages overdue", inbox_admin.store_overdue_figure)
        order_hooks.order_admin_inline(inbox_admin.OrderMessagesInline)
        order_hooks.order_admin_inline(inbox_admin.OrderCommentsInline)
