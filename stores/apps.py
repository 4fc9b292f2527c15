from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores"

    def ready(self):
        from stores import checks  # noqa: F401  (registers system checks)
