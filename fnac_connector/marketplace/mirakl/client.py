"""Mirakl Catalog Manager client (FNAC Darty operator): categories, attributes, product creation.

Header ``Authorization: <key>`` (the raw key, no "Bearer"), JSON answers, typed results. P41 (the only
write) is not repeated when its outcome is unknown: see ``marketplace.http``.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests

from ..errors import AuthError, BadResponse, MarketplaceError, RateLimited, Rejected, Unavailable
from ..http import DEFAULT_MAX_RESPONSE_BYTES, HttpTransport, parse_retry_after
from .types import Account, Attribute, ErrorReportLine, Hierarchy, ImportStatus, Value, ValuesList

SERVICE_NAME = "mirakl"
ERROR_COLUMNS = ("errors", "error", "error-message", "error_message", "error message", "errors-message",
                 "error-messages", "message", "messages")
LINE_COLUMNS = ("line", "line_number", "line-number", "error-line", "error_line", "line number")


def _message_of(response: requests.Response) -> str:
    """Mirakl's explanation: {"message": ..}, {"errors": [{"field":.., "message":..}]} or plain text."""
    try:
        data = response.json()
    except ValueError:
        return (response.text or "").strip()[:500]
    if isinstance(data, dict):
        parts = []
        if data.get("message"):
            parts.append(str(data["message"]))
        for item in data.get("errors") or []:
            if isinstance(item, dict):
                text = str(item.get("message") or item.get("code") or "")
                field = item.get("field")
                parts.append(f"{field}: {text}" if field else text)
            elif item:
                parts.append(str(item))
        if parts:
            return "; ".join(part for part in parts if part)
    return json.dumps(data)[:500]


def _mirakl_error_for_response(response: requests.Response) -> MarketplaceError | None:
    status = response.status_code
    if status < 400:
        return None
    message = _message_of(response) or f"HTTP {status}"
    if status in (401, 403):
        return AuthError(f"Mirakl refused the API key (HTTP {status}): {message}", code=str(status),
                         status_code=status)
    if status == 429:
        return RateLimited(f"Mirakl rate limit: {message}",
                           retry_after=parse_retry_after(response.headers.get("Retry-After")))
    if status >= 500:
        return Unavailable(f"Mirakl unavailable (HTTP {status}): {message}", status_code=status)
    return Rejected(message, code=str(status), status_code=status, errors=[(str(status), message)])


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


class MiraklClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        session: requests.Session | None = None,
        timeout: tuple[float, float] = (5, 60),
        max_retries: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        max_response_bytes: int | None = DEFAULT_MAX_RESPONSE_BYTES,
    ):
        self.base_url = base_url.rstrip("/")
        self.transport = HttpTransport(
            service=SERVICE_NAME, session=session, timeout=timeout, max_retries=max_retries, backoff=backoff,
            sleep=sleep, headers={"Authorization": api_key, "Accept": "application/json"},
            error_for_response=_mirakl_error_for_response, max_response_bytes=max_response_bytes,
        )

    def __repr__(self) -> str:  # never show the key
        return f"MiraklClient(base_url={self.base_url!r})"

    # ------------------------------------------------------------------ transport
    def _get(self, path: str, operation: str, params: dict[str, Any] | None = None,
             accept: str | None = None, no_retry_statuses: frozenset[int] = frozenset()) -> requests.Response:
        headers = {"Accept": accept} if accept else None
        params = {k: v for k, v in (params or {}).items() if v is not None}
        return self.transport.request("GET", self.base_url + path, operation=operation, params=params or None,
                                      headers=headers, no_retry_statuses=no_retry_statuses)

    def _get_json(self, path: str, operation: str, params: dict[str, Any] | None = None,
                  no_retry_statuses: frozenset[int] = frozenset()) -> Any:
        """A GET whose body must be JSON; a cut or garbled body of a read is retried like a 503."""
        attempt = 0
        while True:
            response = self._get(path, operation, params, no_retry_statuses=no_retry_statuses)
            try:
                return self._json(response, operation)
            except BadResponse as exc:
                if not exc.retryable or attempt >= self.transport.max_retries:
                    raise
                self.transport.sleep(self.transport._backoff_delay(attempt))
                attempt += 1

    @staticmethod
    def _json(response: requests.Response, operation: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise BadResponse(f"Mirakl {operation}: response is not JSON "
                              f"(HTTP {response.status_code}, {len(response.content)} bytes)") from None

    @staticmethod
    def _list(data: Any, key: str, operation: str) -> list[dict[str, Any]]:
        if not isinstance(data, dict) or not isinstance(data.get(key, []), list):
            raise BadResponse(f"Mirakl {operation}: expected an object with a '{key}' list")
        return [item for item in data.get(key) or [] if isinstance(item, dict)]

    # ------------------------------------------------------------------ A01
    def account(self) -> Account:
        data = self._get_json("/api/account", "A01")
        if not isinstance(data, dict) or "shop_id" not in data:
            raise BadResponse("Mirakl A01: response without shop_id")
        return Account(shop_id=str(data["shop_id"]), shop_name=str(data.get("shop_name") or ""),
                       shop_state=str(data.get("shop_state") or ""))

    # ------------------------------------------------------------------ H11
    def hierarchies(self) -> list[Hierarchy]:
        data = self._get_json("/api/hierarchies", "H11")
        return list(self._flatten_hierarchies(self._list(data, "hierarchies", "H11"), parent="", level=1))

    def _flatten_hierarchies(self, items: Iterable[dict[str, Any]], *, parent: str,
                             level: int) -> Iterable[Hierarchy]:
        """Flat list; nested ``children`` (some operators answer a tree) are flattened with their parent."""
        for item in items:
            code = str(item.get("code") or "")
            if not code:
                continue
            item_level = _int_or_none(item.get("level"))
            yield Hierarchy(code=code, label=str(item.get("label") or code),
                            level=item_level if item_level is not None else level,
                            parent_code=str(item.get("parent_code") or parent or ""))
            children = item.get("children")
            if isinstance(children, list):
                children = (c for c in children if isinstance(c, dict))
                yield from self._flatten_hierarchies(children, parent=code, level=(item_level or level) + 1)

    # ------------------------------------------------------------------ PM11
    def attributes(self, hierarchy: str | None = None) -> list[Attribute]:
        data = self._get_json("/api/products/attributes", "PM11", {"hierarchy": hierarchy})
        result = []
        for item in self._list(data, "attributes", "PM11"):
            values_list = item.get("values_list") or ""
            if not values_list:
                for param in item.get("type_parameters") or []:
                    if isinstance(param, dict) and param.get("name") == "LIST_CODE":
                        values_list = param.get("value") or ""
            required = item.get("required")
            if required is None:
                required = str(item.get("requirement_level") or "").upper() == "REQUIRED"
            result.append(Attribute(
                code=str(item.get("code") or ""), label=str(item.get("label") or ""),
                type=str(item.get("type") or ""), hierarchy_code=str(item.get("hierarchy_code") or ""),
                required=bool(required), values_list=str(values_list), variant=bool(item.get("variant")),
                description=str(item.get("description") or ""),
            ))
        return result

    # ------------------------------------------------------------------ VL11
    def values_lists(self, code: str | None = None) -> list[ValuesList]:
        data = self._get_json("/api/values_lists", "VL11", {"code": code})
        return [
            ValuesList(code=str(item.get("code") or ""), label=str(item.get("label") or ""),
                       values=[Value(code=str(v.get("code") or ""), label=str(v.get("label") or ""))
                               for v in item.get("values") or [] if isinstance(v, dict)])
            for item in self._list(data, "values_lists", "VL11")
        ]

    # ------------------------------------------------------------------ P41 / P42 / P44 / P47
    # Mirakl limits P41 (every 15 minutes per seller) and P42 (once a minute per import) and answers 429 with
    # Retry-After sooner: these two raise RateLimited at once (its retry_after says when), so the caller
    # schedules the next try instead of a worker sleeping through it.
    def product_import(self, csv_bytes: bytes, filename: str = "products.csv") -> str:
        """Send a product CSV (P41); returns the import id to follow with P42."""
        if not csv_bytes:
            raise ValueError("product_import needs a non-empty CSV")
        response = self.transport.request("POST", f"{self.base_url}/api/products/imports", operation="P41",
                                          write=True, files={"file": (filename, csv_bytes, "text/csv")},
                                          no_retry_statuses=frozenset({429}))
        data = self._json(response, "P41")
        if not isinstance(data, dict) or data.get("import_id") in (None, ""):
            raise BadResponse("Mirakl P41: response without import_id")
        return str(data["import_id"])

    def product_import_status(self, import_id: str | int) -> ImportStatus:
        data = self._get_json(f"/api/products/imports/{import_id}", "P42", no_retry_statuses=frozenset({429}))
        if not isinstance(data, dict) or not (data.get("import_status") or data.get("status")):
            raise BadResponse("Mirakl P42: response without import_status")

        def count(*names: str) -> int | None:
            return next((_int_or_none(data[n]) for n in names if data.get(n) is not None), None)

        return ImportStatus(
            import_id=str(data.get("import_id") or import_id),
            status=str(data.get("import_status") or data.get("status")),
            has_error_report=bool(data.get("has_error_report")),
            has_transformation_error_report=bool(data.get("has_transformation_error_report")),
            lines_read=count("transform_lines_read", "lines_read"),
            lines_in_error=count("transform_lines_in_error", "lines_in_error"),
            lines_in_success=count("transform_lines_in_success", "lines_in_success"),
            reason_status=str(data.get("reason_status") or ""),
        )

    def product_import_error_report(self, import_id: str | int) -> list[ErrorReportLine]:
        response = self._get(f"/api/products/imports/{import_id}/error_report", "P44",
                             accept="text/csv, application/octet-stream, */*")
        return parse_error_report(response.content)

    def product_import_transformation_error_report(self, import_id: str | int) -> list[ErrorReportLine]:
        """P47: the lines Mirakl could not transform into the operator's format (same CSV shape as P44)."""
        response = self._get(f"/api/products/imports/{import_id}/transformation_error_report", "P47",
                             accept="text/csv, application/octet-stream, */*")
        return parse_error_report(response.content)

    def close(self) -> None:
        self.transport.close()


def parse_error_report(content: bytes) -> list[ErrorReportLine]:
    """P44 CSV: the original columns plus an error column whose name varies; ';' separated (',' tolerated)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("latin-1")
    if not text.strip():
        return []
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [name.strip() for name in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise BadResponse(f"Mirakl P44: unreadable CSV header ({exc})") from None
    lowered = [name.lower() for name in header]
    error_idx = [i for i, name in enumerate(lowered) if name in ERROR_COLUMNS]
    if not error_idx:  # any other column that names an error
        error_idx = [i for i, name in enumerate(lowered) if "error" in name and name not in LINE_COLUMNS]
    line_idx = next((i for i, name in enumerate(lowered) if name in LINE_COLUMNS), None)
    lines = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            row = row + [""] * (len(header) - len(row))
            errors = [part.strip() for i in error_idx for part in row[i].splitlines() if part.strip()]
            values = {name: row[i] for i, name in enumerate(header)
                      if i not in error_idx and i != line_idx and name}
            line_number = _int_or_none(row[line_idx].strip()) if line_idx is not None else None
            lines.append(ErrorReportLine(line_number=line_number, values=values, errors=errors))
    except csv.Error as exc:
        raise BadResponse(f"Mirakl P44: unreadable CSV ({exc})") from None
    return lines
