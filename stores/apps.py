from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_migrate


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores"

    def ready(self):
        from stores import (
            checks,  # noqa: F401  (registers system checks)
            hooks,
            services,
        )

        # a killed worker's run stays "running" until this closes it as failed ("worker died")
        hooks.global_schedule(hooks.GlobalScheduleSpec(
            job="runs_mark_stale", func="stores.tasks.runs_mark_stale_task",
            minutes=lambda: getattr(settings, "SYNC_STALE_CHECK_MINUTES", 2),
            label="Close sync runs whose worker died"))
        post_migrate.connect(services.global_schedules_on_migrate, sender=self,
                             dispatch_uid="stores.global_schedules")
