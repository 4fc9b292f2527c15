"""Create, change or list a store's carrier accounts. Secrets are shown masked, never printed whole.

    manage.py carrier_account --store 1 --carrier colissimo --name "Colissimo" \\
        --set contract_number=123456 --set password=? --set laposte_api_key=? --set label_format=ZPL
    manage.py carrier_account --account 3 --set test_mode=false \\
        --set 'services_by_method={"21": "colissimo_home_with_signature"}'
    manage.py carrier_account --store 1            # list

A value of "?" is asked for without echo (keeps secrets out of the shell history and the process list).
"""

from __future__ import annotations

import getpass
import json

from django.core.management.base import BaseCommand, CommandError

from fnac_connector.errors import ServiceError
from fulfilment import accounts
from fulfilment.models import CarrierAccount
from stores.models import Store

BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_pairs(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--set {pair!r} must be key=value")
        if key in ("active", "test_mode"):
            if value.strip().lower() not in BOOLEANS:
                raise CommandError(f"--set {key}= must be true or false, got {value!r}")
            values[key] = BOOLEANS[value.strip().lower()]
        elif key == "services_by_method":
            try:
                values[key] = json.loads(value)
            except ValueError as exc:
                raise CommandError(f"--set services_by_method= must be a JSON object: {exc}") from None
        elif value == "?":
            values[key] = getpass.getpass(f"{key}: ")
        else:
            values[key] = value
    return values


def describe(account: CarrierAccount) -> str:
    secrets = ", ".join(f"{k}={v}" for k, v in account.masked_secrets().items()) or "no secrets"
    settings = ", ".join(f"{k}={v}" for k, v in (account.settings or {}).items()) or "no settings"
    mode = "test platform" if account.test_mode else "production"
    state = "active" if account.active else "inactive"
    test = {None: "not tested", True: "last test OK", False: "last test FAILED"}[account.last_test_ok]
    return (f"#{account.pk} {account.name} [{account.carrier}, {state}, {mode}, {account.label_format}] "
            f"FNAC code {account.fnac_carrier_code or '-'}, service {account.service or 'default'}; {settings}; "
            f"{secrets}; {test}")


class Command(BaseCommand):
    help = "Create (--store --carrier --name), change (--account) or list (--store) carrier accounts."

    def add_arguments(self, parser):
        parser.add_argument("--store", type=int, help="store id")
        parser.add_argument("--account", type=int, help="account id, to change it")
        parser.add_argument("--carrier", choices=[c.value for c in CarrierAccount.CarrierName])
        parser.add_argument("--name", help="the account's name (create)")
        parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="a setting: contract_number, account_number, client_id, password, laposte_api_key, "
                                 "client_secret, service, services_by_method (JSON), fnac_carrier_code, label_format "
                                 "(PDF|ZPL), test_mode, active, default_weight_kg, default_length_cm...")

    def handle(self, *args, **opts):
        values = parse_pairs(opts["set"])
        try:
            if opts["account"]:
                account = CarrierAccount.objects.filter(pk=opts["account"]).first()
                if account is None:
                    raise CommandError(f"no carrier account with id {opts['account']}")
                if opts["name"]:
                    values["name"] = opts["name"]
                account = accounts.carrier_account_update(account=account, values=values)
                self.stdout.write(f"updated {describe(account)}")
                return
            store = Store.objects.filter(pk=opts["store"]).first() if opts["store"] else None
            if store is None:
                raise CommandError("--store (an existing store id) or --account is required")
            if not opts["carrier"]:
                for account in CarrierAccount.objects.filter(store=store):
                    self.stdout.write(describe(account))
                return
            if not opts["name"]:
                raise CommandError("--name is required to create an account")
            account = accounts.carrier_account_create(store=store, carrier=opts["carrier"],
                                                      values={"name": opts["name"], **values})
            self.stdout.write(f"created {describe(account)}")
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
