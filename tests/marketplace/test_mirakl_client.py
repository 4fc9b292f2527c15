"""MiraklClient over a mocked wire: each endpoint parsed, errors typed, the key sent raw."""

from __future__ import annotations

import json

import pytest
import responses

from fnac_connector.marketplace.errors import AuthError, BadResponse, RateLimited, Rejected, Unavailable
from fnac_connector.marketplace.mirakl import (
    Account,
    Attribute,
    Hierarchy,
    ImportStatus,
    MiraklClient,
    Value,
)

HOST = "https://fnac-test.mirakl.example"
KEY = "3f1c2a9e-mirakl-secret"


@pytest.fixture
def client(sleeps):
    return MiraklClient(base_url=HOST + "/", api_key=KEY, sleep=sleeps.append, max_retries=2)


def test_account_sends_raw_key_and_parses(rsps, client):
    rsps.add(
        responses.GET,
        f"{HOST}/api/account",
        json={"shop_id": 2019, "shop_name": "Ma Boutique", "shop_state": "OPEN", "currency_iso_code": "EUR"},
    )
    assert client.account() == Account(shop_id="2019", shop_name="Ma Boutique", shop_state="OPEN")
    headers = rsps.calls[0].request.headers
    assert headers["Authorization"] == KEY  # no "Bearer"
    assert headers["Accept"] == "application/json"


def test_hierarchies_flat_and_nested(rsps, client):
    rsps.add(
        responses.GET,
        f"{HOST}/api/hierarchies",
        json={
            "hierarchies": [
                {"code": "LIVRES", "label": "Livres", "level": 1, "parent_code": None},
                {"code": "ROMANS", "label": "Romans", "level": 2, "parent_code": "LIVRES"},
                {
                    "code": "TECH",
                    "label": "Tech",
                    "level": 1,
                    "children": [{"code": "PHONES", "label": "Téléphones"}],
                },
            ]
        },
    )
    assert client.hierarchies() == [
        Hierarchy("LIVRES", "Livres", 1, ""),
        Hierarchy("ROMANS", "Romans", 2, "LIVRES"),
        Hierarchy("TECH", "Tech", 1, ""),
        Hierarchy("PHONES", "Téléphones", 2, "TECH"),
    ]


def test_attributes_with_hierarchy_filter(rsps, client):
    rsps.add(
        responses.GET,
        f"{HOST}/api/products/attributes?hierarchy=ROMANS",
        json={
            "attributes": [
                {
                    "code": "ean",
                    "label": "EAN",
                    "type": "TEXT",
                    "hierarchy_code": "",
                    "required": True,
                    "variant": False,
                },
                {
                    "code": "langue",
                    "label": "Langue",
                    "type": "LIST",
                    "hierarchy_code": "ROMANS",
                    "required": False,
                    "type_parameters": [{"name": "LIST_CODE", "value": "LANGUES"}],
                    "description": "Langue du livre",
                },
                {
                    "code": "couleur",
                    "label": "Couleur",
                    "type": "LIST",
                    "hierarchy_code": None,
                    "requirement_level": "REQUIRED",
                    "values_list": "COULEURS",
                    "variant": True,
                    "extra_field": 1,
                },
            ]
        },
        match=[responses.matchers.query_param_matcher({"hierarchy": "ROMANS"})],
    )
    ean, langue, couleur = client.attributes(hierarchy="ROMANS")
    assert ean == Attribute(code="ean", label="EAN", type="TEXT", required=True)
    assert (langue.values_list, langue.required, langue.hierarchy_code, langue.description) == (
        "LANGUES",
        False,
        "ROMANS",
        "Langue du livre",
    )
    assert (couleur.values_list, couleur.required, couleur.variant, couleur.hierarchy_code) == (
        "COULEURS",
        True,
        True,
        "",
    )


def test_attributes_without_filter_sends_no_query(rsps, client):
    rsps.add(
        responses.GET,
        f"{HOST}/api/products/attributes",
        json={"attributes": []},
        match=[responses.matchers.query_param_matcher({})],
    )
    assert client.attributes() == []


def test_values_lists(rsps, client):
    rsps.add(
        responses.GET,
        f"{HOST}/api/values_lists",
        json={
            "values_lists": [
                {
                    "code": "LANGUES",
                    "label": "Langues",
                    "values": [{"code": "fr", "label": "Français"}, {"code": "en", "label": "Anglais"}],
                },
                {"code": "VIDE", "label": "Vide"},
            ]
        },
    )
    langues, vide = client.values_lists()
    assert langues.code == "LANGUES" and langues.values == [Value("fr", "Français"), Value("en", "Anglais")]
    assert vide.values == []


def test_p41_sends_the_csv_as_multipart_file_and_returns_import_id(rsps, client):
    csv_bytes = b"sku;ean;title\nSKU-1;9780000000001;Un livre\n"
    rsps.add(responses.POST, f"{HOST}/api/products/imports", status=201, json={"import_id": 8841})
    assert client.product_import(csv_bytes, filename="batch-1.csv") == "8841"
    request = rsps.calls[0].request
    assert request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert request.headers["Authorization"] == KEY
    body = request.body
    assert b'name="file"; filename="batch-1.csv"' in body
    assert csv_bytes in body


def test_p41_not_repeated_when_the_outcome_is_unknown(rsps, client, sleeps):
    import requests

    rsps.add(responses.POST, f"{HOST}/api/products/imports", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(Unavailable, match="outcome is unknown"):
        client.product_import(b"sku\nA\n")
    assert len(rsps.calls) == 1 and sleeps == []


def test_p42_status(rsps, client):
    rsps.add(
        responses.GET,
        f"{HOST}/api/products/imports/8841",
        json={
            "import_id": 8841,
            "import_status": "COMPLETE",
            "has_error_report": True,
            "transform_lines_read": 10,
            "transform_lines_in_error": 2,
            "transform_lines_in_success": 8,
            "reason_status": None,
            "date_created": "2025-03-01T10:00:00Z",
        },
    )
    status = client.product_import_status(8841)
    assert status == ImportStatus(
        import_id="8841",
        status="COMPLETE",
        has_error_report=True,
        lines_read=10,
        lines_in_error=2,
        lines_in_success=8,
        reason_status="",
    )
    assert status.is_final


def test_p44_error_report_with_varying_error_column(rsps, client):
    report = (
        "sku;ean;title;errors\n"
        "SKU-1;9780000000001;Un livre;The EAN is invalid\n"
        'SKU-2;;"Titre; avec point-virgule";"Brand is required\nTitle too long"\n'
        "\n"
    ).encode("utf-8-sig")
    rsps.add(
        responses.GET, f"{HOST}/api/products/imports/8841/error_report", body=report, content_type="text/csv"
    )
    first, second = client.product_import_error_report("8841")
    assert first.values == {"sku": "SKU-1", "ean": "9780000000001", "title": "Un livre"}
    assert first.errors == ["The EAN is invalid"]
    assert first.line_number is None
    assert second.values["title"] == "Titre; avec point-virgule"
    assert second.errors == ["Brand is required", "Title too long"]


@pytest.mark.parametrize("column", ["error", "error-message", "Error Message", "errors-message"])
def test_p44_error_column_names(rsps, client, column):
    report = f"line;sku;{column}\n3;SKU-9;Category unknown\n".encode()
    rsps.add(responses.GET, f"{HOST}/api/products/imports/1/error_report", body=report)
    (line,) = client.product_import_error_report(1)
    assert line.errors == ["Category unknown"]
    assert line.values == {"sku": "SKU-9"}
    assert line.line_number == 3


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_is_auth_error(rsps, client, sleeps, status):
    rsps.add(
        responses.GET,
        f"{HOST}/api/account",
        status=status,
        json={"message": "Unauthorized", "status": status},
    )
    with pytest.raises(AuthError) as info:
        client.account()
    assert info.value.status_code == status
    assert "Unauthorized" in info.value.message
    assert len(rsps.calls) == 1 and sleeps == []


def test_429_retry_after_is_honoured(rsps, client, sleeps):
    rsps.add(responses.GET, f"{HOST}/api/hierarchies", status=429, headers={"Retry-After": "12"})
    rsps.add(responses.GET, f"{HOST}/api/hierarchies", json={"hierarchies": []})
    assert client.hierarchies() == []
    assert sleeps == [12.0]


def test_429_exhausted_is_rate_limited(rsps, client, sleeps):
    rsps.add(responses.GET, f"{HOST}/api/hierarchies", status=429, headers={"Retry-After": "3"})
    with pytest.raises(RateLimited) as info:
        client.hierarchies()
    assert info.value.retry_after == 3.0
    assert len(rsps.calls) == 3 and sleeps == [3.0, 3.0]


def test_5xx_is_unavailable(rsps, client, sleeps):
    rsps.add(responses.GET, f"{HOST}/api/products/imports/5", status=500, json={"message": "boom"})
    with pytest.raises(Unavailable) as info:
        client.product_import_status(5)
    assert info.value.status_code == 500
    assert len(rsps.calls) == 3  # a read is retried on 500 (max_retries=2 here)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"message": "Invalid hierarchy code", "status": 400}, "Invalid hierarchy code"),
        (
            {"errors": [{"field": "file", "message": "File is empty"}, {"message": "Bad encoding"}]},
            "file: File is empty; Bad encoding",
        ),
    ],
)
def test_4xx_is_rejected_with_mirakl_message(rsps, client, payload, message):
    rsps.add(
        responses.POST,
        f"{HOST}/api/products/imports",
        status=400,
        body=json.dumps(payload),
        content_type="application/json",
    )
    with pytest.raises(Rejected) as info:
        client.product_import(b"sku\nA\n")
    assert info.value.message == message
    assert info.value.status_code == 400


def test_bad_json_is_bad_response(rsps, client):
    rsps.add(responses.GET, f"{HOST}/api/account", body="<html>gateway</html>", content_type="text/html")
    with pytest.raises(BadResponse):
        client.account()


def test_missing_list_is_bad_response(rsps, client):
    rsps.add(responses.GET, f"{HOST}/api/hierarchies", json={"hierarchies": "nope"})
    with pytest.raises(BadResponse):
        client.hierarchies()


@pytest.mark.parametrize(("method", "path", "call"), [
    (responses.GET, "/api/products/imports/7", lambda c: c.product_import_status(7)),
    (responses.POST, "/api/products/imports", lambda c: c.product_import(b"ean\n1\n")),
])
def test_p41_and_p42_429_goes_up_at_once_with_retry_after(rsps, client, sleeps, method, path, call):
    """Mirakl's frequency limits (P41 every 15 min, P42 once a minute): the caller schedules the next try,
    no worker sleeps through the wait, and nothing is sent twice."""
    rsps.add(method, HOST + path, status=429, json={"message": "Too many requests", "status": 429},
             headers={"Retry-After": "42"})
    with pytest.raises(RateLimited) as info:
        call(client)
    assert info.value.retry_after == 42
    assert len(rsps.calls) == 1 and sleeps == []


def test_p42_final_statuses_and_p47_report(rsps, client):
    rsps.add(responses.GET, f"{HOST}/api/products/imports/9", json={
        "import_id": 9, "import_status": "TRANSFORMATION_FAILED", "has_error_report": False,
        "has_transformation_error_report": True, "reason_status": "bad header"})
    rsps.add(responses.GET, f"{HOST}/api/products/imports/9/transformation_error_report",
             body="category;ean;grip;errors\nINFO_SOURIS;3000000000001;x;The column 'grip' is unknown\n",
             content_type="text/csv")
    status = client.product_import_status(9)
    assert status.is_final and not status.succeeded and status.has_transformation_error_report
    (line,) = client.product_import_transformation_error_report(9)
    assert line.values["ean"] == "3000000000001" and line.errors == ["The column 'grip' is unknown"]
    for name, final, success in [("SENT", True, True), ("COMPLETE", True, True), ("CANCELLED", True, False),
                                 ("FAILED", True, False), ("TRANSFORMATION_RUNNING", False, False),
                                 ("WAITING", False, False)]:
        status.status = name
        assert (status.is_final, status.succeeded) == (final, success), name
