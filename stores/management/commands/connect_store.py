"""Create (or update) a store and connect it. Keys come from the environment or a prompt, never argv."""

from __future__ import annotations

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from stores import services
from stores.models import Store


class Command(BaseCommand):
    help = ("Connect an FNAC Darty store. Reads FNAC_KEY and MIRAKL_API_KEY from the environment, or prompts "
            "for them. Prints the store id and exits 0 when connected; exits 1 with the reason when not.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--partner-id", required=True)
        parser.add_argument("--shop-id", required=True)
        parser.add_argument("--fnac-url", default=None, help="FNAC XML API base URL (default: production)")
        parser.add_argument("--mirakl-url", default=None, help="Mirakl API base URL")
        parser.add_argument("--user", action="append", default=[], help="username allowed on the store")

    def _secret(self, env_name: str, prompt: str) -> str:
        value = os.environ.get(env_name, "")
        if not value and os.isatty(0):
            value = getpass.getpass(f"{prompt}: ")
        if not value:
            raise CommandError(f"{env_name} is not set (and no terminal to prompt on)")
        return value.strip()

    def handle(self, *args, **opts):
        fnac_key = self._secret("FNAC_KEY", "FNAC key")
        mirakl_key = self._secret("MIRAKL_API_KEY", "Mirakl API key")
        from django.contrib.auth import get_user_model

        users = list(get_user_model().objects.filter(username__in=opts["user"]))
        missing = set(opts["user"]) - {u.username for u in users}
        if missing:
            raise CommandError(f"unknown user(s): {', '.join(sorted(missing))}")
        urls = {k: v for k, v in (("fnac_base_url", opts["fnac_url"]), ("mirakl_base_url", opts["mirakl_url"]))
                if v}
        try:
            store = Store.objects.filter(name=opts["name"]).first()
            if store is None:
                store = services.store_create(name=opts["name"], partner_id=opts["partner_id"],
                                              shop_id=opts["shop_id"], users=users, **urls)
            else:
                store = services.store_update(store=store, data={"partner_id": opts["partner_id"],
                                                                 "shop_id": opts["shop_id"], **urls})
                if users:
                    store.users.add(*users)
            store = services.store_connect(store=store, fnac_key=fnac_key, mirakl_api_key=mirakl_key,
                                           trigger="command")
        except services.ConnectFailed as exc:
            for name, message in (exc.details or {}).items():
                self.stderr.write(f"{name}: {message}")
            raise CommandError(f"store not connected: {exc}") from None
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(str(store.pk))
