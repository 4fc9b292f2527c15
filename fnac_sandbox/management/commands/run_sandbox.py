"""``manage.py run_sandbox``: run the sandbox marketplace until Ctrl-C (no database needed)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from fnac_sandbox.faults import FAULT_KINDS
from fnac_sandbox.server import (
    DEFAULT_KEY,
    DEFAULT_MIRAKL_KEY,
    DEFAULT_PARTNER_ID,
    DEFAULT_SHOP_ID,
    SandboxCredentials,
    SandboxServer,
)


class Command(BaseCommand):
    help = "Run the sandbox FNAC Darty marketplace (FNAC XML API + Mirakl MCM API) until Ctrl-C."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--offers", type=int, default=0, help="offers to seed")
        parser.add_argument("--orders", type=int, default=0, help="orders to seed")
        parser.add_argument("--duplicate-skus", type=int, default=0)
        parser.add_argument("--fault-rate", type=float, default=0.0)
        parser.add_argument(
            "--fault-kinds", default="", help=f"comma separated, among {','.join(FAULT_KINDS)}"
        )
        parser.add_argument("--partner-id", default=DEFAULT_PARTNER_ID)
        parser.add_argument("--shop-id", default=DEFAULT_SHOP_ID)
        parser.add_argument("--key", default=DEFAULT_KEY)
        parser.add_argument("--mirakl-key", default=DEFAULT_MIRAKL_KEY)
        parser.add_argument("--token-ttl", type=float, default=3600)
        parser.add_argument("--batch-delay", type=float, default=2.0,
                            help="seconds an offers_update batch takes to be final (ACTIVE, then RUNNING); FNAC's "
                                 "take minutes: --batch-delay 180 --batch-jitter 0.5 replays that")
        parser.add_argument("--batch-jitter", type=float, default=0.0,
                            help="spread of each batch's duration, a fraction of --batch-delay in [0, 1) (0.5: from "
                                 "half to one and a half times it), drawn from --seed")
        parser.add_argument("--import-delay", type=float, default=3.0)
        parser.add_argument("--simulate", action="store_true", default=True)
        parser.add_argument("--no-simulate", dest="simulate", action="store_false")
        parser.add_argument("--tick-every", type=float, default=3.0, help="seconds between simulation ticks")
        parser.add_argument("--shops", type=int, default=0,
                            help="more shops served on the same URL, each with its own credentials (listed at "
                                 "/sandbox/shops), catalogue and orders")
        parser.add_argument("--shop-offers", type=int, default=0, help="offers seeded in each of --shops")
        parser.add_argument("--shop-orders", type=int, default=0, help="orders seeded in each of --shops")
        parser.add_argument("--run-for", type=float, default=None, help=argparse_suppress())

    def handle(self, *args, **opts):
        kinds = [k.strip() for k in opts["fault_kinds"].split(",") if k.strip()] or None
        creds = SandboxCredentials(
            partner_id=opts["partner_id"],
            shop_id=opts["shop_id"],
            key=opts["key"],
            mirakl_key=opts["mirakl_key"],
        )
        try:
            server = SandboxServer(
                host=opts["host"],
                port=opts["port"],
                seed=opts["seed"],
                offers=0,
                orders=0,
                fault_rate=opts["fault_rate"],
                fault_kinds=kinds,
                token_ttl=opts["token_ttl"],
                batch_delay=opts["batch_delay"],
                batch_jitter=opts["batch_jitter"],
                import_delay=opts["import_delay"],
                simulate=opts["simulate"],
                credentials=creds,
                simulate_interval=opts["tick_every"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["offers"]:
            server.seed_offers(opts["offers"], duplicate_skus=opts["duplicate_skus"])
        if opts["orders"]:
            server.seed_orders(opts["orders"])
        if opts["shops"]:
            try:
                server.add_shops(opts["shops"], offers=opts["shop_offers"], orders=opts["shop_orders"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        try:
            server.start()
        except OSError as exc:
            raise CommandError(f"cannot listen on {opts['host']}:{opts['port']}: {exc}") from None
        status = server.status()
        self.stdout.write(
            "FNAC Darty sandbox marketplace\n"
            f"  FNAC XML API : {server.fnac_url}   (POST <url><service>)\n"
            f"  Mirakl API   : {server.mirakl_url}/api/...\n"
            f"  Control      : {server.base_url}/sandbox/status\n"
            f"  partner_id   : {creds.partner_id}\n"
            f"  shop_id      : {creds.shop_id}\n"
            f"  key          : {creds.key}\n"
            f"  mirakl key   : {creds.mirakl_key}\n"
            f"  seed {opts['seed']}, {status['offers']} offers, {status['orders']} orders, "
            f"{status['shops']} more shops (GET /sandbox/shops), "
            f"faults {server.faults.rate} {','.join(server.faults.kinds)}, "
            f"simulation {'on' if opts['simulate'] else 'off'}\n"
            f"  offers_update batches final after {opts['batch_delay']:g} s ± {opts['batch_jitter']:.0%} "
            "(ACTIVE, then RUNNING)\n"
            "Ctrl-C to stop.\n"
        )
        self.stdout.flush()
        deadline = None if opts["run_for"] is None else time.monotonic() + opts["run_for"]
        try:
            while deadline is None or time.monotonic() < deadline:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
            self.stdout.write("sandbox stopped\n")


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS
