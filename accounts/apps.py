from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Access to the connector: API tokens (hashed, expiring, revocable). Imports no other app of the project."""

    name = "accounts"
    verbose_name = "Access"
