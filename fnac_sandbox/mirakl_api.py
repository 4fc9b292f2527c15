"""The Mirakl Catalog Manager (MCM) JSON API of the sandbox: A01, H11, PM11, VL11, P41, P42, P44, P51.

Authentication: the ``Authorization`` header must be exactly the Mirakl API key (no "Bearer"), else 401
``{"message": "Unauthorized"}``.

P41 takes a multipart ``file``: a CSV separated by ``;`` whose header row holds attribute codes (PM11). Each
line needs ``category`` (a leaf hierarchy code of H11) plus the required attributes of that category and of
its parents (``ean``, ``title``, ``brand`` for every category). LIST values must be a code or a label of the
attribute's value list; ``ean`` must be 13 digits with a valid check digit; ``title`` <= 200 chars,
``description`` <= 4000; INTEGER/DECIMAL must parse; MEDIA must be an http(s) URL. Valid lines create
products, whose EANs offers_update then knows. Invalid lines go to the P44 error report (the original columns
plus ``errors``).

Import life cycle (P42 ``import_status``), over the import delay measured on the simulated clock:
TRANSFORMATION_WAITING -> TRANSFORMATION_RUNNING -> WAITING -> RUNNING -> a terminal status. A header column
that is not an attribute code of the operator (PM11) cannot be transformed: the import ends
TRANSFORMATION_FAILED after the transformation phase, nothing is integrated, and the transformation error
report (P47, ``/transformation_error_report``) gives every line with the reason. A line with more cells than
the header is a transformation error of that line only (P47), the others go on. Otherwise the import ends
COMPLETE (or SENT / CANCELLED / FAILED when the ``import_outcome`` knob says so; SENT and COMPLETE create the
valid lines' products, CANCELLED and FAILED create nothing; FAILED still has its P44 report).

Frequency limits (Mirakl's documented call frequencies, on the simulated clock): P41 at most once per 15
minutes per shop, P42 at most once a minute per import; a call sooner gets HTTP 429 with ``Retry-After``
(seconds until it is allowed). A 429 is not counted as a call.
"""

from __future__ import annotations

import csv
import email.parser
import email.policy
import hashlib
import io
import json
import math
import re
import time
from decimal import Decimal, InvalidOperation

from . import catalog
from .clock import fmt
from .context import SandboxContext
from .seed import is_valid_ean13
from .state import Product, ProductImport

JSON = "application/json; charset=utf-8"
_IMPORT = re.compile(r"^/api/products/imports/(\d+)$")
_REPORT = re.compile(r"^/api/products/imports/(\d+)/error_report$")
_TRANSFORMATION_REPORT = re.compile(r"^/api/products/imports/(\d+)/transformation_error_report$")
P41_MIN_INTERVAL = 15 * 60  # seconds, per shop
P42_MIN_INTERVAL = 60  # seconds, per import
IMPORT_OUTCOMES = ("COMPLETE", "SENT", "CANCELLED", "FAILED")
TERMINAL_STATUSES = ("SENT", "COMPLETE", "FAILED", "CANCELLED", "TRANSFORMATION_FAILED")


def route_name(method: str, path: str) -> str:
    """Mirakl API code of a request, for the request log."""
    if path == "/api/account":
        return "A01"
    if path == "/api/hierarchies":
        return "H11"
    if path == "/api/products/attributes":
        return "PM11"
    if path == "/api/values_lists":
        return "VL11"
    if path == "/api/products/imports":
        return "P41" if method == "POST" else "P51"
    if _IMPORT.match(path):
        return "P42"
    if _REPORT.match(path):
        return "P44"
    if _TRANSFORMATION_REPORT.match(path):
        return "P47"
    return path


def _json(status: int, payload) -> tuple[int, bytes, str, dict]:
    return status, json.dumps(payload, ensure_ascii=False).encode(), JSON, {}


def _too_soon(what: str, wait: float) -> tuple[int, bytes, str, dict]:
    seconds = max(1, math.ceil(wait))
    body = {"message": f"Too many requests: {what}; retry in {seconds} seconds", "status": 429}
    return 429, json.dumps(body).encode(), JSON, {"Retry-After": str(seconds)}


class MiraklApi:
    def __init__(self, server: SandboxContext) -> None:
        self.server = server
        self.store = server.state
        self._hierarchy_codes = {code for code, _l, _p in catalog.HIERARCHIES}
        self._attribute_codes = {a["code"] for a in catalog.ATTRIBUTES}

    def sim_monotonic(self) -> float:
        """Monotonic seconds on the simulated clock: ``/sandbox/tick`` moves imports and frequency limits."""
        return time.monotonic() + self.server.clock.offset_seconds

    def authorized(self, headers) -> bool:
        return (headers.get("Authorization") or "") == self.server.credentials.mirakl_key

    def handle(self, method: str, path: str, query: dict[str, str], headers, body: bytes):
        """Returns (http status, body, content type, extra headers)."""
        if not self.authorized(headers):
            return _json(401, {"message": "Unauthorized", "status": 401})
        self.server.process_pending()
        name = route_name(method, path)
        get_routes = {
            "A01": self._account,
            "H11": self._hierarchies,
            "PM11": self._attributes,
            "VL11": self._values_lists,
            "P51": self._imports_list,
        }
        if name in get_routes:
            if method != "GET":
                return _json(405, {"message": f"Method {method} not allowed", "status": 405})
            return get_routes[name](query)
        if name == "P41":
            return self._import_create(headers, body)
        if name in ("P42", "P44", "P47"):
            if method != "GET":
                return _json(405, {"message": f"Method {method} not allowed", "status": 405})
            import_id = int((_IMPORT.match(path) or _REPORT.match(path) or _TRANSFORMATION_REPORT.match(path)).group(1))
            if name == "P42":
                return self._import_status(import_id)
            return self._error_report(import_id) if name == "P44" else self._transformation_report(import_id)
        return _json(404, {"message": f"Not found: {path}", "status": 404})

    # ---------------------------------------------------------------- reference data
    def _account(self, query):
        return _json(
            200,
            {
                "shop_id": self.server.mirakl_shop_id,
                "shop_name": "Boutique Sandbox",
                "shop_state": "OPEN",
                "currency_iso_code": "EUR",
                "is_professional": True,
                "channels": [{"code": "FNAC", "label": "Fnac"}, {"code": "DARTY", "label": "Darty"}],
                "contact_informations": {"email": "vendeur@example.com", "country": "FRA"},
                "date_created": "2023-05-02T08:00:00Z",
            },
        )

    def _hierarchies(self, query):
        nodes = self.store.hierarchies
        code = query.get("hierarchy")
        if code:
            if code not in self._hierarchy_codes:
                return _json(404, {"message": f"Hierarchy {code} not found", "status": 404})
            nodes = [n for n in nodes if code in catalog.ancestors(n["code"])]
        max_level = query.get("max_level")
        if max_level and max_level.isdigit():
            nodes = [n for n in nodes if n["level"] <= int(max_level)]
        return _json(200, {"hierarchies": [dict(n) for n in nodes]})

    def _attributes(self, query):
        code = query.get("hierarchy") or ""
        if code and code not in self._hierarchy_codes:
            return _json(404, {"message": f"Hierarchy {code} not found", "status": 404})
        return _json(200, {"attributes": catalog.attributes_for(code)})

    def _values_lists(self, query):
        lists = self.store.values_lists
        code = query.get("code")
        if code:
            lists = [vl for vl in lists if vl["code"] == code]
        return _json(200, {"values_lists": lists})

    # ---------------------------------------------------------------- imports
    @staticmethod
    def _file_from_multipart(headers, body: bytes) -> tuple[str, bytes] | None:
        ctype = headers.get("Content-Type") or ""
        if not ctype.lower().startswith("multipart/form-data"):
            return None
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body
        )
        if not message.is_multipart():
            return None
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                return part.get_filename() or "import.csv", part.get_payload(decode=True) or b""
        return None

    def _import_create(self, headers, body: bytes):
        now = self.sim_monotonic()
        with self.store.lock:
            last = self.store.last_p41
            if last is not None and now - last < P41_MIN_INTERVAL:
                return _too_soon("P41 is allowed once every 15 minutes", P41_MIN_INTERVAL - (now - last))
            self.store.last_p41 = now
        found = self._file_from_multipart(headers, body)
        if found is None:
            return _json(
                400, {"message": "A multipart/form-data part named 'file' is required", "status": 400}
            )
        filename, content = found
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            return _json(400, {"message": "The file must be UTF-8 encoded", "status": 400})
        rows = [r for r in csv.reader(io.StringIO(text), delimiter=";") if any(c.strip() for c in r)]
        header = [h.strip() for h in rows[0]] if rows else []
        now_mono = self.sim_monotonic()
        delay = self.server.import_delay
        unknown = [h for h in header if h not in self._attribute_codes]
        with self.store.lock:
            import_id = self.store.next_import_id
            self.store.next_import_id += 1
            imp = ProductImport(
                import_id=import_id,
                created_mono=now_mono,
                # a file that cannot be transformed stops after the transformation phase (half the delay)
                due_mono=now_mono + (delay / 2 if unknown else delay),
                date_created=self.server.clock.now(),
                filename=filename,
                header=header,
                rows=rows[1:],
                delay=delay,
                outcome=self.store.import_outcome,
                unknown_columns=unknown,
            )
            self.store.imports[import_id] = imp
            if delay <= 0:
                self.apply_import(imp)
            else:
                self.store.pending_imports.append(imp)
        return 201, json.dumps({"import_id": import_id}).encode(), JSON, {}

    def apply_import(self, imp: ProductImport) -> None:
        """Validate every line and create the products of the valid ones (caller holds the store lock)."""
        imp.done = True
        if not imp.header or not imp.rows:
            imp.status = "FAILED"
            return
        transformation = io.StringIO()
        t_writer = csv.writer(transformation, delimiter=";", lineterminator="\n")
        t_writer.writerow(imp.header + ["errors"])
        if imp.unknown_columns:
            reason = "; ".join(f"The column '{c}' is not an attribute of the operator" for c in imp.unknown_columns)
            for row in imp.rows:
                imp.lines_read += 1
                imp.lines_in_error += 1
                t_writer.writerow(list(row) + [reason])
            imp.transformation_report = transformation.getvalue().encode("utf-8")
            imp.status = "TRANSFORMATION_FAILED"
            return
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\n")
        writer.writerow(imp.header + ["errors"])
        seen: set[str] = set()
        transformation_errors = 0
        create = imp.outcome in ("COMPLETE", "SENT")
        for row in imp.rows:
            imp.lines_read += 1
            if len(row) > len(imp.header):
                imp.lines_in_error += 1
                transformation_errors += 1
                t_writer.writerow(list(row) + [f"The line has {len(row)} values for {len(imp.header)} columns"])
                continue
            values = {h: (row[i].strip() if i < len(row) else "") for i, h in enumerate(imp.header)}
            errors = self._line_errors(values)
            ean = values.get("ean", "")
            if not errors and ean in seen:
                errors.append(f"EAN {ean} appears twice in the file")
            if errors:
                imp.lines_in_error += 1
                writer.writerow(list(row) + [" | ".join(errors)])
                continue
            seen.add(ean)
            imp.lines_in_success += 1
            if not create:
                continue
            digest = int(hashlib.sha1(ean.encode()).hexdigest(), 16)
            self.store.products[ean] = Product(
                ean=ean,
                product_fnac_id=str(10_000_000 + digest % 89_999_999),
                name=values["title"],
                category=values["category"],
                brand=values.get("brand", ""),
                image=values.get("main_image", ""),
                source="mirakl",
            )
            imp.created_eans.append(ean)
        if imp.lines_in_error > transformation_errors:
            imp.error_report = out.getvalue().encode("utf-8")
        if transformation_errors:
            imp.transformation_report = transformation.getvalue().encode("utf-8")
        imp.status = imp.outcome

    def _line_errors(self, values: dict[str, str]) -> list[str]:
        errors = []
        category = values.get("category", "")
        if not category:
            errors.append("The attribute 'category' is required")
        elif category not in self._hierarchy_codes:
            errors.append(f"Unknown category '{category}'")
            category = ""
        elif category not in catalog.LEAVES:
            errors.append(f"Category '{category}' is not a leaf category")
        attributes = (
            catalog.attributes_for(category)
            if category
            else [a for a in catalog.ATTRIBUTES if a["hierarchy_code"] == ""]
        )
        for attr in attributes:
            code = attr["code"]
            if code == "category":
                continue
            value = values.get(code, "")
            if not value:
                if attr["required"]:
                    errors.append(f"The attribute '{code}' is required")
                continue
            kind = attr["type"]
            if kind == "LIST":
                allowed = catalog.VALUES_BY_LIST[attr["values_list"]]["values"]
                if value not in {v["code"] for v in allowed} | {v["label"] for v in allowed}:
                    errors.append(
                        f"The value '{value}' of attribute '{code}' is not in the list "
                        f"'{attr['values_list']}'"
                    )
            elif kind == "INTEGER" and not re.fullmatch(r"-?\d+", value):
                errors.append(f"The attribute '{code}' must be an integer")
            elif kind == "DECIMAL":
                try:
                    Decimal(value.replace(",", "."))
                except InvalidOperation:
                    errors.append(f"The attribute '{code}' must be a decimal number")
            elif kind == "MEDIA" and not re.match(r"^https?://", value):
                errors.append(f"The attribute '{code}' must be an http(s) URL")
        ean = values.get("ean", "")
        if ean and not is_valid_ean13(ean):
            errors.append(f"Invalid EAN '{ean}': 13 digits with a valid check digit expected")
        if len(values.get("title", "")) > 200:
            errors.append("The attribute 'title' is longer than 200 characters")
        if len(values.get("description", "")) > 4000:
            errors.append("The attribute 'description' is longer than 4000 characters")
        return errors

    def import_status(self, imp: ProductImport) -> str:
        if imp.done:
            return imp.status
        quarter = (self.sim_monotonic() - imp.created_mono) / imp.delay * 4 if imp.delay > 0 else 4
        phases = ("TRANSFORMATION_WAITING", "TRANSFORMATION_RUNNING", "WAITING", "RUNNING")
        if imp.unknown_columns:  # never leaves the transformation phase
            return phases[min(int(quarter), 1)]
        return phases[min(int(quarter), 3)]

    def _import_json(self, imp: ProductImport) -> dict:
        status = self.import_status(imp)
        done = imp.done
        return {
            "import_id": imp.import_id,
            "import_status": status,
            "date_created": fmt(imp.date_created),
            "shop_id": self.server.mirakl_shop_id,
            "origin": "API",
            "has_error_report": bool(done and imp.error_report),
            "has_new_product_report": bool(done and imp.lines_in_success),
            "has_transformed_file": bool(done and not imp.unknown_columns and imp.header),
            "has_transformation_error_report": bool(done and imp.transformation_report),
            "transform_lines_read": imp.lines_read if done else 0,
            "transform_lines_in_error": imp.lines_in_error if done else 0,
            "transform_lines_in_success": imp.lines_in_success if done else 0,
            "transform_lines_with_warning": 0,
            "reason_status": self._reason(imp, status),
        }

    @staticmethod
    def _reason(imp: ProductImport, status: str) -> str | None:
        if status == "FAILED":
            return ("The file is empty or has no header row" if not imp.header or not imp.rows
                    else "The import failed on the operator's side")
        if status == "TRANSFORMATION_FAILED":
            return "The file could not be transformed: " + ", ".join(imp.unknown_columns) + " unknown"
        if status == "CANCELLED":
            return "The import was cancelled by the operator"
        return None

    def _import_status(self, import_id: int):
        now = self.sim_monotonic()
        with self.store.lock:
            imp = self.store.imports.get(import_id)
            if imp is None:
                return _json(404, {"message": f"Import {import_id} not found", "status": 404})
            if imp.last_p42 is not None and now - imp.last_p42 < P42_MIN_INTERVAL:
                return _too_soon("P42 is allowed once a minute per import", P42_MIN_INTERVAL - (now - imp.last_p42))
            imp.last_p42 = now
            return _json(200, self._import_json(imp))

    def _imports_list(self, query):
        with self.store.lock:
            imports = [
                self._import_json(i) for i in sorted(self.store.imports.values(), key=lambda i: -i.import_id)
            ]
        return _json(200, {"product_import_trackings": imports, "total_count": len(imports)})

    def _error_report(self, import_id: int):
        with self.store.lock:
            imp = self.store.imports.get(import_id)
            if imp is None or not imp.done or not imp.error_report:
                return _json(404, {"message": f"No error report for import {import_id}", "status": 404})
            return 200, imp.error_report, "text/csv; charset=utf-8", {}

    def _transformation_report(self, import_id: int):
        with self.store.lock:
            imp = self.store.imports.get(import_id)
            if imp is None or not imp.done or not imp.transformation_report:
                return _json(404, {"message": f"No transformation error report for import {import_id}",
                                   "status": 404})
            return 200, imp.transformation_report, "text/csv; charset=utf-8", {}
