from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Stock and prices"

    def ready(self) -> None:
        from inventory import services
        from inventory.reconcile import interval_minutes as reconcile_minutes
        from stores import hooks

        # stores and the catalogue record offer changes and price/stock edits through inventory, not importing it
        hooks.on_offers_changed(services.offers_mark_changed)
        hooks.on_price_stock_write(services.price_stock_write)

        # the safety drain: one job for the installation that wakes the drains of the stores with pending rows,
        # not one schedule per store every minute (issue 14: 200 stores queued 200 empty drains a minute)
        hooks.global_schedule(hooks.GlobalScheduleSpec(
            job="stock_push_sweep", func="inventory.tasks.stock_push_sweep_task", minutes=lambda: 1,
            label="Stock and price push (safety drain of every store with pending changes)"))
        hooks.schedule(hooks.ScheduleSpec(
            job="stock_full_push", func="inventory.tasks.stock_full_push_task", minutes=lambda store: 24 * 60,
            enabled=lambda store: store.sync_stock_enabled or store.sync_prices_enabled,
            label="Daily full stock push"))
        hooks.schedule(hooks.ScheduleSpec(
            job="offers_reconcile", func="inventory.tasks.offers_reconcile_schedule_task",
            minutes=lambda store: reconcile_minutes(),
            enabled=lambda store: store.sync_stock_enabled or store.sync_prices_enabled,
            label="Offers reconciliation (FNAC vs pushed)"))
        from inventory import admin_hooks

        admin_hooks.register()  # store actions and buttons
