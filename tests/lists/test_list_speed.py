"""console/listspeed.py: unfold's changelist headers are built once per page instead of once per row, and the page
is the same as with unfold's own per-row headers."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from unfold.templatetags import unfold_list

from console import listspeed
from tests.lists.rows import add_rows

pytestmark = pytest.mark.django_db


def without_token(html: bytes) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html.decode())


@pytest.mark.parametrize("url", ["/admin/orders/order/", "/admin/inventory/stock/", "/admin/stores/syncrun/"])
def test_headers_built_once_per_page_and_page_unchanged(client, superuser, two_stores, url):
    add_rows(two_stores, 10)
    client.force_login(superuser)
    assert unfold_list.result_headers is listspeed.result_headers_once
    with mock.patch.object(listspeed, "_original_result_headers",
                           wraps=listspeed._original_result_headers) as built:
        fast = client.get(url)
    assert fast.status_code == 200
    assert len(fast.context_data["cl"].result_list) == 20
    assert built.call_count == 1  # unfold's own code: 21 (the header row, then once per row)

    with mock.patch.object(unfold_list, "result_headers", listspeed._original_result_headers):
        slow = client.get(url)
    assert without_token(fast.content) == without_token(slow.content)
