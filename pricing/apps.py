from django.apps import AppConfig


class PricingConfig(AppConfig):
    name = "pricing"
    verbose_name = "Competitive pricing"

    def ready(self) -> None:
        from pricing import watch
        from stores import hooks

        # the watch reads competitor prices, then applies the stores' enabled repricing rules
        hooks.schedule(hooks.ScheduleSpec(
            job="price_watch", func="pricing.tasks.price_watch_schedule_task",
            minutes=lambda store: watch.tick_minutes(), enabled=lambda store: store.sync_prices_enabled,
            label="Competitor price watch and repricing"))
        from pricing import admin_hooks

        admin_hooks.register()
