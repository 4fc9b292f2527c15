"""API tokens: django-rest-knox's table (SHA-512 digests, an expiry), shown and revoked as "API tokens"."""

from __future__ import annotations

from django.utils import timezone
from knox.models import AuthToken

PREFIX_SHOWN = 8  # characters of a key the admin and the commands show, enough to tell tokens apart


class ApiToken(AuthToken):
    """A proxy over knox's AuthToken: the raw key is never stored; ``token_key`` keeps its first 15 characters
    so a presented key finds its row, of which only the first 8 are ever shown."""

    class Meta:
        proxy = True
        verbose_name = "API token"
        verbose_name_plural = "API tokens"
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @property
    def prefix(self) -> str:
        return self.token_key[:PREFIX_SHOWN]

    @property
    def is_expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()
