"""FNAC → OMS catalogue import against the sandbox: connect, duplicates, idempotence, ownership, refresh."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from catalogue.imports import catalogue_sync
from catalogue.models import Category, CategoryAttribute, Product, ValuesListValue
from fnac_connector.marketplace.errors import MarketplaceError
from stores.models import SyncIssue, SyncRun
from stores.services import store_connect

from .conftest import touch_offer

pytestmark = pytest.mark.django_db


def test_connecting_imports_the_whole_catalogue_and_the_reference_data(store, sandbox, run_on_commit):
    sandbox.seed_offers(120)
    run_on_commit(store_connect, store=store, trigger="test")

    assert Product.objects.filter(store=store).count() == 120
    offer = sandbox.state.offers["SKU-000007"]
    p = Product.objects.get(store=store, sku="SKU-000007")
    assert (p.name, p.ean, p.fnac_product_id, p.fnac_offer_id) == (
        offer.product_name, "", offer.product_fnac_id, offer.offer_fnac_id)  # FNAC's offers carry no EAN
    assert p.price == offer.price and p.fnac_price == offer.price
    assert p.stock_on_hand == offer.quantity and p.fnac_quantity == offer.quantity
    assert p.condition == offer.product_state and p.description == offer.description
    assert p.image_url == offer.image and p.listing_state == Product.ListingState.LIVE
    assert not p.differs_from_fnac

    # Mirakl reference data: tree, attributes (common + per category), value lists with brands
    assert Category.objects.count() == len(sandbox.state.hierarchies)
    assert Category.objects.get(code="INFO_PORTABLES").parent_code == "INFORMATIQUE"
    assert CategoryAttribute.objects.filter(category=None, code="brand", required=True).exists()
    assert CategoryAttribute.objects.filter(category__code="INFO_PORTABLES", code="ram", required=True).exists()
    assert ValuesListValue.objects.filter(values_list__code="brands", label="Apple").exists()
    assert {"H11", "PM11", "VL11"} <= {r.service for r in sandbox.requests}

    run = SyncRun.objects.get(store=store, kind=SyncRun.Kind.CATALOGUE_IMPORT)
    assert run.state == SyncRun.State.SUCCEEDED and run.trigger == "connect:test"
    assert (run.processed, run.total) == (120, 120) and run.progress_percent == 100
    assert run.counts["created"] == 120
    # one page: the largest page size the sandbox allows
    queries = sandbox.requests_for("offers_query")
    assert len(queries) == 1 and b'results_count="1000"' in queries[0].body
    # the periodic refresh is scheduled for the store
    assert Schedule.objects.filter(name=f"store:{store.pk}:catalogue_refresh",
                                   func="catalogue.tasks.catalogue_refresh_task").exists()


def test_duplicate_skus_import_one_offer_by_a_stated_rule_and_report_both(connected_store, sandbox, settings):
    settings.CATALOGUE_PAGE_SIZE = 7  # duplicates fall on other pages than their twin
    sandbox.seed_offers(40, duplicate_skus=4)
    run = catalogue_sync(store=connected_store, full=False, trigger="test")

    assert Product.objects.filter(store=connected_store).count() == 40
    issues = list(SyncIssue.objects.filter(run=run, code="duplicate_sku"))
    assert len(issues) == 4 and run.state == SyncRun.State.PARTIAL and run.counts["duplicates"] == 4
    for issue in issues:
        sku = issue.reference
        offers = sandbox.state.offers_with_sku(sku)
        winner = min(offers, key=lambda o: o.offer_fnac_id.upper())
        loser = max(offers, key=lambda o: o.offer_fnac_id.upper())
        p = Product.objects.get(store=connected_store, sku=sku)
        assert p.fnac_offer_id == winner.offer_fnac_id
        assert p.price == winner.price  # first import: price and stock of the kept offer
        assert issue.details["kept"]["offer_fnac_id"] == winner.offer_fnac_id
        assert issue.details["skipped"]["offer_fnac_id"] == loser.offer_fnac_id
        assert issue.details["skipped"]["price"] == str(loser.price)
        assert winner.offer_fnac_id in issue.message and loser.offer_fnac_id in issue.message

    # a second run keeps the same offers and reports the duplicates again
    kept = dict(Product.objects.filter(store=connected_store).values_list("sku", "fnac_offer_id"))
    run2 = catalogue_sync(store=connected_store, full=True, trigger="test")
    assert dict(Product.objects.filter(store=connected_store).values_list("sku", "fnac_offer_id")) == kept
    assert SyncIssue.objects.filter(run=run2, code="duplicate_sku").count() == 4


def test_duplicates_visible_in_the_api(connected_store, sandbox, superuser, token_client):
    sandbox.seed_offers(10, duplicate_skus=2)
    run = catalogue_sync(store=connected_store, full=False, trigger="test")
    body = token_client(superuser).get(f"/api/sync-runs/{run.pk}/").json()
    dups = [i for i in body["issues"] if i["code"] == "duplicate_sku"]
    assert len(dups) == 2 and {"kept", "skipped"} <= set(dups[0]["details"])


def test_rerun_is_idempotent_and_never_overwrites_oms_price_and_stock(connected_store, sandbox):
    from inventory.models import OfferChange

    sandbox.seed_offers(25)
    catalogue_sync(store=connected_store, full=True, trigger="test")
    ids = dict(Product.objects.filter(store=connected_store).values_list("sku", "pk"))

    p = Product.objects.get(store=connected_store, sku="SKU-000003")
    Product.objects.filter(pk=p.pk).update(price=Decimal("77.70"), stock_on_hand=5)
    offer = touch_offer(sandbox, "SKU-000003", product_name="Nouveau nom", image="https://img.invalid/new.jpg")
    touch_offer(sandbox, "SKU-000004", price=Decimal("12.34"), quantity=3)

    run = catalogue_sync(store=connected_store, full=True, trigger="test")
    assert dict(Product.objects.filter(store=connected_store).values_list("sku", "pk")) == ids  # same rows
    p.refresh_from_db()
    assert p.name == "Nouveau nom" and p.image_url == "https://img.invalid/new.jpg"
    assert p.price == Decimal("77.70") and p.stock_on_hand == 5  # the OMS's values stay
    assert p.fnac_price == offer.price and p.fnac_quantity == offer.quantity and p.differs_from_fnac
    q = Product.objects.get(store=connected_store, sku="SKU-000004")
    assert q.fnac_price == Decimal("12.34") and q.price != Decimal("12.34") and q.differs_from_fnac
    assert run.counts["updated"] == 25 and run.counts.get("created", 0) == 0 and run.counts["differs"] >= 2
    assert Product.objects.filter(store=connected_store, differs_from_fnac=True).count() == run.counts["differs"]
    # values that came from FNAC are never pushed back (no echo)
    assert OfferChange.objects.count() == 0
    assert not sandbox.requests_for("offers_update")


def test_periodic_refresh_reads_modified_offers_and_a_full_pass_flags_removed(connected_store, sandbox):
    from catalogue.tasks import catalogue_refresh_task

    sandbox.seed_offers(30)
    catalogue_sync(store=connected_store, full=True, trigger="test")
    touch_offer(sandbox, "SKU-000010", product_name="Renamed on FNAC")
    sandbox.clear_requests()

    run_id = catalogue_refresh_task(connected_store.pk)
    run = SyncRun.objects.get(pk=run_id)
    assert run.kind == SyncRun.Kind.CATALOGUE_REFRESH and run.trigger == "schedule"
    body = sandbox.requests_for("offers_query")[0].body
    assert b'type="Modified"' in body
    assert run.processed < 30 and Product.objects.get(sku="SKU-000010").name == "Renamed on FNAC"

    with sandbox.state.lock:
        del sandbox.state.offers["SKU-000011"]
        sandbox.state.offers_changed()
    run = catalogue_sync(store=connected_store, full=True, trigger="test")
    gone = Product.objects.get(sku="SKU-000011")
    assert gone.removed_on_fnac and gone.listing_state == Product.ListingState.DELISTED
    assert "No longer on FNAC" in gone.listing_message and run.counts["removed"] == 1
    assert Product.objects.filter(removed_on_fnac=True).count() == 1


def test_refresh_is_skipped_when_catalogue_sync_is_switched_off(connected_store, sandbox):
    from catalogue.tasks import catalogue_refresh_task

    connected_store.sync_catalogue_enabled = False
    connected_store.save()
    assert catalogue_refresh_task(connected_store.pk) is None
    assert not sandbox.requests_for("offers_query")


def test_fnac_failure_fails_the_run_with_the_reason(connected_store, sandbox, settings):
    settings.MARKETPLACE_MAX_RETRIES = 1
    sandbox.seed_offers(5)
    sandbox.set_faults(1.0, ["500"])
    with pytest.raises(MarketplaceError):
        catalogue_sync(store=connected_store, full=False, trigger="test")
    run = SyncRun.objects.filter(store=connected_store, kind=SyncRun.Kind.CATALOGUE_IMPORT).latest("id")
    assert run.state == SyncRun.State.FAILED and "500" in run.message
    assert not Product.objects.exists()


def test_mirakl_failure_does_not_block_the_offers(connected_store, sandbox):
    sandbox.seed_offers(5)
    connected_store.mirakl_api_key = "wrong"
    connected_store.save(update_fields=["mirakl_api_key"])
    catalogue_sync(store=connected_store, full=True, trigger="test")
    assert SyncRun.objects.get(store=connected_store, kind=SyncRun.Kind.CATEGORIES).state == SyncRun.State.FAILED
    assert Product.objects.count() == 5


def test_transient_faults_are_survived(connected_store, sandbox, settings):
    settings.CATALOGUE_PAGE_SIZE = 20
    sandbox.seed_offers(60)
    sandbox.set_faults(0.3, ["503", "429", "drop"])
    run = catalogue_sync(store=connected_store, full=False, trigger="test")
    sandbox.set_faults(0.0)
    assert run.state == SyncRun.State.SUCCEEDED and Product.objects.count() == 60


# ---------------------------------------------------------------- doors
def test_api_starts_a_sync_and_answers_202_with_the_run(connected_store, sandbox, superuser, token_client,
                                                        django_capture_on_commit_callbacks):
    sandbox.seed_offers(8)
    client = token_client(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/stores/{connected_store.pk}/sync-catalogue/", {"full": False}, format="json")
    assert response.status_code == 202
    run = SyncRun.objects.get(pk=response.json()["run_id"])
    assert run.state == SyncRun.State.SUCCEEDED and run.trigger == "api" and Product.objects.count() == 8
    progress = client.get(f"/api/sync-runs/{run.pk}/").json()
    assert progress["processed"] == 8 and progress["total"] == 8 and progress["progress_percent"] == 100


def test_api_refuses_a_store_that_is_not_connected(store, superuser, token_client):
    response = token_client(superuser).post(f"/api/stores/{store.pk}/sync-catalogue/", {}, format="json")
    assert response.status_code == 409 and "not connected" in response.json()["detail"]


def test_api_hides_other_stores(connected_store, staff_user, token_client):
    response = token_client(staff_user).post(f"/api/stores/{connected_store.pk}/sync-catalogue/", {}, format="json")
    assert response.status_code == 404


def test_admin_action_and_store_button(connected_store, sandbox, superuser, client, django_capture_on_commit_callbacks):
    sandbox.seed_offers(6)
    client.force_login(superuser)
    page = client.get(f"/admin/stores/store/{connected_store.pk}/change/")
    url = f"/admin/catalogue/product/sync-store/{connected_store.pk}/"
    assert url in page.content.decode() and "Sync Catalogue" in page.content.decode()
    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"full": "on"})
    assert response.status_code == 302 and Product.objects.count() == 6

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/stores/store/", {"action": "sync_catalogue_action",
                                                        "_selected_action": [connected_store.pk]}, follow=True)
    assert "Catalogue sync started" in response.content.decode()
    assert SyncRun.objects.filter(kind=SyncRun.Kind.CATALOGUE_IMPORT, trigger="admin").count() == 2


def test_command_sync_catalogue(connected_store, sandbox, capsys):
    sandbox.seed_offers(9, duplicate_skus=1)
    call_command("sync_catalogue", "--store", str(connected_store.pk), "--full")
    out = capsys.readouterr().out
    assert "9 products created" in out and "duplicate_sku SKU-" in out
    assert Product.objects.count() == 9
