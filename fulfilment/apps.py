from django.apps import AppConfig
from django.conf import settings


class FulfilmentConfig(AppConfig):
    name = "fulfilment"
    verbose_name = "Fulfilment"

    def ready(self):
        from orders import hooks as order_hooks
        from stores import hooks

        def seed_carriers(store, trigger):
            from fulfilment.carriers import carriers_refresh_request

            carriers_refresh_request(store=store, trigger=f"connect:{trigger}")

        hooks.on_connect(seed_carriers)
        hooks.schedule(hooks.ScheduleSpec(
            job="wms_deliveries", func="fulfilment.tasks.wms_deliveries_task", minutes=lambda s: 1,
            enabled=lambda s: bool(s.wms_enabled and s.wms_webhook_url), label="Deliveries to the WMS"))
        hooks.schedule(hooks.ScheduleSpec(
            job="tracking", func="fulfilment.tasks.tracking_task",
            minutes=lambda s: settings.FULFILMENT_TRACKING_INTERVAL_MINUTES, label="Parcel tracking"))
        speed = float(getattr(settings, "SANDBOX_CARRIER_TRACKING_SPEED", 1.0))
        if speed != 1.0:  # the demo: simulated parcels move faster (the factory is where options are passed)
            from fnac_connector.carriers import register
            from fnac_connector.carriers.sandbox import SandboxCarrier

            register("sandbox", lambda: SandboxCarrier(tracking_speed=speed), replace=True)
        # one job for the installation that wakes only the stores with a confirmation to send again (issue 14: a
        # schedule per store queued 200 tasks every 10 minutes that mostly found nothing to do)
        hooks.global_schedule(hooks.GlobalScheduleSpec(
            job="shipments_retry_sweep", func="fulfilment.tasks.shipments_retry_sweep_task", minutes=lambda: 10,
            label="Shipment confirmations that could not reach FNAC (every store with one to send again)"))

        from fulfilment import admin as fadmin
        from fulfilment.cancellation import delivery_cancellation_acknowledged
        from fulfilment.deliveries import on_acknowledged
        from fulfilment.models import WmsDelivery

        on_acknowledged(WmsDelivery.Kind.CANCELLED, delivery_cancellation_acknowledged)

        hooks.store_admin_action(fadmin.refresh_carriers_action)
        from fulfilment.forms import carrier_choices

        hooks.on_carrier_choices(lambda store: carrier_choices(store)[1:])  # without the blank choice
        for action in fadmin.ORDER_ACTIONS:
            order_hooks.order_admin_action(action)
        for inline in fadmin.ORDER_INLINES:
            order_hooks.order_admin_inline(inline)
        for button in fadmin.ORDER_BUTTONS:
            order_hooks.order_admin_button(button)
