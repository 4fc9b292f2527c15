"""Mirakl Catalog Manager JSON API of the sandbox."""

from __future__ import annotations

import pytest
import requests

from fnac_sandbox.mirakl_api import P41_MIN_INTERVAL, P42_MIN_INTERVAL
from fnac_sandbox.seed import ean_check_digit

from .wire import Fnac, offers_update_xml, q


def _get(srv, path, key=None, **params):
    return requests.get(
        srv.mirakl_url + path,
        params=params,
        timeout=10,
        headers={
            "Authorization": srv.credentials.mirakl_key if key is None else key,
            "Accept": "application/json",
        },
    )


def _import(srv, csv_text: str, key=None, wait=True):
    """P41; by default first moves the simulated clock past Mirakl's 15-minute P41 limit."""
    if wait:
        srv.clock.advance(P41_MIN_INTERVAL)
    return requests.post(
        srv.mirakl_url + "/api/products/imports",
        timeout=10,
        headers={"Authorization": key or srv.credentials.mirakl_key},
        files={"file": ("products.csv", csv_text.encode(), "text/csv")},
    )


BOOK_HEADER = "category;ean;title;brand;author;language"


def _ean(prefix: str) -> str:
    body = prefix.ljust(12, "0")[:12]
    return body + ean_check_digit(body)


@pytest.mark.parametrize("key", ["", "wrong", "Bearer x"])
def test_unauthorized(srv, key):
    r = _get(srv, "/api/account", key=key)
    assert r.status_code == 401
    assert r.json()["message"] == "Unauthorized"


def test_bearer_prefix_is_refused(srv):
    assert _get(srv, "/api/account", key=f"Bearer {srv.credentials.mirakl_key}").status_code == 401


def test_account(srv):
    data = _get(srv, "/api/account").json()
    assert data["shop_state"] == "OPEN"
    assert data["shop_id"] and data["shop_name"]


def test_hierarchies(srv):
    nodes = _get(srv, "/api/hierarchies").json()["hierarchies"]
    assert 15 <= len(nodes) <= 40
    codes = {n["code"] for n in nodes}
    assert {
        "INFORMATIQUE",
        "INFO_PORTABLES",
        "TEL_SMARTPHONES",
        "LIVRES",
        "JEUX_VIDEO",
        "ELECTROMENAGER",
    } <= codes
    for node in nodes:
        assert set(node) >= {"code", "label", "level", "parent_code"}
        if node["level"] == 1:
            assert node["parent_code"] == ""
        else:
            assert node["parent_code"] in codes
    sub = _get(srv, "/api/hierarchies", hierarchy="TELEPHONIE").json()["hierarchies"]
    assert {n["code"] for n in sub} == {
        "TELEPHONIE",
        "TEL_SMARTPHONES",
        "TEL_ACCESSOIRES",
        "TEL_COQUES",
        "TEL_CHARGEURS",
    }


def test_attributes(srv):
    common = {
        a["code"]: a
        for a in _get(srv, "/api/products/attributes").json()["attributes"]
        if a["hierarchy_code"] == ""
    }
    assert common["ean"]["required"] and common["title"]["required"]
    assert common["brand"]["type"] == "LIST" and common["brand"]["values_list"] == "brands"
    assert common["main_image"]["type"] == "MEDIA"
    attrs = _get(srv, "/api/products/attributes", hierarchy="TEL_SMARTPHONES").json()["attributes"]
    for a in attrs:
        assert set(a) >= {
            "code",
            "label",
            "type",
            "hierarchy_code",
            "required",
            "values_list",
            "variant",
            "description",
        }
    by_code = {a["code"]: a for a in attrs}
    assert by_code["storage_capacity"]["required"] and by_code["storage_capacity"]["type"] == "LIST"
    assert "color" in by_code  # inherited from TELEPHONIE
    assert "author" not in by_code
    assert _get(srv, "/api/products/attributes", hierarchy="NOPE").status_code == 404


def test_values_lists(srv):
    lists = {vl["code"]: vl for vl in _get(srv, "/api/values_lists").json()["values_lists"]}
    labels = {v["label"] for v in lists["brands"]["values"]}
    assert {"Apple", "Samsung", "Sony", "HP", "Lenovo", "Asus", "Philips", "Bosch"} <= labels
    assert all(set(v) == {"code", "label"} for v in lists["brands"]["values"])
    only = _get(srv, "/api/values_lists", code="colors").json()["values_lists"]
    assert [vl["code"] for vl in only] == ["colors"]


def test_import_with_invalid_lines_and_error_report(srv):
    good = _ean("000111")
    second = _ean("376000555")
    csv_text = (
        "category;ean;title;brand;storage_capacity;operating_system;color;description\n"
        f"TEL_SMARTPHONES;{good};Galaxy Sandbox 128 Go;Samsung;128 Go;Android;Noir;Un smartphone\n"
        f"TEL_SMARTPHONES;{second};iPhone Sandbox;APPLE;256 Go;iOS;;\n"
        f"TEL_SMARTPHONES;{_ean('376000556')};Sans marque;;128 Go;Android;;\n"
        f"TEL_SMARTPHONES;{_ean('376000557')};Marque inconnue;Nokiaa;128 Go;Android;;\n"
        "TEL_SMARTPHONES;1234567890123;Mauvais EAN;Samsung;128 Go;Android;;\n"
        f"TELEPHONIE;{_ean('376000558')};Pas une feuille;Samsung;;;;\n"
        f"NOPE;{_ean('376000559')};Catégorie inconnue;Samsung;;;;\n"
    )
    r = _import(srv, csv_text)
    assert r.status_code == 201
    import_id = r.json()["import_id"]
    status = _get(srv, f"/api/products/imports/{import_id}").json()
    assert status["import_status"] == "COMPLETE"
    assert status["has_error_report"] is True
    assert (
        status["transform_lines_read"],
        status["transform_lines_in_success"],
        status["transform_lines_in_error"],
    ) == (7, 2, 5)
    report = _get(srv, f"/api/products/imports/{import_id}/error_report")
    assert report.status_code == 200
    rows = report.content.decode().strip().splitlines()
    assert rows[0].endswith(";errors")
    assert len(rows) == 6
    text = report.content.decode()
    assert "'brand' is required" in text and "Nokiaa" in text and "Invalid EAN" in text
    assert "not a leaf" in text and "Unknown category" in text
    # a 000... EAN is unknown to offers_update until created through P41
    assert good in srv.state.products and srv.state.products[good].source == "mirakl"
    fnac = Fnac(srv)
    batch = fnac.call(
        "offers_update",
        offers_update_xml(
            [
                {"sku": "P41-OK", "ean": good, "price": "299.00", "quantity": 2},
                {"sku": "P41-NOT", "ean": _ean("000999"), "price": "299.00"},
            ]
        ),
    ).findtext(q("batch_id"))
    root = fnac.call("batch_status", f"<batch_id>{batch}</batch_id>")
    result = {o.findtext(q("offer_seller_id")): o for o in root.findall(q("offer"))}
    assert result["P41-OK"].get("status") == "OK"
    assert result["P41-NOT"].find(q("error")).get("code") == "ERR_026"
    assert srv.state.offers["P41-OK"].product_name == "Galaxy Sandbox 128 Go"


def test_import_without_errors_has_no_report(srv):
    r = _import(
        srv,
        f"category;ean;title;brand;author;language\nLIV_ROMANS;{_ean('978000123')};Roman;Folio;"
        "Victor Hugo;Français\n",
    )
    import_id = r.json()["import_id"]
    status = _get(srv, f"/api/products/imports/{import_id}").json()
    assert status["has_error_report"] is False and status["transform_lines_in_success"] == 1
    assert _get(srv, f"/api/products/imports/{import_id}/error_report").status_code == 404
    assert _get(srv, "/api/products/imports/999").status_code == 404
    listing = _get(srv, "/api/products/imports").json()
    assert listing["product_import_trackings"][0]["import_id"] == import_id


def _status_after_a_minute(server, import_id):
    server.clock.advance(P42_MIN_INTERVAL)
    return _get(server, f"/api/products/imports/{import_id}").json()


def test_import_progresses_with_delay(make_srv):
    server = make_srv(import_delay=400)  # simulated seconds: statuses change every 100 s
    r = _import(
        server,
        f"category;ean;title;brand\nINFO_SOURIS;{_ean('376001')};Souris;Logitech\n"
        "INFO_SOURIS;123;Souris;Logitech\n",
    )
    import_id = r.json()["import_id"]
    first = _get(server, f"/api/products/imports/{import_id}").json()
    assert first["import_status"] == "TRANSFORMATION_WAITING"
    assert first["has_error_report"] is False
    seen = [first["import_status"]]
    for _ in range(8):
        final = _status_after_a_minute(server, import_id)
        seen.append(final["import_status"])
        if seen[-1] == "RUNNING":
            assert _get(server, f"/api/products/imports/{import_id}/error_report").status_code == 404
    order = ["TRANSFORMATION_WAITING", "TRANSFORMATION_RUNNING", "WAITING", "RUNNING", "COMPLETE"]
    assert sorted(set(seen), key=order.index) == order
    assert seen == sorted(seen, key=order.index)
    assert final["import_status"] == "COMPLETE" and final["has_error_report"] is True


def test_import_needs_a_file(srv):
    r = requests.post(
        srv.mirakl_url + "/api/products/imports",
        data={"x": "y"},
        timeout=10,
        headers={"Authorization": srv.credentials.mirakl_key},
    )
    assert r.status_code == 400
    r = _import(srv, "")  # the refused call counted: Mirakl counts calls
    assert r.status_code == 201
    assert _get(srv, f"/api/products/imports/{r.json()['import_id']}").json()["import_status"] == "FAILED"


def test_unknown_mirakl_path_is_404(srv):
    assert _get(srv, "/api/nothing").status_code == 404


# ---------------------------------------------------------------- frequency limits (429 with Retry-After)
def test_p41_more_than_once_per_15_minutes_gets_429_with_retry_after(srv):
    line = f"category;ean;title;brand\nINFO_SOURIS;{_ean('376101')};Souris;Logitech\n"
    assert _import(srv, line).status_code == 201
    srv.clock.advance(600)
    r = _import(srv, line, wait=False)
    assert r.status_code == 429 and r.headers["Retry-After"] == "300"
    assert len(srv.state.imports) == 1  # nothing created
    srv.clock.advance(299)
    assert _import(srv, line, wait=False).status_code == 429
    srv.clock.advance(1)
    assert _import(srv, line, wait=False).status_code == 201
    assert len(srv.state.imports) == 2


def test_p42_more_than_once_a_minute_per_import_gets_429(srv):
    line = f"category;ean;title;brand\nINFO_SOURIS;{_ean('376102')};Souris;Logitech\n"
    import_id = _import(srv, line).json()["import_id"]
    assert _get(srv, f"/api/products/imports/{import_id}").status_code == 200
    srv.clock.advance(20)
    r = _get(srv, f"/api/products/imports/{import_id}")
    assert r.status_code == 429 and r.headers["Retry-After"] == "40"
    assert r.json()["status"] == 429
    srv.clock.advance(40)
    assert _get(srv, f"/api/products/imports/{import_id}").status_code == 200
    other = _import(srv, line).json()["import_id"]  # the limit is per import
    assert _get(srv, f"/api/products/imports/{other}").status_code == 200


# ---------------------------------------------------------------- terminal statuses, P47
def test_unknown_column_fails_the_transformation_with_a_p47_report(srv):
    ean = _ean("376103")
    import_id = _import(srv, f"category;ean;product_title;brand\nINFO_SOURIS;{ean};Souris;Logitech\n").json()[
        "import_id"]
    status = _get(srv, f"/api/products/imports/{import_id}").json()
    assert status["import_status"] == "TRANSFORMATION_FAILED"
    assert status["has_transformation_error_report"] is True and status["has_error_report"] is False
    assert "product_title" in status["reason_status"]
    report = _get(srv, f"/api/products/imports/{import_id}/transformation_error_report")
    assert report.status_code == 200
    header, row = report.text.strip().split("\n")
    assert header == "category;ean;product_title;brand;errors"
    assert row.startswith(f"INFO_SOURIS;{ean};") and "'product_title' is not an attribute" in row
    assert ean not in srv.state.products  # nothing integrated
    assert _get(srv, f"/api/products/imports/{import_id}/error_report").status_code == 404
    assert srv.requests_for("P47")


def test_a_line_with_too_many_values_is_a_transformation_error_of_that_line_only(srv):
    good, bad = _ean("978000124"), _ean("978000125")
    import_id = _import(srv, f"{BOOK_HEADER}\nLIV_ROMANS;{good};Roman;Folio;Victor Hugo;Français\n"
                             f"LIV_ROMANS;{bad};Roman;Folio;Victor Hugo;Français;extra\n").json()["import_id"]
    status = _get(srv, f"/api/products/imports/{import_id}").json()
    assert status["import_status"] == "COMPLETE"
    assert status["has_transformation_error_report"] is True and status["has_error_report"] is False
    assert good in srv.state.products and bad not in srv.state.products
    report = _get(srv, f"/api/products/imports/{import_id}/transformation_error_report").text
    assert bad in report and good not in report


@pytest.mark.parametrize(("outcome", "created"), [("SENT", True), ("CANCELLED", False), ("FAILED", False)])
def test_operator_outcomes(srv, outcome, created):
    r = requests.post(srv.base_url + "/sandbox/mirakl", json={"import_outcome": outcome}, timeout=5)
    assert r.status_code == 200
    ean = _ean("978000126")
    import_id = _import(srv, f"{BOOK_HEADER}\nLIV_ROMANS;{ean};Roman;Folio;Victor Hugo;Français\n"
                             "LIV_ROMANS;123;Roman;Folio;Victor Hugo;Français\n").json()["import_id"]
    status = _get(srv, f"/api/products/imports/{import_id}").json()
    assert status["import_status"] == outcome
    assert (ean in srv.state.products) is created
    assert status["has_error_report"] is True  # the invalid line, whatever the outcome
    assert requests.post(srv.base_url + "/sandbox/mirakl", json={"import_outcome": "NOPE"},
                         timeout=5).status_code == 400
