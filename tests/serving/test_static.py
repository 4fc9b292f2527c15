"""Static files in production mode (issue 14): collectstatic into STATIC_ROOT with whitenoise's hashed, compressed
storage, then served by the app itself with DEBUG off: the admin theme (unfold) and the API docs (sidecar)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_static(settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}
    call_command("collectstatic", interactive=False, verbosity=0)
    return settings.STATIC_ROOT


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_admin_and_api_docs_statics_are_served_by_whitenoise(client, production_static, superuser):
    assert (production_static / "staticfiles.json").exists()
    page = client.get("/admin/login/")
    assert page.status_code == 200
    # the login page links unfold's stylesheet by its content-hashed name
    css = re.search(r'/static/(unfold/css/styles\.[0-9a-f]{12}\.css)', page.content.decode())
    assert css, "unfold's stylesheet is not linked by its hashed name"
    response = client.get(f"/static/{css.group(1)}", HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert type(response).__module__.startswith("whitenoise")
    assert response["Content-Encoding"] == "gzip"
    assert "immutable" in response["Cache-Control"]

    client.force_login(superuser)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    bundle = re.search(r'/static/(drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle\.[0-9a-f]{12}\.js)',
                       docs.content.decode())
    assert bundle, "the Swagger UI bundle (drf-spectacular-sidecar) is not linked by its hashed name"
    js = client.get(f"/static/{bundle.group(1)}")
    assert js.status_code == 200 and b"SwaggerUIBundle" in body_of(js)


def test_unknown_static_file_is_404(client, production_static):
    assert client.get("/static/unfold/css/no-such-file.css").status_code == 404
