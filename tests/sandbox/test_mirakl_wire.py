"""Mirakl Catalog Manager JSON API of the sandbox."""

from __future__ import annotations

import time

import pytest
import requests

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


def _import(srv, csv_text: str, key=None):
    return requests.post(
        srv.mirakl_url + "/api/products/imports",
        timeout=10,
        headers={"Authorization": key or srv.credentials.mirakl_key},
        files={"file": ("products.csv", csv_text.encode(), "text/csv")},
    )


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


def test_import_progresses_with_delay(make_srv):
    server = make_srv(import_delay=1.5)
    r = _import(
        server,
        f"category;ean;title;brand\nINFO_SOURIS;{_ean('376001')};Souris;Logitech\n"
        "INFO_SOURIS;123;Souris;Logitech\n",
    )
    import_id = r.json()["import_id"]
    first = _get(server, f"/api/products/imports/{import_id}").json()
    assert first["import_status"] == "WAITING"
    assert first["has_error_report"] is False
    seen, deadline = [], time.monotonic() + 10
    while time.monotonic() < deadline:
        final = _get(server, f"/api/products/imports/{import_id}").json()
        seen.append(final["import_status"])
        if seen[-1] == "RUNNING":
            report = _get(server, f"/api/products/imports/{import_id}/error_report")
            # only meaningful if the import was still running when the report was asked for (a slow machine
            # can cross the due time between the two requests)
            if _get(server, f"/api/products/imports/{import_id}").json()["import_status"] == "RUNNING":
                assert report.status_code == 404
        if seen[-1] not in ("WAITING", "RUNNING"):
            break
        time.sleep(0.05)
    assert seen.index("RUNNING") > 0 and seen[-1] == "COMPLETE"
    assert seen == sorted(seen, key=["WAITING", "RUNNING", "COMPLETE"].index)
    assert final["import_status"] == "COMPLETE" and final["has_error_report"] is True


def test_import_needs_a_file(srv):
    r = requests.post(
        srv.mirakl_url + "/api/products/imports",
        data={"x": "y"},
        timeout=10,
        headers={"Authorization": srv.credentials.mirakl_key},
    )
    assert r.status_code == 400
    r = _import(srv, "")
    assert r.status_code == 201
    assert _get(srv, f"/api/products/imports/{r.json()['import_id']}").json()["import_status"] == "FAILED"


def test_unknown_mirakl_path_is_404(srv):
    assert _get(srv, "/api/nothing").status_code == 404
