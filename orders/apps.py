from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders"

    def ready(self):
        from django.urls import reverse

        from stores import hooks

        def initial_import(store, trigger):
            from orders.services import SyncMode, orders_sync_request

            if store.sync_orders_enabled:
                orders_sync_request(store=store, mode=SyncMode.FULL, trigger=f"connect:{trigger}")

        hooks.on_connect(initial_import)
        hooks.schedule(hooks.ScheduleSpec(
            job="orders_new", func="orders.tasks.orders_new_task", minutes=lambda s: s.orders_interval_minutes,
            enabled=lambda s: s.sync_orders_enabled, label="New orders"))
        hooks.schedule(hooks.ScheduleSpec(
            job="orders_status", func="orders.tasks.orders_status_task",
            minutes=lambda s: s.status_interval_minutes, enabled=lambda s: s.sync_order_status_enabled,
            label="Order status updates"))
        hooks.schedule(hooks.ScheduleSpec(
            job="orders_sweep", func="orders.tasks.orders_sweep_task", minutes=lambda s: 24 * 60,
            enabled=lambda s: s.sync_orders_enabled or s.sync_order_status_enabled,
            label="Daily safety sweep of the last days' orders"))
        from orders.admin import sync_orders_action
        from orders.services import orders_stock_arrived

        hooks.on_stock_arrived(orders_stock_arrived)

        hooks.store_admin_action(sync_orders_action)
        hooks.store_button("Sync Orders", lambda store: reverse("admin:orders_order_sync_store", args=[store.pk]))
