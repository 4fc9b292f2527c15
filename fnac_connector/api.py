"""Shared API plumbing: pagination, error format, permissions."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, pagination, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from fnac_connector.errors import ServiceError
from fnac_connector.permissions import StaffModelPermissions  # noqa: F401  (the default; see that module)

# the largest id a path or a filter may name: PostgreSQL's bigint (and SQLite's integer) range
MAX_ID = 2**63 - 1


class Pagination(pagination.PageNumberPagination):
    """``?page=`` (from 1) and ``?page_size=`` (1 to 500); an unreadable value is a 400 naming the parameter,
    not a silent default."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None:
            query_int(raw, field=self.page_size_query_param, min_value=1, max_value=self.max_page_size)
        return super().get_page_size(request)

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param)
        if raw is not None and raw not in self.last_page_strings:
            query_int(raw, field=self.page_query_param, min_value=1, max_value=MAX_ID)
        return super().paginate_queryset(queryset, request, view)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {self.page_query_param: (1, None), self.page_size_query_param: (1, self.max_page_size)}
        for parameter in parameters:
            low, high = bounds.get(parameter["name"], (None, None))
            if low is not None:
                parameter["schema"]["minimum"] = low
            if high is not None:
                parameter["schema"]["maximum"] = high
        return parameters


def query_int(raw, *, field: str, min_value: int = 1, max_value: int = MAX_ID) -> int:
    """A whole number from a query string or a path, within bounds, or a 400 naming ``field``."""
    text = str(raw).strip()
    if not (text.isascii() and text.lstrip("-").isdigit()) or len(text) > 20:
        raise exceptions.ValidationError({field: [f"must be a whole number from {min_value} to {max_value}, "
                                                  f"got {text[:40]!r}"]})
    value = int(text)
    if not min_value <= value <= max_value:
        raise exceptions.ValidationError({field: [f"must be from {min_value} to {max_value}, got {value}"]})
    return value


class IntegerIdLookupMixin:
    """For viewsets whose objects have integer ids: an id in the path that is not a whole number in the
    database's range is a 400 naming the parameter (checked after authentication and permissions)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        key = self.lookup_url_kwarg or self.lookup_field
        if key in kwargs:
            query_int(kwargs[key], field="id")


def _summary(errors, prefix: str = "") -> list[str]:
    """"field: message" lines of DRF's nested error structure, for the ``detail`` sentence."""
    if isinstance(errors, dict):
        return [line for key, value in errors.items() for line in _summary(value, f"{prefix}{key}.")]
    if isinstance(errors, list):
        if all(not isinstance(e, dict | list) for e in errors):
            return [f"{prefix.rstrip('.') + ': ' if prefix else ''}{' '.join(str(e) for e in errors)}"]
        return [line for i, value in enumerate(errors) for line in _summary(value, f"{prefix}{i}.")]
    return [f"{prefix.rstrip('.') + ': ' if prefix else ''}{errors}"]


def exception_handler(exc, context):
    """One error format for every door of the API: ``{"detail": sentence, "code": machine code}`` plus
    ``errors`` (per field or per item) where it applies. Service errors keep their status (400/409/502)."""
    if isinstance(exc, ServiceError):
        body = {"detail": str(exc), "code": exc.code}
        if exc.details:
            body["errors"] = exc.details
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(errors)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data
        if isinstance(errors, dict) and set(errors) == {"detail"}:
            errors = errors["detail"]
        lines = _summary(errors)
        body = {"detail": "Invalid input: " + "; ".join(lines) if lines else "Invalid input.", "code": "invalid"}
        if isinstance(errors, dict):
            body["errors"] = errors
        response.data = body
    elif isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"]), "code": _code_of(exc)}
    return response


def _code_of(exc) -> str:
    if isinstance(exc, Http404):
        return "not_found"
    if isinstance(exc, DjangoPermissionDenied):
        return "permission_denied"
    codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
    return codes if isinstance(codes, str) else getattr(exc, "default_code", "error")


def page_not_found(request, exception):
    """Django's 404 for a URL no route matches (``/api/orders/0.5/``): JSON in the API's error format under
    ``/api/``, the usual page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found: no API endpoint has this address.", "code": "not_found"},
                            status=404)
    return defaults.page_not_found(request, exception)


class DetailSerializer(serializers.Serializer):
    """The error body of every 4xx/5xx answer of the API."""

    detail = serializers.CharField(help_text="What went wrong, in a sentence.")
    code = serializers.CharField(help_text="Machine code: invalid, not_found, conflict, not_authenticated, ...")
    errors = serializers.JSONField(required=False, help_text="Per field (or per item) messages, where it applies.")

