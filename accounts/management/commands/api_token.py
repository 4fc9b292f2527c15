"""Operators' door for API tokens: create (the key is printed once), list, revoke."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts import selectors, services
from fnac_connector.errors import ServiceError


class Command(BaseCommand):
    help = ("API tokens (Authorization: Token <key>). `create USER [--days N]` prints a new key once; `list "
            "[--user USER]`; `revoke --prefix P | --user USER | --expired` deletes tokens (401 from then on).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token for USER and print its key once")
        create.add_argument("username")
        create.add_argument("--days", type=int, default=None,
                            help="validity in days (default: API_TOKEN_TTL_DAYS)")
        listing = sub.add_parser("list", help="list tokens: prefix, user, created, expiry")
        listing.add_argument("--user", dest="username", default=None)
        revoke = sub.add_parser("revoke", help="revoke tokens by key prefix, by user, or every expired one")
        which = revoke.add_mutually_exclusive_group(required=True)
        which.add_argument("--prefix", help="the first characters of the key (at least 8, as `list` shows)")
        which.add_argument("--user", dest="username", help="every token of this user")
        which.add_argument("--expired", action="store_true", help="every expired token")

    def handle(self, *args, **opts):
        return getattr(self, f"_{opts['action']}")(opts)

    def _user(self, username: str):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        return user

    def _create(self, opts):
        try:
            token, key = services.api_token_create(user=self._user(opts["username"]), days=opts["days"])
        except ServiceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(key)
        self.stderr.write(f"API token {token.prefix}… for {token.user}, expires "
                          f"{timezone.localtime(token.expiry):%Y-%m-%d %H:%M %Z}. The key above is shown only "
                          "now: only its hash is stored. Send it as `Authorization: Token <key>`.")

    def _list(self, opts):
        user = self._user(opts["username"]) if opts["username"] else None
        tokens = selectors.api_tokens(user=user)
        for token in tokens:
            expiry = timezone.localtime(token.expiry).strftime("%Y-%m-%d %H:%M") if token.expiry else "never"
            state = "expired" if token.is_expired else "active"
            self.stdout.write(f"{token.prefix}…  {token.user}  created "
                              f"{timezone.localtime(token.created):%Y-%m-%d %H:%M}  expires {expiry}  {state}")
        if not tokens:
            self.stderr.write("no API tokens")

    def _revoke(self, opts):
        if opts["prefix"] is not None:
            if len(opts["prefix"]) < 8:
                raise CommandError("--prefix: give at least the 8 characters `api_token list` shows")
            tokens = selectors.api_tokens(prefix=opts["prefix"])
        elif opts["username"]:
            tokens = selectors.api_tokens(user=self._user(opts["username"]))
        else:
            tokens = selectors.api_tokens(expired=True)
        count = services.api_tokens_revoke(tokens=tokens)
        if opts["prefix"] is not None and count == 0:
            raise CommandError(f"no API token starts with {opts['prefix']!r}")
        self.stdout.write(f"{count} API token(s) revoked")
