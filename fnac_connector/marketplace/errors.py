"""Typed errors shared by every marketplace client.

Clients raise only these; callers never see a raw ``requests`` or lxml exception.
"""

from __future__ import annotations


class MarketplaceError(Exception):
    """Base class. ``retryable`` tells a caller whether trying again later may succeed."""

    retryable = False

    def __init__(self, message: str = "", *, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class AuthError(MarketplaceError):
    """The credentials were refused (wrong key, unknown partner or shop, revoked token)."""

    def __init__(self, message: str = "", *, code: str = "", status_code: int | None = None):
        super().__init__(message, status_code=status_code)
        self.code = code


class RateLimited(MarketplaceError):
    """HTTP 429; ``retry_after`` is the server's hint in seconds, when it gave one."""

    retryable = True

    def __init__(self, message: str = "", *, retry_after: float | None = None, status_code: int | None = 429):
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class Unavailable(MarketplaceError):
    """The marketplace could not be reached or answered 5xx / timed out."""

    retryable = True


class Rejected(MarketplaceError):
    """The marketplace understood the request and refused it (FNAC status ERROR/FATAL, Mirakl 4xx)."""

    def __init__(self, message: str = "", *, code: str = "", status_code: int | None = None, errors=None):
        super().__init__(message, status_code=status_code)
        self.code = code
        # every (code, message) pair the marketplace returned, first one also in code/message
        self.errors = list(errors or [])

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class BadResponse(MarketplaceError):
    """The answer could not be understood: not XML/JSON, truncated, wrong root element."""

    retryable = True


class ResponseTooLarge(BadResponse):
    """The answer was larger than the transport's cap: reading stopped there, nothing of it was parsed.
    Not retried (the marketplace would send the same again); ``limit`` is the cap in bytes."""

    retryable = False

    def __init__(self, message: str = "", *, limit: int = 0, status_code: int | None = None):
        super().__init__(message, status_code=status_code)
        self.limit = limit


class TooManyPages(MarketplaceError):
    """A paged listing went on past the caller's page cap (a marketplace that never stops paging, or a
    listing far larger than expected). The pages read before the cap were returned; the rest were not read."""

    def __init__(self, message: str = "", *, limit: int = 0, announced: int | None = None):
        super().__init__(message)
        self.limit = limit
        self.announced = announced


class OutcomeUnknown(Unavailable):
    """A write was sent and its answer was lost (read timeout, connection dropped after the body was sent,
    gateway 502/504): the marketplace may or may not have applied it. Never assume either way: the caller
    re-sends absolute values or checks the marketplace before repeating."""
