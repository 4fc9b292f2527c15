"""A seller adds a store, connects it with a wrong key (clear error, the run reads Failed), then with the right
one; a second store with the same FNAC Shop ID is refused, naming the first."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from stores.models import Store, SyncRun
from tests.browser.world import store_fields

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WRONG_KEY = "00000000-0000-0000-0000-000000000000"


def test_connect_wrong_key_then_right_key_and_a_second_store_on_the_same_shop_is_refused(ui, admin_user, sandbox):
    ui.login("boss")
    data = store_fields(sandbox, "Boutique Lyon")

    # a new store, with its keys
    ui.go("/admin/stores/store/add/")
    ui.fill({k: data[k] for k in ("name", "partner_id", "shop_id", "fnac_key", "mirakl_api_key", "fnac_base_url",
                                  "mirakl_base_url")})
    ui.save()
    store = Store.objects.get(name="Boutique Lyon")
    assert store.status == Store.Status.NOT_CONNECTED and store.fnac_key == data["fnac_key"]

    # Connect with a wrong FNAC key: a clear error, the store and its connect run read Failed
    ui.go(f"/admin/stores/store/{store.pk}/change/")
    ui.click_link(f"/{store.pk}/connect/")
    ui.fill({"fnac_key": WRONG_KEY})
    ui.submit("Connect Store")
    expect(ui.page.locator("body")).to_contain_text("FNAC refused the credentials (ERR_097)")
    ui.step("connect-wrong-key")
    store.refresh_from_db()
    assert store.status == Store.Status.FAILED and "ERR_097" in store.last_error
    assert store.fnac_key == data["fnac_key"]  # a refused key never replaces the stored one
    run = SyncRun.objects.get(store=store, kind=SyncRun.Kind.CONNECT)
    assert run.state == SyncRun.State.FAILED and "ERR_097" in run.message
    api_runs = ui.api(f"/api/sync-runs/?store={store.pk}&kind=connect")["results"]
    assert [(r["id"], r["state"]) for r in api_runs] == [(run.pk, "failed")]
    # FNAC was asked with the wrong key (the sandbox log keeps its last 4 characters only)
    assert any(r.service == "auth" and b"****0000" in r.body for r in sandbox.requests)

    # the sync run page says Failed and why
    ui.go(f"/admin/stores/syncrun/{run.pk}/change/")
    expect(ui.page.locator("body")).to_contain_text("Failed")
    expect(ui.page.locator("body")).to_contain_text("ERR_097")

    # Connect again with the stored (right) key
    ui.go(f"/admin/stores/store/{store.pk}/change/")
    ui.click_link(f"/{store.pk}/connect/")
    ui.submit("Connect Store")
    expect(ui.page.locator("body")).to_contain_text("is connected")
    ui.step("store-connected", screen="store")
    store.refresh_from_db()
    assert store.status == Store.Status.CONNECTED and store.last_error == ""
    last = SyncRun.objects.filter(store=store, kind=SyncRun.Kind.CONNECT).order_by("-pk").first()
    assert last.state == SyncRun.State.SUCCEEDED
    assert any(r.service == "A01" for r in sandbox.requests)  # Mirakl was checked too

    # a second store on the same FNAC shop: refused, naming the store that has it
    ui.go("/admin/stores/store/add/")
    ui.fill({**{k: data[k] for k in ("partner_id", "shop_id", "fnac_key", "mirakl_api_key", "fnac_base_url",
                                     "mirakl_base_url")}, "name": "Boutique Lyon bis"})
    ui.save()
    expect(ui.page.locator("body")).to_contain_text("Boutique Lyon")
    expect(ui.page.locator(".errorlist, .errornote").first).to_be_visible()
    ui.step("second-store-refused")
    assert "Boutique Lyon" in ui.page.locator(".errorlist, .errornote").all_inner_texts().__str__()
    assert list(Store.objects.values_list("name", flat=True)) == ["Boutique Lyon"]
