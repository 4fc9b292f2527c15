"""Mirakl product creation against the sandbox over HTTP: every terminal P42 status, P42 at most once a minute
(and its 429's Retry-After), P41 paced by the 429 it gets, P41 columns named by the operator's PM11 codes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.models import Schedule

from catalogue.listing import (
    listing_job_follow,
    product_import_csv,
    products_create_on_mirakl,
    products_create_waiting,
)
from catalogue.models import Category, CategoryAttribute, ListingJob, Product
from catalogue.validation import CatalogueContext, gs1_check_ok
from stores.models import SyncIssue

pytestmark = pytest.mark.django_db
LS = Product.ListingState


def ean13(first12: str) -> str:
    return next(first12 + d for d in "0123456789" if gs1_check_ok(first12 + d))


def mouse(store, sku: str, tail: str, **attributes) -> Product:
    """A mouse FNAC does not know (``000...`` EAN), ready for a Mirakl import."""
    return Product.objects.create(
        store=store, sku=sku, ean=ean13(f"0009990{tail}"), name=f"Souris {sku}", brand="Logitech",
        category=Category.objects.get(code="INFO_SOURIS"), price=Decimal("19.90"), stock_on_hand=3,
        attributes=attributes if attributes else {"connection": "SANS_FIL_2_4_GHZ"})


def import_job() -> ListingJob:
    return ListingJob.objects.get(kind=ListingJob.Kind.MIRAKL_IMPORT)


def a_minute_passes(sandbox, job: ListingJob, seconds: int = 60) -> None:
    """Both clocks move: the sandbox's (Mirakl's limits) and the job's next allowed poll (the connector's)."""
    sandbox.clock.advance(seconds)
    job.refresh_from_db()
    job.result = {**job.result, "next_poll_at": (timezone.now() - dt.timedelta(seconds=1)).isoformat()}
    job.save(update_fields=["result"])


def test_sent_is_a_success(reference_data, sandbox, run_on_commit):
    sandbox.set_import_outcome("SENT")
    product = mouse(reference_data, "M-SENT", "00101")
    run_on_commit(products_create_on_mirakl, store=reference_data, products=[product])
    product.refresh_from_db()
    job = import_job()
    assert job.is_final and job.status == "SENT" and job.result["created"] == [product.pk]
    assert product.listing_state == LS.LIVE, product.listing_message
    assert "M-SENT" in sandbox.state.offers


def test_cancelled_is_final_and_rejects_with_the_reason(reference_data, sandbox, run_on_commit):
    sandbox.set_import_outcome("CANCELLED")
    product = mouse(reference_data, "M-CANC", "00102")
    run_on_commit(products_create_on_mirakl, store=reference_data, products=[product])
    product.refresh_from_db()
    job = import_job()
    assert job.is_final and job.status == "CANCELLED"
    assert product.listing_state == LS.REJECTED
    assert "ended CANCELLED" in product.listing_message and "cancelled" in product.listing_message
    assert not [r for r in sandbox.requests_for("offers_update") if b"M-CANC" in r.body]
    assert len(sandbox.requests_for("P42")) == 1  # final: not asked again


def test_failed_reads_the_p44_report_into_each_product(reference_data, sandbox, run_on_commit):
    sandbox.set_import_outcome("FAILED")
    good = mouse(reference_data, "M-GOOD", "00103")
    bad = mouse(reference_data, "M-BAD", "00104", grip="none")  # no 'connection': refused at integration
    run_on_commit(products_create_on_mirakl, store=reference_data, products=[good, bad])
    good.refresh_from_db()
    bad.refresh_from_db()
    assert import_job().status == "FAILED" and sandbox.requests_for("P44")
    assert bad.listing_state == LS.REJECTED
    assert "rejected the product creation" in bad.listing_message
    assert "'connection' is required" in bad.listing_message
    assert good.listing_state == LS.REJECTED
    assert "ended FAILED: The import failed on the operator's side" in good.listing_message
    assert not sandbox.requests_for("P47")


def test_transformation_failed_is_final_and_reads_the_p47_report(reference_data, sandbox, run_on_commit):
    # an attribute the operator no longer has (our PM11 copy is stale): Mirakl cannot transform the file
    CategoryAttribute.objects.create(category=Category.objects.get(code="INFO_SOURIS"), code="legacy_grip",
                                     label="Grip", type="TEXT")
    product = mouse(reference_data, "M-TRANS", "00105")
    run_on_commit(products_create_on_mirakl, store=reference_data, products=[product])
    product.refresh_from_db()
    job = import_job()
    assert job.is_final and job.status == "TRANSFORMATION_FAILED"
    assert sandbox.requests_for("P47") and not sandbox.requests_for("P44")
    assert product.listing_state == LS.REJECTED
    assert "could not transform the product line" in product.listing_message
    assert "'legacy_grip' is not an attribute of the operator" in product.listing_message
    assert job.result["error_lines"][0]["report"] == "transformation"
    assert job.result["error_lines"][0]["sku"] == "M-TRANS"
    assert len(sandbox.requests_for("P42")) == 1


def test_p42_is_asked_at_most_once_a_minute(reference_data, sandbox, run_on_commit):
    sandbox.import_delay = 400  # simulated seconds
    product = mouse(reference_data, "M-SLOW", "00106")
    run_on_commit(products_create_on_mirakl, store=reference_data, products=[product])
    job = import_job()
    assert not job.is_final and job.status == "TRANSFORMATION_WAITING"
    assert len(sandbox.requests_for("P42")) == 1
    # the follow-up is scheduled a minute later at the soonest, and asking now does not call Mirakl
    schedule = Schedule.objects.get(name=f"catalogue:follow:{job.pk}")
    assert schedule.next_run >= timezone.now() + dt.timedelta(seconds=55)
    assert listing_job_follow(job_id=job.pk) is False
    assert len(sandbox.requests_for("P42")) == 1
    seen = [job.status]
    for _ in range(8):
        a_minute_passes(sandbox, job)
        if run_on_commit(listing_job_follow, job_id=job.pk):
            break
        job.refresh_from_db()
        seen.append(job.status)
    job.refresh_from_db()
    product.refresh_from_db()
    assert job.status == "COMPLETE" and product.listing_state == LS.LIVE, product.listing_message
    assert "TRANSFORMATION_RUNNING" in seen and "RUNNING" in seen
    assert all(r.status == 200 for r in sandbox.requests_for("P42"))  # never asked too soon


def test_a_p42_429_is_honoured_and_nothing_is_lost(reference_data, sandbox, run_on_commit):
    sandbox.import_delay = 400
    product = mouse(reference_data, "M-429", "00107")
    run_on_commit(products_create_on_mirakl, store=reference_data, products=[product])
    job = import_job()
    # the connector thinks a minute has passed, Mirakl does not: it answers 429 with Retry-After
    job.result = {**job.result, "next_poll_at": (timezone.now() - dt.timedelta(seconds=1)).isoformat()}
    job.save(update_fields=["result"])
    before = timezone.now()
    assert listing_job_follow(job_id=job.pk) is False
    assert sandbox.requests_for("P42")[-1].status == 429
    job.refresh_from_db()
    product.refresh_from_db()
    assert not job.is_final and job.status == "TRANSFORMATION_WAITING"
    assert dt.datetime.fromisoformat(job.result["next_poll_at"]) >= before + dt.timedelta(seconds=50)
    assert product.listing_state == LS.CREATING
    assert listing_job_follow(job_id=job.pk) is False  # still too early: not asked
    assert len(sandbox.requests_for("P42")) == 2
    a_minute_passes(sandbox, job, 400)
    assert run_on_commit(listing_job_follow, job_id=job.pk) is True
    product.refresh_from_db()
    assert product.listing_state == LS.LIVE


def test_p41_is_paced_by_the_429_it_gets(reference_data, sandbox, run_on_commit):
    first = mouse(reference_data, "M-P41A", "00108")
    run_on_commit(products_create_on_mirakl, store=reference_data, products=[first])
    # the connector's own 15-minute rule believes the slot is free; Mirakl's clock says 10 minutes only
    ListingJob.objects.update(created_at=timezone.now() - dt.timedelta(minutes=16))
    sandbox.clock.advance(600)
    second = mouse(reference_data, "M-P41B", "00109")
    before = timezone.now()
    assert run_on_commit(products_create_on_mirakl, store=reference_data, products=[second]) is None
    assert sandbox.requests_for("P41")[-1].status == 429
    assert len(sandbox.state.imports) == 1  # nothing sent twice, nothing created
    second.refresh_from_db()
    assert second.listing_state == LS.CREATING and second.awaiting_creation_slot  # queued, not rejected
    schedule = Schedule.objects.get(name=f"catalogue:p41:{reference_data.pk}")
    assert before + dt.timedelta(seconds=290) <= schedule.next_run <= timezone.now() + dt.timedelta(seconds=301)
    # the slot Mirakl named has come
    sandbox.clock.advance(300)
    run_on_commit(products_create_waiting, store=reference_data)
    second.refresh_from_db()
    assert second.listing_state == LS.LIVE and not second.awaiting_creation_slot, second.listing_message
    accepted = [r for r in sandbox.requests_for("P41") if r.status == 201]
    assert len(accepted) == 2 and sum(second.ean.encode() in r.body for r in accepted) == 1
    assert not SyncIssue.objects.filter(code="product_creation_rejected").exists()


# ---------------------------------------------------------------- P41 columns = the operator's PM11 codes
def test_p41_header_is_the_operators_attribute_codes(reference_data, sandbox, run_on_commit):
    product = mouse(reference_data, "M-COLS", "00110")
    product.description, product.images = "Souris", ["https://img.invalid/m.jpg"]
    product.save()
    run_on_commit(products_create_on_mirakl, store=reference_data, products=[product])
    header = sandbox.requests_for("P41")[0].body.decode().split("category;", 1)[1].split("\n", 1)[0]
    pm11 = {a["code"] for a in sandbox.state.attributes}
    assert set(("category;" + header).split(";")) <= pm11  # nothing the operator does not know
    assert import_job().status == "COMPLETE" and not sandbox.requests_for("P47")


def test_p41_columns_follow_another_operators_codes(reference_data):
    # an operator whose PM11 says product_title / image_1 / long_description and has no 'brand'
    renames = {"title": "product_title", "main_image": "image_1", "description": "long_description"}
    for old, new in renames.items():
        CategoryAttribute.objects.filter(category=None, code=old).update(code=new)
    CategoryAttribute.objects.filter(category=None, code="brand").delete()
    product = mouse(reference_data, "M-OP", "00111")
    product.description, product.images = "Une souris", ["https://img.invalid/m.jpg"]
    product.save()
    header, line = product_import_csv([product], CatalogueContext.load()).decode().strip().split("\n")
    columns = header.split(";")
    assert columns[:5] == ["category", "ean", "product_title", "long_description", "image_1"]
    assert "title" not in columns and "brand" not in columns and "main_image" not in columns
    values = dict(zip(columns, line.split(";"), strict=True))
    assert values["product_title"] == "Souris M-OP" and values["long_description"] == "Une souris"
    assert values["image_1"] == "https://img.invalid/m.jpg" and values["connection"] == "SANS_FIL_2_4_GHZ"
    assert values["ean"] == product.ean and values["category"] == "INFO_SOURIS"
