"""The OpenAPI schema tells the truth about errors: every operation declares the error answers it can give
(400 bad input, 401 no or bad credentials, 403 not allowed, 404 unknown object or page, 406 an Accept header asking
for a format the API does not give, 415 unsupported body),
all with the one error body of the API (``fnac_connector.api.DetailSerializer``). Operations declare their own
business answers (409, 502, 202...) with ``extend_schema``; what they declare is never overridden."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from fnac_connector.api import DetailSerializer


class AutoSchema(SpectacularAutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        result = super()._map_serializer_field(field, direction, bypass_extensions)
        # a blank URL field answers "": not a "uri", so the format is only claimed when a value is required
        if isinstance(field, serializers.URLField) and result.get("format") == "uri" and _may_be_blank(field):
            result = {k: v for k, v in result.items() if k != "format"}
        return result

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if isinstance(field, serializers.URLField) and schema.get("format") == "uri" and _may_be_blank(field):
            del schema["format"]  # the URL validator would claim it again

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if str(code) not in responses and code not in responses:
                responses[str(code)] = self._get_response_for_code(DetailSerializer, str(code))
        return responses

    def _error_codes(self) -> list[int]:
        codes = [400]  # a bad parameter, body, filter or id
        authenticators = getattr(self.view, "authentication_classes", None)
        if authenticators:
            codes.append(401)
        if not all(issubclass(p, AllowAny) for p in getattr(self.view, "permission_classes", []) or []):
            codes.append(403)
        if authenticators or "{" in self.path:
            codes.append(404)  # an unknown object (in the path or the body), or a page past the last one
        codes.append(406)  # DRF's content negotiation: an Accept header no renderer satisfies
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append(415)
        return codes


def _may_be_blank(field) -> bool:
    if getattr(field, "allow_blank", False):
        return True
    model = getattr(getattr(getattr(field, "parent", None), "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source:
        return True  # cannot tell: do not promise a URI
    try:
        return model._meta.get_field(field.source).blank
    except FieldDoesNotExist:  # a property or a method
        return True
