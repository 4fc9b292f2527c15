from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The seller console: the admin's home page (dashboard), its navigation by task and the figures the
    dashboard and ``/api/dashboard/`` share. It sits above every domain app and reads from them."""

    name = "console"
    verbose_name = "Seller console"

    def ready(self):
        from console import listspeed

        listspeed.install()  # unfold's list headers once per page, not once per row (issue 14)
