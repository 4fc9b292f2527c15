from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import ApiToken


def api_tokens(*, user=None, prefix: str = "", expired: bool | None = None) -> QuerySet[ApiToken]:
    """Tokens, newest first; ``prefix``: the first characters of a key, as shown by the admin or the command."""
    qs = ApiToken.objects.select_related("user").order_by("-created")
    if user is not None:
        qs = qs.filter(user=user)
    if prefix:
        qs = qs.filter(token_key__startswith=prefix)
    if expired is True:
        qs = qs.filter(expiry__lte=timezone.now())
    elif expired is False:
        qs = qs.exclude(expiry__lte=timezone.now())
    return qs
