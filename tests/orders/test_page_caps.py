"""Page cap of an orders run (issue 9, item 8): FNAC announcing total_paging=999999999 no longer keeps a
worker paging for hours; the run fails naming the cap and keeps the orders it committed."""

from __future__ import annotations

import re

import pytest
import responses

from fnac_connector.marketplace.errors import TooManyPages
from orders.models import Order
from orders.services import SyncMode, orders_sync
from stores.models import SyncRun
from stores.services import store_create
from stores.syncs import cursor_get
from tests.marketplace import samples

pytestmark = pytest.mark.django_db

FNAC = "https://vendeur.fnac.com/api.php"


def test_endless_order_paging_fails_the_run_at_the_page_cap(settings):
    settings.MARKETPLACE_MAX_PAGES = 4
    settings.ORDERS_PAGE_SIZE = 1
    store = store_create(name="Hostile", partner_id="P", shop_id="S", fnac_key="K", mirakl_api_key="M",
                         fnac_base_url=FNAC + "/")

    def page(request):
        number = int(re.search(rb"<paging>(\d+)</paging>", request.body).group(1))
        return 200, {}, samples.orders_page([samples.order_xml(f"ORDER{number:09d}", state="ToShip")],
                                            page=number, total_paging=999_999_999, total=999_999_999)

    with responses.RequestsMock(assert_all_requests_are_fired=False) as wire:
        wire.add(responses.POST, FNAC + "/auth", body=samples.auth_ok())
        wire.add_callback(responses.POST, FNAC + "/orders_query", callback=page)
        with pytest.raises(TooManyPages) as info:
            orders_sync(store=store, mode=SyncMode.FULL, trigger="test")
        queries = [c for c in wire.calls if c.request.url.endswith("/orders_query")]

    assert info.value.limit == 4
    assert len(queries) == 4
    run = SyncRun.objects.get(store=store, kind=SyncRun.Kind.ORDERS_IMPORT)
    assert run.state == SyncRun.State.FAILED
    assert "MARKETPLACE_MAX_PAGES = 4" in run.message and "999999999" in run.message
    assert Order.objects.filter(store=store).count() == 4  # the pages read were committed
    assert cursor_get(store=store, name="orders_new") is None  # the window is read again next time
