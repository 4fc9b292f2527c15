from django.apps import AppConfig


class ClaimsConfig(AppConfig):
    name = "claims"
    verbose_name = "Claims and refunds"

    def ready(self):
        from django.urls import reverse

        from orders import hooks as order_hooks
        from stores import hooks

        def initial_import(store, trigger):
            from claims.services import claims_sync_request

            claims_sync_request(store=store, trigger=f"connect:{trigger}", initial=True)

        hooks.on_connect(initial_import)
        hooks.schedule(hooks.ScheduleSpec(
            job="claims_sync", func="claims.tasks.claims_sync_task", minutes=lambda s: s.status_interval_minutes,
            enabled=lambda s: s.sync_order_status_enabled, label="Buyer claims (FNAC incidents)"))
        from claims.admin import REFUND_PERMISSION, ClaimsOnOrderInline, refund_page
        from claims.refunds import REFUNDABLE_ORDER_STATES

        order_hooks.order_admin_inline(ClaimsOnOrderInline)
        order_hooks.order_admin_button(order_hooks.OrderButton(
            name="refund_lines", applies=lambda order: order.fnac_state in REFUNDABLE_ORDER_STATES,
            view=lambda model_admin, request, order: refund_page(model_admin, request, order),
            perms=(REFUND_PERMISSION,)))
        hooks.store_button("Sync Claims", lambda store: reverse("admin:claims_claim_sync_store", args=[store.pk]))
