"""Creating and revoking API tokens; the admin and the ``api_token`` command call these."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from accounts.models import ApiToken
from fnac_connector.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_DAYS = 3650


def api_token_create(*, user, days: int | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` valid ``days`` (default ``API_TOKEN_TTL_DAYS``). Returns the row and the raw key:
    only its SHA-512 digest is stored, so the key must be handed over now and cannot be shown again."""
    days = settings.API_TOKEN_TTL_DAYS if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days: must be between 1 and {MAX_DAYS}, got {days}", details={"days": days})
    if not user.is_active:
        raise InvalidInput(f"user: {user} is inactive; an API token would be refused",
                           details={"user": str(user)})
    token, key = ApiToken.objects.create(user=user, expiry=dt.timedelta(days=days))
    log.info("API token %s… created for %s, expires %s", token.prefix, user, token.expiry.isoformat())
    return token, key


@transaction.atomic
def api_tokens_revoke(*, tokens: QuerySet[ApiToken]) -> int:
    """Revoke (delete) ``tokens``: a request with one of them is answered 401 from now on. Returns how many."""
    revoked = list(tokens.select_related("user"))
    for token in revoked:
        log.info("API token %s… of %s revoked", token.prefix, token.user)
    ApiToken.objects.filter(pk__in=[t.pk for t in revoked]).delete()
    return len(revoked)
