"""OMS → FNAC: single product listing, batch follow-up, Mirakl P41/P42/P44 creation, lifecycle."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import Schedule

from catalogue.listing import product_create, products_activate, products_deactivate, products_list_request
from catalogue.models import Category, ListingJob, Product
from catalogue.validation import gs1_check_ok
from fnac_connector.errors import InvalidInput
from stores.models import SyncIssue, SyncRun

pytestmark = pytest.mark.django_db
LS = Product.ListingState


def ean13(first12: str) -> str:
    for d in "0123456789":
        if gs1_check_ok(first12 + d):
            return first12 + d
    raise AssertionError


def mouse(**overrides):
    data = {"sku": "MOUSE-1", "ean": ean13("376000000001"), "name": "Souris sans fil Logitech M1",
            "brand": "Logitech", "category": "INFO_SOURIS", "condition": "11", "price": "24.90", "quantity": 12,
            "description": "Souris sans fil 2.4 GHz", "images": ["https://img.invalid/m1.jpg"],
            "attributes": {"connection": "Sans fil 2.4 GHz"}}
    data.update(overrides)
    return data


def test_single_product_is_listed_and_followed_until_live(reference_data, sandbox, run_on_commit):
    product = run_on_commit(product_create, store=reference_data, data=mouse(), trigger="test")
    product.refresh_from_db()
    assert product.listing_state == LS.LIVE, product.listing_message
    offer = sandbox.state.offers["MOUSE-1"]
    assert product.fnac_offer_id == offer.offer_fnac_id and offer.price == Decimal("24.90")
    assert offer.quantity == 12 and offer.description == "Souris sans fil 2.4 GHz"
    assert offer.image == "https://img.invalid/m1.jpg" and offer.ean == product.ean
    body = sandbox.requests_for("offers_update")[0].body.decode()
    for fragment in (f'<product_reference type="Ean">{product.ean}</product_reference>',
                     '<offer_reference type="SellerSku">MOUSE-1</offer_reference>', "<price>24.90</price>",
                     "<product_state>11</product_state>", "<quantity>12</quantity>", "<picture_1>"):
        assert fragment in body
    assert sandbox.requests_for("batch_status")
    job = ListingJob.objects.get(kind=ListingJob.Kind.OFFERS_UPDATE)
    assert job.is_final and job.status == "OK" and product.pk in job.product_ids
    run = SyncRun.objects.get(kind=SyncRun.Kind.PRODUCT_LISTING)
    assert run.counts["live"] == 1 and run.state == SyncRun.State.SUCCEEDED


@pytest.mark.parametrize("overrides, field, words", [
    ({"brand": "Logitek"}, "brand", "Logitech"),
    ({"price": "0.50"}, "price", "0.90"),
    ({"price": "12.345"}, "price", "decimals"),
    ({"ean": "1234567890123"}, "ean", "check digit"),
    ({"attributes": {}}, "connection", "required"),
    ({"attributes": {"connection": "Wifi 7"}}, "connection", "not in the list"),
    ({"category": "INFORMATIQUE"}, "category", "leaf"),
    ({"category": "NOPE"}, "category", "unknown"),
    ({"condition": "99"}, "condition", "condition"),
    ({"name": "x" * 201}, "name", "200"),
    ({"images": ["ftp://x"]}, "images", "http"),
])
def test_invalid_products_are_refused_with_field_errors(reference_data, sandbox, overrides, field, words):
    with pytest.raises(InvalidInput) as exc:
        product_create(store=reference_data, data=mouse(**overrides), trigger="test")
    assert words in exc.value.details[field]
    assert not Product.objects.exists() and not sandbox.requests_for("offers_update")


def test_duplicate_sku_is_refused(reference_data, run_on_commit):
    run_on_commit(product_create, store=reference_data, data=mouse(), trigger="test")
    with pytest.raises(InvalidInput) as exc:
        product_create(store=reference_data, data=mouse(ean=ean13("376000000002")), trigger="test")
    assert "already exists" in exc.value.details["sku"]


def test_unknown_ean_is_created_through_mirakl_then_listed(reference_data, sandbox, run_on_commit):
    ean = ean13("000999000001")
    product = run_on_commit(product_create, store=reference_data, data=mouse(ean=ean), trigger="test")
    product.refresh_from_db()
    assert product.listing_state == LS.LIVE, product.listing_message
    p41 = sandbox.requests_for("P41")[0].body.decode()
    assert "category;ean;title;brand" in p41 and f"INFO_SOURIS;{ean};" in p41 and "SANS_FIL_2_4_GHZ" in p41
    assert sandbox.requests_for("P42")
    assert sandbox.state.products[ean].source == "mirakl"
    assert len(sandbox.requests_for("offers_update")) == 2  # ERR_026, then listed once created
    assert ListingJob.objects.filter(kind=ListingJob.Kind.MIRAKL_IMPORT, status="COMPLETE").exists()


def test_mirakl_rejection_is_shown_line_by_line(reference_data, sandbox, run_on_commit):
    upc = "000999000002"  # a valid GS1 UPC-12: FNAC does not know it and Mirakl wants an EAN-13
    upc = next(upc[:11] + d for d in "0123456789" if gs1_check_ok(upc[:11] + d))
    product = run_on_commit(product_create, store=reference_data, data=mouse(ean=upc), trigger="test")
    product.refresh_from_db()
    assert product.listing_state == LS.REJECTED
    assert "Mirakl rejected" in product.listing_message and "Invalid EAN" in product.listing_message
    assert sandbox.requests_for("P44")
    job = ListingJob.objects.get(kind=ListingJob.Kind.MIRAKL_IMPORT)
    assert job.result["error_lines"][0]["sku"] == "MOUSE-1"
    assert SyncIssue.objects.filter(code="product_creation_rejected", reference="MOUSE-1").exists()


def test_unknown_ean_without_category_is_rejected_with_a_reason(connected_store, sandbox, run_on_commit):
    p = Product.objects.create(store=connected_store, sku="X1", ean=ean13("000999000003"), name="x",
                               price=Decimal("10.00"), stock_on_hand=1)
    run_on_commit(products_list_request, store=connected_store, product_ids=[p.pk], trigger="test")
    p.refresh_from_db()
    assert p.listing_state == LS.REJECTED and "no category" in p.listing_message
    assert not sandbox.requests_for("P41")


def test_locally_invalid_offer_is_not_sent_and_others_are(connected_store, sandbox, run_on_commit):
    good = Product.objects.create(store=connected_store, sku="G1", ean=ean13("376000000010"), name="g",
                                  price=Decimal("10.00"), stock_on_hand=1)
    bad = Product.objects.create(store=connected_store, sku="B1", ean=ean13("376000000011"), name="b", price=None)
    run_on_commit(products_list_request, store=connected_store, product_ids=[good.pk, bad.pk], trigger="test")
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.listing_state == LS.LIVE and bad.listing_state == LS.REJECTED and "no price" in bad.listing_message
    assert "B1" not in sandbox.requests_for("offers_update")[0].body.decode()


def _listed_slowly(store, sandbox, run_on_commit, settings, *, sku: str, ean: str) -> Product:
    """A product listed while FNAC keeps its batch running (nothing followed inline), read back."""
    settings.CATALOGUE_FOLLOW_INLINE_SECONDS = 0
    sandbox.batch_delay = 600
    p = Product.objects.create(store=store, sku=sku, ean=ean13(ean), name="s", price=Decimal("10.00"),
                               stock_on_hand=1)
    run_on_commit(products_list_request, store=store, product_ids=[p.pk], trigger="test")
    p.refresh_from_db()
    return p


def test_a_slow_batch_is_followed_later(connected_store, sandbox, run_on_commit, settings):
    p = _listed_slowly(connected_store, sandbox, run_on_commit, settings, sku="S1", ean="376000000020")
    job = ListingJob.objects.get()
    assert p.listing_state == LS.PENDING and not job.is_final and job.status in ("ACTIVE", "RUNNING")
    schedule = Schedule.objects.get(name=f"catalogue:follow:{job.pk}")
    assert schedule.func == "catalogue.tasks.listing_job_follow_task" and schedule.schedule_type == Schedule.ONCE

    with sandbox.state.lock:  # FNAC finishes the batch
        for batch in sandbox.state.pending_batches:
            batch.due_mono = 0
    sandbox.process_pending()
    from catalogue.tasks import listing_job_follow_task

    assert listing_job_follow_task(job.pk, 1) is True
    p.refresh_from_db()
    assert p.listing_state == LS.LIVE


def test_following_gives_up_after_the_limit(connected_store, sandbox, run_on_commit, settings):
    settings.CATALOGUE_FOLLOW_MAX_ATTEMPTS = 0
    p = _listed_slowly(connected_store, sandbox, run_on_commit, settings, sku="S2", ean="376000000021")
    assert p.listing_state == LS.REJECTED and "did not finish" in p.listing_message


# ---------------------------------------------------------------- lifecycle
def test_deactivate_and_activate_record_the_change_for_the_push(connected_store, sandbox, run_on_commit):
    from inventory.models import OfferChange

    sandbox.seed_offers(3)
    from catalogue.imports import catalogue_sync

    catalogue_sync(store=connected_store, full=False, trigger="test")
    p = Product.objects.get(sku="SKU-000001")
    Product.objects.filter(pk=p.pk).update(stock_on_hand=7)
    run_on_commit(products_deactivate, products=Product.objects.filter(pk=p.pk), trigger="test")
    p.refresh_from_db()
    assert not p.is_active and p.push_state == Product.PushState.HELD
    assert OfferChange.objects.filter(product=p).exists()
    assert sandbox.state.offers["SKU-000001"].quantity == 0  # the inventory push reads is_active

    # the captured callbacks above already ran; drop them so inventory's "drain already queued" check does not
    # see them (after a real commit that list is empty)
    from django.db import connection

    connection.run_on_commit.clear()
    run_on_commit(products_activate, products=Product.objects.filter(pk=p.pk), trigger="test")
    p.refresh_from_db()
    assert p.is_active and sandbox.state.offers["SKU-000001"].quantity == 7


def test_delete_offer_from_the_admin_with_confirmation(connected_store, sandbox, superuser, client,
                                                       django_capture_on_commit_callbacks):
    from catalogue.imports import catalogue_sync

    sandbox.seed_offers(2)
    catalogue_sync(store=connected_store, full=False, trigger="test")
    p = Product.objects.get(sku="SKU-000002")
    client.force_login(superuser)
    page = client.post("/admin/catalogue/product/", {"action": "delete_offer", "_selected_action": [p.pk]})
    assert page.status_code == 200 and "Yes, delete the offers on FNAC" in page.content.decode()
    assert not sandbox.requests_for("offers_update")
    # confirmed without a reason: the page again, with the field error, and nothing sent
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post("/admin/catalogue/product/", {"action": "delete_offer", "_selected_action": [p.pk],
                                                         "confirmed": "yes"})
    assert page.status_code == 200 and "This field is required" in page.content.decode()
    assert not sandbox.requests_for("offers_update")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/admin/catalogue/product/", {"action": "delete_offer", "_selected_action": [p.pk],
                                                  "confirmed": "yes", "reason": "end of range"})
    p.refresh_from_db()
    assert p.listing_state == LS.DELISTED and "deleted on FNAC" in p.listing_message
    assert "SKU-000002" not in sandbox.state.offers
    assert "<treatment>delete</treatment>" in sandbox.requests_for("offers_update")[0].body.decode()
    assert Product.objects.filter(pk=p.pk).exists()  # the OMS record stays


def test_product_page_shows_the_listing_state_and_message(reference_data, superuser, client):
    p = Product.objects.create(store=reference_data, sku="R1", ean=ean13("376000000030"), name="r",
                               listing_state=LS.REJECTED, listing_message="Rejected by FNAC: ERR_105: Price")
    client.force_login(superuser)
    html = client.get(f"/admin/catalogue/product/{p.pk}/change/").content.decode()
    assert "Rejected" in html and "ERR_105: Price" in html


def test_admin_create_form_shows_required_attributes_and_lists(reference_data, sandbox, superuser, client,
                                                               django_capture_on_commit_callbacks):
    client.force_login(superuser)
    html = client.get("/admin/catalogue/product/create/?category=INFO_SOURIS").content.decode()
    assert "attr_connection" in html and "Sans fil 2.4 GHz" in html
    data = mouse()
    form = {k: v for k, v in data.items() if k not in ("images", "attributes")}
    form.update(store=reference_data.pk, images="https://img.invalid/m1.jpg", attr_connection="Sans fil 2.4 GHz")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/admin/catalogue/product/create/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Product.objects.get(sku="MOUSE-1").listing_state == LS.LIVE
    form["sku"], form["brand"] = "MOUSE-2", "Logitech"
    form["price"] = "0.10"
    response = client.post("/admin/catalogue/product/create/", form)
    assert response.status_code == 200 and not Product.objects.filter(sku="MOUSE-2").exists()


def test_a_second_product_import_within_15_minutes_waits_for_the_next_slot(reference_data, sandbox, run_on_commit):
    from catalogue.listing import products_create_waiting

    first = run_on_commit(product_create, store=reference_data, data=mouse(ean=ean13("000999000011")),
                          trigger="test")
    second = run_on_commit(product_create, store=reference_data,
                           data=mouse(sku="MOUSE-2", ean=ean13("000999000012")), trigger="test")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.listing_state == LS.LIVE
    assert len(sandbox.requests_for("P41")) == 1  # Mirakl allows one product import every 15 minutes
    assert second.listing_state == LS.CREATING and second.awaiting_creation_slot
    assert "next Mirakl import" in second.listing_message
    schedule = Schedule.objects.get(name=f"catalogue:p41:{reference_data.pk}")
    assert schedule.func == "catalogue.tasks.mirakl_create_waiting_task"
    # the slot has come (for the connector and for Mirakl, whose P41 limit answers 429 sooner)
    ListingJob.objects.filter(kind=ListingJob.Kind.MIRAKL_IMPORT).update(
        created_at=timezone.now() - dt.timedelta(minutes=16))
    sandbox.clock.advance(16 * 60)
    run_on_commit(products_create_waiting, store=reference_data)
    second.refresh_from_db()
    assert len(sandbox.requests_for("P41")) == 2
    assert second.listing_state == LS.LIVE and not second.awaiting_creation_slot


def test_mirakl_rate_limit_keeps_the_product_for_later(reference_data, sandbox, run_on_commit, settings):
    settings.MARKETPLACE_MAX_RETRIES = 0
    product = Product.objects.create(store=reference_data, sku="RL-1", ean=ean13("000999000013"), name="x",
                                     brand="Logitech", category=Category.objects.get(code="INFO_SOURIS"),
                                     attributes={"connection": "SANS_FIL_2_4_GHZ"}, price=Decimal("10.00"))
    from catalogue.listing import products_create_on_mirakl

    sandbox.set_faults(1.0, ["429"])
    assert products_create_on_mirakl(store=reference_data, products=[product]) is None
    sandbox.set_faults(0.0)
    product.refresh_from_db()
    assert product.listing_state == LS.CREATING and product.awaiting_creation_slot  # not rejected


def test_a_listing_fnac_refuses_whole_is_split_and_only_the_offending_offer_is_rejected(
        connected_store, sandbox, run_on_commit):
    """FNAC refuses an offers_update whole (ERR_096, no batch) when one offer does not validate: the connector
    sends the offers again in halves until the offending one is alone; the others are listed."""
    products = [Product.objects.create(store=connected_store, sku=f"S{i}", ean=ean13(f"37600000002{i}"), name="s",
                                       price=Decimal("10.00"), stock_on_hand=1) for i in range(5)]
    sandbox.refuse(skus=["S3"])
    run_on_commit(products_list_request, store=connected_store, product_ids=[p.pk for p in products],
                  trigger="test")
    states = {p.sku: (p.listing_state, p.listing_message) for p in Product.objects.all()}
    assert [states[f"S{i}"][0] for i in range(5)] == [LS.LIVE] * 3 + [LS.REJECTED, LS.LIVE]
    assert states["S3"][1].startswith("Rejected by FNAC: ERR_096: XML Validation failed")
    assert set(sandbox.state.offers) >= {"S0", "S1", "S2", "S4"} and "S3" not in sandbox.state.offers
    bodies = [r.body.decode() for r in sandbox.requests_for("offers_update")]
    assert len(bodies) > 1 and [b for b in bodies if "S3<" in b][-1].count("<offer>") == 1
    issue = SyncIssue.objects.get(code="offer_rejected")
    assert issue.reference == "S3" and "ERR_096" in issue.message
    jobs = ListingJob.objects.filter(kind=ListingJob.Kind.OFFERS_UPDATE)
    assert sorted(pk for job in jobs for pk in job.product_ids) == sorted(p.pk for p in products if p.sku != "S3")


def test_an_ok_batch_without_offer_lines_lists_every_product_and_reads_their_fnac_ids(
        connected_store, sandbox, run_on_commit):
    """FNAC answers a finished batch whose offers all went through with the batch_id only (recorded): every product
    of it is live (not rejected "MISSING"), and FNAC's offer ids are read back with offers_query by SKU."""
    products = [Product.objects.create(store=connected_store, sku=f"OK{i}", ean=ean13(f"37600000003{i}"), name="s",
                                       price=Decimal("10.00"), stock_on_hand=1) for i in range(3)]
    run_on_commit(products_list_request, store=connected_store, product_ids=[p.pk for p in products],
                  trigger="test")
    for p in Product.objects.filter(pk__in=[p.pk for p in products]):
        assert p.listing_state == LS.LIVE and p.listing_message == ""
        assert p.fnac_offer_id == sandbox.state.offers[p.sku].offer_fnac_id
    query = sandbox.requests_for("offers_query")[-1].body.decode()
    assert all(f"<offer_seller_id>OK{i}</offer_seller_id>" in query for i in range(3))
    assert not SyncIssue.objects.exists()


def test_an_offer_fnac_already_has_is_relisted_by_sku_alone_without_an_ean(connected_store, sandbox, run_on_commit):
    """Imported offers have no EAN (FNAC's offers_query does not send it): relisting, pricing, deactivating and
    activating one goes by offer_reference alone; only a new offer needs product_reference."""
    from catalogue.imports import catalogue_sync
    from catalogue.listing import product_update

    sandbox.seed_offers(2)
    catalogue_sync(store=connected_store, full=False, trigger="test")
    p = Product.objects.get(sku="SKU-000001")
    assert p.ean == "" and p.fnac_offer_id and p.listing_state == LS.LIVE
    sandbox.clear_requests()
    run_on_commit(product_update, product=p, data={"description": "Nouvelle description", "price": "31.00"},
                  trigger="test")
    p.refresh_from_db()
    assert p.listing_state == LS.LIVE, p.listing_message
    offer = sandbox.state.offers["SKU-000001"]
    assert offer.description == "Nouvelle description" and offer.price == Decimal("31.00")
    bodies = [r.body.decode() for r in sandbox.requests_for("offers_update")]
    assert bodies and all("product_reference" not in b for b in bodies)
    assert any("<description>Nouvelle description</description>" in b for b in bodies)
    assert not SyncIssue.objects.exists()

    # a new offer still needs its EAN: refused locally, nothing sent for it
    new = Product.objects.create(store=connected_store, sku="NEW-NOEAN", name="n", price=Decimal("10.00"),
                                 stock_on_hand=1)
    sandbox.clear_requests()
    run_on_commit(products_list_request, store=connected_store, product_ids=[new.pk], trigger="test")
    new.refresh_from_db()
    assert new.listing_state == LS.REJECTED and "no EAN" in new.listing_message
    assert not sandbox.requests_for("offers_update")


def test_deleting_an_offer_fnac_no_longer_has_is_checked_with_offers_query_not_by_error_code(
        connected_store, sandbox, run_on_commit):
    """FNAC's code for "offer not found" is unknown (the sandbox's ERR_107 is its own choice): a refused deletion
    counts as done only when offers_query shows the offer is gone."""
    from catalogue.imports import catalogue_sync
    from catalogue.listing import products_delete_request

    sandbox.seed_offers(2)
    catalogue_sync(store=connected_store, full=False, trigger="test")
    with sandbox.state.lock:
        del sandbox.state.offers["SKU-000001"]  # deleted in FNAC's back office meanwhile
        sandbox.state.offers_changed()
    ids = list(Product.objects.filter(store=connected_store).values_list("pk", flat=True))
    sandbox.clear_requests()
    run_on_commit(products_delete_request, store=connected_store, product_ids=ids, trigger="test")
    for p in Product.objects.filter(pk__in=ids):
        assert p.listing_state == LS.DELISTED and p.removed_on_fnac, (p.sku, p.listing_message)
    assert "<offer_seller_id>SKU-000001</offer_seller_id>" in sandbox.requests_for("offers_query")[-1].body.decode()
    assert "SKU-000002" not in sandbox.requests_for("offers_query")[-1].body.decode()  # its deletion went through
    assert not SyncIssue.objects.filter(code="delete_rejected").exists()
