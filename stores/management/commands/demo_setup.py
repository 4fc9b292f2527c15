"""Used by `make demo`: an admin login, a demo store connected to the running sandbox and ready to ship, and
everything a seller needs to go on printed: the sandbox credentials, the API token (as Swagger takes it) and how
to add a second sandbox store."""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from axes.utils import reset as axes_reset
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts import selectors as token_selectors
from accounts import services as token_services
from fnac_connector.errors import ServiceError
from stores import services
from stores.models import Store, shop_id_owner

DEMO_USER, DEMO_PASSWORD = "admin", "fnac-demo"
DEMO_STORE = "Demo store (sandbox)"
# the demo store ships out of the box: a sender address, FNAC's Colissimo as default carrier, the sandbox carrier
# adapter that books parcels and returns a label (set only where the store has nothing yet: a seller's edits stay)
DEMO_SHIPPING = {
    "sender_name": "Entrepôt Démo", "sender_address1": "12 rue de la Paix", "sender_zipcode": "75002",
    "sender_city": "Paris", "sender_country": "FRA", "sender_phone": "+33102030405",
    "default_carrier_code": "SOCOLISSIMO", "carrier_adapter": "sandbox",
}
# one sandbox serves one shop, and one store per Shop ID: a second demo store needs a second sandbox with its own
SECOND_SHOP_ID = "5b0c1d2e-3f40-4a5b-9c6d-7e8f90a1b2c3"


class Command(BaseCommand):
    help = "Create the demo admin user and a demo store connected to the sandbox marketplace, ready to ship."

    def add_arguments(self, parser):
        parser.add_argument("--sandbox-url", default="http://127.0.0.1:8100")
        parser.add_argument("--web-url", default="http://127.0.0.1:8000")
        parser.add_argument("--second-sandbox-port", type=int, default=None,
                            help="port for a second sandbox (another shop) in the printed help; default: "
                                 "the sandbox's port + 1")

    def handle(self, *args, **opts):
        base = opts["sandbox_url"].rstrip("/")
        try:
            status = requests.get(f"{base}/sandbox/status", timeout=10).json()
        except (requests.RequestException, ValueError) as exc:
            raise CommandError(f"the sandbox is not answering at {base}: {exc}") from None
        creds = status["credentials"]
        user = self._demo_user()
        # only a hash of a key is stored: each run issues a new demo key and revokes the previous ones
        token_services.api_tokens_revoke(tokens=token_selectors.api_tokens(user=user))
        _, api_key = token_services.api_token_create(user=user)
        axes_reset(username=DEMO_USER)  # a lock left by failed sign-ins must not keep the demo login out
        store = self._demo_store(base, creds, user)
        try:
            services.store_connect(store=store, trigger="demo")
        except services.ConnectFailed as exc:
            raise CommandError(f"the demo store did not connect: {exc}") from None
        web = opts["web_url"].rstrip("/")
        parts = urlsplit(base)
        second_port = opts["second_sandbox_port"] or (parts.port or 80) + 1
        second = f"{parts.scheme}://{parts.hostname}:{second_port}"
        self.stdout.write(self.style.SUCCESS(
            "\n  fnac-connector demo is up\n"
            f"  Admin:      {web}/admin/\n"
            f"  Login:      {DEMO_USER} / {DEMO_PASSWORD}\n"
            f"  API docs:   {web}/api/docs/   (Authorize: paste the API token below exactly as printed)\n"
            f"  API token:  {api_key}   (shown only now; clients send "
            "'Authorization: Bearer <token>' or 'Authorization: Token <token>')\n"
            f"  Demo store: #{store.pk} {store.name}, connected to the sandbox at {base}; ships with "
            f"{store.default_carrier_code or 'no default carrier'} from {store.sender_address1 or 'no address'}, "
            f"{store.sender_zipcode} {store.sender_city} (carrier adapter: {store.carrier_adapter or 'none'})\n"))
        self.stdout.write(
            "\n  Sandbox marketplace (the values a seller types in Stores > Add store):\n"
            f"    FNAC API URL:    {base}/api.php/\n"
            f"    Mirakl API URL:  {base}\n"
            f"    Partner ID:      {creds['partner_id']}\n"
            f"    Shop ID:         {creds['shop_id']}\n"
            f"    FNAC key:        {creds['key']}\n"
            f"    Mirakl API key:  {creds['mirakl_key']}\n"
            "\n  A second sandbox store: a Shop ID belongs to one store, so it needs a shop of its own. Either add\n"
            "  one to this sandbox (POST /sandbox/shops, see fnac_sandbox/README.md), or start a second sandbox\n"
            "  (another port, seed and Shop ID) in another terminal:\n"
            f"    .venv/bin/python manage.py run_sandbox --port {second_port} --seed 2 --offers 300 --orders 40 "
            f"--shop-id {SECOND_SHOP_ID}\n"
            "  then add a store with:\n"
            f"    FNAC API URL:    {second}/api.php/\n"
            f"    Mirakl API URL:  {second}\n"
            f"    Shop ID:         {SECOND_SHOP_ID}\n"
            "    Partner ID, FNAC key, Mirakl API key: as above\n"
            f"  (scripts/demo.sh lets keys go to {parts.hostname}:{second_port}: MARKETPLACE_EXTRA_HOSTS.)\n")

    def _demo_user(self):
        User = get_user_model()
        user = User.objects.filter(username=DEMO_USER).first()
        if user is None:
            return User.objects.create_superuser(DEMO_USER, "admin@example.com", DEMO_PASSWORD)
        user.set_password(DEMO_PASSWORD)
        user.is_superuser = user.is_staff = user.is_active = True
        user.save()
        return user

    def _demo_store(self, base: str, creds: dict, user) -> Store:
        store = Store.objects.filter(name=DEMO_STORE).first()
        owner = shop_id_owner(creds["shop_id"], exclude_pk=store.pk if store else None)
        if owner is not None:  # one store per shop: the sandbox's shop is already another store
            raise CommandError(f"Shop ID {creds['shop_id']} is already connected as store '{owner.name}': "
                               f"rename that store to {DEMO_STORE!r}, or delete it, and run the demo again.")
        data = dict(partner_id=creds["partner_id"], shop_id=creds["shop_id"], fnac_base_url=f"{base}/api.php/",
                    mirakl_base_url=base)
        shipping = {f: v for f, v in DEMO_SHIPPING.items() if store is None or not getattr(store, f)}
        try:
            if store is None:
                return services.store_create(name=DEMO_STORE, fnac_key=creds["key"],
                                             mirakl_api_key=creds["mirakl_key"], users=[user], **data, **shipping)
            return services.store_update(store=store, data={**data, **shipping, "fnac_key": creds["key"],
                                                            "mirakl_api_key": creds["mirakl_key"]})
        except (ServiceError, ValidationError) as exc:
            raise CommandError(f"the demo store cannot be set up: {exc}") from None
