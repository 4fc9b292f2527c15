"""Page cap of a catalogue run (issue 9, item 8): a listing longer than MARKETPLACE_MAX_PAGES fails the run
clearly, naming the cap, and keeps the pages it committed."""

from __future__ import annotations

import pytest

from catalogue.imports import catalogue_sync
from catalogue.models import Product
from fnac_connector.marketplace.errors import TooManyPages
from stores.models import SyncRun
from stores.syncs import cursor_get

pytestmark = pytest.mark.django_db


def test_a_catalogue_longer_than_the_page_cap_fails_the_run_and_keeps_what_was_read(connected_store, sandbox,
                                                                                     settings):
    settings.CATALOGUE_PAGE_SIZE = 10
    settings.MARKETPLACE_MAX_PAGES = 3
    sandbox.seed_offers(100)  # 10 pages

    with pytest.raises(TooManyPages):
        catalogue_sync(store=connected_store, full=False, trigger="test")

    assert len(sandbox.requests_for("offers_query")) == 3  # not one page more
    run = SyncRun.objects.get(store=connected_store, kind=SyncRun.Kind.CATALOGUE_IMPORT)
    assert run.state == SyncRun.State.FAILED
    assert "MARKETPLACE_MAX_PAGES = 3" in run.message and "TooManyPages" in run.message
    assert "FNAC announced 10 pages" in run.message
    # the three committed pages stay; nothing is flagged removed and the cursor does not move
    assert run.processed == 30
    assert Product.objects.filter(store=connected_store).count() == 30
    assert not Product.objects.filter(store=connected_store, removed_on_fnac=True).exists()
    assert cursor_get(store=connected_store, name="catalogue_modified") is None


def test_a_catalogue_within_the_page_cap_imports_whole(connected_store, sandbox, settings):
    settings.CATALOGUE_PAGE_SIZE = 10
    settings.MARKETPLACE_MAX_PAGES = 10
    sandbox.seed_offers(100)
    run = catalogue_sync(store=connected_store, full=False, trigger="test")
    assert run.state == SyncRun.State.SUCCEEDED
    assert Product.objects.filter(store=connected_store).count() == 100
