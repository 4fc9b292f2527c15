"""Admin lists at volume (issue 14): django-unfold 0.91 rebuilds the whole header row of a changelist for *every
row* it renders (``items_for_result`` calls ``result_headers(cl)`` per row, for its small-screen labels), i.e. rows x
columns x columns work: at 100 rows a page that was most of a list page's time. The headers depend on the
changelist only, so they are built once per changelist and shared by its rows. Same output, byte for byte
(tests/lists/test_list_speed.py)."""

from __future__ import annotations

from unfold.templatetags import unfold_list

_original_result_headers = unfold_list.result_headers


def result_headers_once(cl):
    """``unfold_list.result_headers(cl)``, computed once per changelist object."""
    headers = getattr(cl, "_unfold_result_headers", None)
    if headers is None:
        headers = list(_original_result_headers(cl))
        cl._unfold_result_headers = headers
    return iter(headers)


def install() -> None:
    if unfold_list.result_headers is not result_headers_once:
        unfold_list.result_headers = result_headers_once
