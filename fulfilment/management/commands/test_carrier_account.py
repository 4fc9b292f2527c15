"""Test connection of a carrier account: one cheap authenticated call to the carrier (see the README's Carriers)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from fulfilment.accounts import carrier_account_test
from fulfilment.models import CarrierAccount


class Command(BaseCommand):
    help = "Check a carrier account's credentials with the carrier; exits non-zero when the carrier refuses them."

    def add_arguments(self, parser):
        parser.add_argument("--account", type=int, required=True, help="carrier account id")

    def handle(self, *args, **opts):
        account = CarrierAccount.objects.filter(pk=opts["account"]).first()
        if account is None:
            raise CommandError(f"no carrier account with id {opts['account']}")
        account = carrier_account_test(account=account)
        if not account.last_test_ok:
            raise CommandError(f"{account.name}: {account.last_test_message}")
        self.stdout.write(f"{account.name}: {account.last_test_message}")
