"""Used by `make demo`: an admin login and a demo store connected to the running sandbox."""

from __future__ import annotations

import requests
from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import selectors as token_selectors
from accounts import services as token_services
from stores import services
from stores.models import Store

DEMO_USER, DEMO_PASSWORD = "admin", "fnac-demo"
DEMO_STORE = "Demo store (sandbox)"


class Command(BaseCommand):
    help = "Create the demo admin user and a demo store connected to the sandbox marketplace."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-url", default="http://127.0.0.1:8100")
        parser.add_argument("--web-url", default="http://127.0.0.1:8000")

    def handle(self, *args, **opts):
        base = opts["sandbox_url"].rstrip("/")
        try:
            status = requests.get(f"{base}/sandbox/status", timeout=10).json()
        except (requests.RequestException, ValueError) as exc:
            raise CommandError(f"the sandbox is not answering at {base}: {exc}") from None
        creds = status["credentials"]
        User = get_user_model()
        user = User.objects.filter(username=DEMO_USER).first()
        if user is None:
            user = User.objects.create_superuser(DEMO_USER, "admin@example.com", DEMO_PASSWORD)
        else:
            user.set_password(DEMO_PASSWORD)
            user.is_superuser = user.is_staff = user.is_active = True
            user.save()
        # only a hash of a key is stored: each run issues a new demo key and revokes the previous ones
        token_services.api_tokens_revoke(tokens=token_selectors.api_tokens(user=user))
        _, api_key = token_services.api_token_create(user=user)
        axes_reset(username=DEMO_USER)  # a lock left by failed sign-ins must not keep the demo login out
        store = Store.objects.filter(name=DEMO_STORE).first()
        data = dict(partner_id=creds["partner_id"], shop_id=creds["shop_id"], fnac_base_url=f"{base}/api.php/",
                    mirakl_base_url=base, carrier_adapter="sandbox")
        if store is None:
            store = services.store_create(name=DEMO_STORE, fnac_key=creds["key"],
                                          mirakl_api_key=creds["mirakl_key"], users=[user], **data)
        else:
            store = services.store_update(store=store, data={**data, "fnac_key": creds["key"],
                                                             "mirakl_api_key": creds["mirakl_key"]})
        services.store_connect(store=store, trigger="demo")
        web = opts["web_url"].rstrip("/")
        self.stdout.write(self.style.SUCCESS(
            "\n  fnac-connector demo is up\n"
            f"  Admin:      {web}/admin/\n"
            f"  Login:      {DEMO_USER} / {DEMO_PASSWORD}\n"
            f"  API docs:   {web}/api/docs/\n"
            f"  API token:  {api_key}   (Authorization: Token <key>; shown only now)\n"
            f"  Demo store: #{store.pk} {store.name}, connected to the sandbox at {base}\n"))
