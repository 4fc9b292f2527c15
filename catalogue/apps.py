from django.apps import AppConfig


class CatalogueConfig(AppConfig):
    name = "catalogue"
    verbose_name = "Catalogue"

    def ready(self):
        from django.urls import reverse

        from stores import hooks

        def initial_import(store, trigger):
            from catalogue.imports import catalogue_sync_request

            if store.sync_catalogue_enabled:
                catalogue_sync_request(store=store, full=True, trigger=f"connect:{trigger}")

        hooks.on_connect(initial_import)
        hooks.schedule(hooks.ScheduleSpec(
            job="catalogue_refresh", func="catalogue.tasks.catalogue_refresh_task",
            minutes=lambda s: s.catalogue_interval_minutes, enabled=lambda s: s.sync_catalogue_enabled,
            label="Catalogue refresh (offers modified on FNAC)"))
        from catalogue.admin import sync_catalogue_action

        hooks.store_admin_action(sync_catalogue_action)
        hooks.store_button("Sync Catalogue",
                           lambda store: reverse("admin:catalogue_product_sync_store", args=[store.pk]))
