"""Shared HTTP transport of the marketplace clients.

One ``requests.Session`` per client, a (connect, read) timeout on every call, bounded retries with
exponential backoff and jitter that honour ``Retry-After``, and typed errors instead of ``requests``
exceptions.

Reads and writes are retried differently. A read is safe to repeat, so it is retried on 429/500/502/503/504,
timeouts and dropped connections. A write (FNAC offers_update / orders_update, Mirakl P41) is retried only
when the server certainly did not process it: the connection was never established (refused, DNS,
connect timeout) or the server answered 429/503, i.e. "not now". A read timeout, a dropped connection
after the body was sent or a gateway error (502/504) leaves the outcome unknown: that is raised as
``OutcomeUnknown`` (an ``Unavailable``) and the caller decides (re-query the marketplace before repeating).

Every answer is read as a stream and at most ``max_response_bytes`` of it (decoded, so a gzip bomb counts
at its real size) are kept: past that the connection is closed and ``ResponseTooLarge`` is raised, so a
hostile or broken marketplace cannot make the process hold an answer of any size.

Only the service name, operation, status and duration are logged: never URLs with credentials, bodies,
keys or tokens.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from .errors import (
    AuthError,
    MarketplaceError,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    ResponseTooLarge,
    Unavailable,
)

logger = logging.getLogger("fnac_connector.marketplace.http")

RETRYABLE_READ_STATUSES = frozenset({429, 500, 502, 503, 504})
# the server said "not now" before doing anything: safe to repeat even a write
RETRYABLE_WRITE_STATUSES = frozenset({429, 503})
DEFAULT_MAX_RESPONSE_BYTES = 64 * 2**20
_CHUNK = 64 * 1024

ErrorMapper = Callable[[requests.Response], "MarketplaceError | None"]


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (>= 0): delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def _chain(exc: BaseException):
    """The exception, its args and its causes, depth-first (requests nests urllib3 errors in args)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        stack.extend(item.args)
        reason = getattr(item, "reason", None)
        if reason is not None:
            stack.append(reason)
        stack.extend(e for e in (item.__cause__, item.__context__) if e is not None)


def request_not_sent(exc: requests.RequestException) -> bool:
    """True when the request certainly never reached the server (so even a write may be repeated)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    return any(isinstance(e, NewConnectionError | ConnectTimeoutError) for e in _chain(exc))


def default_error_for_response(response: requests.Response) -> MarketplaceError | None:
    """Map a final non-2xx answer to a typed error (None = a success the caller parses)."""
    status = response.status_code
    if status < 400:
        return None
    if status in (401, 403):
        return AuthError(f"HTTP {status}: credentials refused", status_code=status)
    if status == 429:
        return RateLimited("HTTP 429: rate limited",
                           retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        return Unavailable(f"HTTP {status}: marketplace unavailable", status_code=status)
    return Rejected(f"HTTP {status}", status_code=status)


class HttpTransport:
    """A ``requests.Session`` wrapper: timeouts, bounded retries, typed errors, secret-free logs."""

    def __init__(
        self,
        *,
        service: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5, 60),
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        headers: Mapping[str, str] | None = None,
        error_for_response: ErrorMapper = default_error_for_response,
        rng: random.Random | None = None,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ):
        self.service = service
        # None or 0: no cap (tests only; every client the product builds passes one)
        self.max_response_bytes = int(max_response_bytes) if max_response_bytes else None
        self.session = session or requests.Session()
        self.timeout = timeout
        self.max_retries = max(0, int(max_retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        # a server asking to wait longer than this is not waited for: the error goes up with retry_after
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.headers = dict(headers or {})
        self.error_for_response = error_for_response
        self._rng = rng or random.Random()

    # ------------------------------------------------------------------ public
    def request(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        write: bool = False,
        headers: Mapping[str, str] | None = None,
        no_retry_statuses: frozenset[int] = frozenset(),
        **kwargs: Any,
    ) -> requests.Response:
        """Send with retries; return a response the caller parses (2xx, or a status the mapper let through).

        ``operation`` names the call in logs and messages (e.g. "orders_query", "P41").
        ``write`` marks a non-idempotent call (see the module docstring).
        ``no_retry_statuses`` are raised at once instead of being waited for (e.g. 429 of a call whose caller
        schedules the next try itself, so no worker sleeps through a long ``Retry-After``).
        """
        merged = {**self.headers, **(headers or {})}
        attempt = 0
        while True:
            started = time.monotonic()
            try:
                response = self.session.request(method, url, headers=merged, timeout=self.timeout, stream=True,
                                                **kwargs)
                # the body is read here, inside the same error handling as the request (a cut body is a
                # dropped connection), and never past the cap
                self._read_capped(response, operation)
            except requests.RequestException as exc:
                elapsed = time.monotonic() - started
                not_sent = request_not_sent(exc)
                logger.warning("%s %s failed after %.0f ms: %s (attempt %d)", self.service, operation,
                               elapsed * 1000, type(exc).__name__, attempt + 1)
                if write and not not_sent:
                    raise OutcomeUnknown(
                        f"{self.service} {operation}: {type(exc).__name__} after the request was sent; "
                        "the outcome is unknown (not retried, check the marketplace before repeating)"
                    ) from exc
                if attempt >= self.max_retries:
                    raise Unavailable(f"{self.service} {operation}: {type(exc).__name__} after "
                                      f"{attempt + 1} attempts") from exc
                self.sleep(self._backoff_delay(attempt))
                attempt += 1
                continue

            elapsed = time.monotonic() - started
            status = response.status_code
            logger.info("%s %s -> %s in %.0f ms", self.service, operation, status, elapsed * 1000)
            retryable = RETRYABLE_WRITE_STATUSES if write else RETRYABLE_READ_STATUSES
            if status in retryable and status in no_retry_statuses:
                raise self._final_status_error(response, operation, attempt,
                                               parse_retry_after(response.headers.get("Retry-After")))
            if status in retryable:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                too_long = retry_after is not None and retry_after > self.max_retry_after
                if attempt < self.max_retries and not too_long:
                    delay = retry_after if retry_after is not None else self._backoff_delay(attempt)
                    response.close()
                    self.sleep(delay)
                    attempt += 1
                    continue
                raise self._final_status_error(response, operation, attempt, retry_after)
            if write and status in (502, 504):
                raise OutcomeUnknown(f"{self.service} {operation}: HTTP {status} from a gateway; the outcome is "
                                  "unknown (not retried, check the marketplace before repeating)",
                                  status_code=status)
            error = self.error_for_response(response)
            if error is not None:
                raise error
            return response

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ helpers
    def _too_large(self, response: requests.Response, operation: str) -> ResponseTooLarge:
        response.close()
        limit = self.max_response_bytes or 0
        logger.warning("%s %s: answer larger than %d bytes, reading stopped", self.service, operation, limit)
        return ResponseTooLarge(
            f"{self.service} {operation}: answer larger than {_megabytes(limit)} (the response size cap); "
            "reading stopped there and nothing of it was used", limit=limit, status_code=response.status_code)

    def _read_capped(self, response: requests.Response, operation: str) -> None:
        """Read the whole body into ``response.content``, or raise ResponseTooLarge past the cap."""
        limit = self.max_response_bytes
        if not limit or response.raw is None or response._content is not False:
            # no cap, or nothing left to stream (a stub, or an adapter that already read the body)
            content = response.content or b""
            if limit and len(content) > limit:
                raise self._too_large(response, operation)
            return
        declared = (response.headers.get("Content-Length") or "").strip()
        if declared.isdigit() and int(declared) > limit and "Content-Encoding" not in response.headers:
            raise self._too_large(response, operation)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise self._too_large(response, operation)
            chunks.append(chunk)
        # what requests itself does after a non-streamed read: .content/.text/.json() use these bytes
        response._content = b"".join(chunks)
        response._content_consumed = True

    def _backoff_delay(self, attempt: int) -> float:
        """Exponential backoff with equal jitter: in [d/2, d], d = backoff * 2**attempt (capped)."""
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        return delay / 2 + self._rng.uniform(0, delay / 2)

    def _final_status_error(self, response: requests.Response, operation: str, attempt: int,
                            retry_after: float | None) -> MarketplaceError:
        status = response.status_code
        tries = f"after {attempt + 1} attempt{'s' if attempt else ''}"
        if status == 429:
            return RateLimited(f"{self.service} {operation}: HTTP 429 rate limited {tries}",
                               retry_after=retry_after)
        error = Unavailable(f"{self.service} {operation}: HTTP {status} {tries}", status_code=status)
        error.retry_after = retry_after  # type: ignore[attr-defined]
        return error


def _megabytes(limit: int) -> str:
    mb = limit / 2**20
    return f"{mb:g} MB" if mb >= 1 else f"{limit} bytes"
