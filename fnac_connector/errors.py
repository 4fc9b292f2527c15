"""Errors raised by services; every door turns them into a clear message for its user."""

from __future__ import annotations


class ServiceError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, details=None, http_status: int | None = None):
        super().__init__(message)
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status
        self.details = details


class InvalidInput(ServiceError):
    code = "invalid"


class Conflict(ServiceError):
    """The object is not in a state that allows the action (illegal status change, not connected...)."""

    code = "conflict"
    http_status = 409


class MarketplaceFailure(ServiceError):
    """The marketplace refused or could not be reached; the message says which and why."""

    code = "marketplace"
    http_status = 502
