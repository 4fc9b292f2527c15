from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The seller console: the admin's home page (dashboard), its navigation by task and the figures the
    dashboard and ``/api/dashboard/`` share. It sits above every domain app and reads from them."""

    name = "console"
    verbose_name = "Seller console"
