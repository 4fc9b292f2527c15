from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_schema_lists_the_store_endpoints(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    for path in ("/api/stores/", "/api/stores/{id}/", "/api/stores/{id}/connect/", "/api/stores/{id}/disconnect/",
                 "/api/sync-runs/"):
        assert path in schema["paths"], path
    assert "TokenAuthentication" in str(schema["components"]["securitySchemes"]) or \
        "tokenAuth" in schema["components"]["securitySchemes"]


def test_swagger_ui_is_served_locally(api_client):
    response = api_client.get("/api/docs/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "swagger-ui" in body
    assert "cdn" not in body.lower()  # served from the sidecar package


def test_sqlite_runs_in_wal_mode():
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite-specific")
    from django.conf import settings

    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]


def test_redact_filter_scrubs_secrets():
    from fnac_connector.logfilters import redact

    text = redact('<auth><key>0f0f0f0f-aaaa</key></auth> Authorization: sk-123 token="abcdef12-3456"')
    assert "0f0f0f0f-aaaa" not in text and "sk-123" not in text and "abcdef12-3456" not in text


def test_schema_generates_without_warnings_or_errors():
    """drf-spectacular's own validation: every endpoint documented, no enum collisions."""
    import io

    from django.core.management import call_command

    err = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=io.StringIO(), stderr=err)
    assert "Error" not in err.getvalue()
