"""Catalogue use cases: the one module every door (admin, API, command, task) imports. Implemented by meaning in:
imports (FNAC → OMS), listing (OMS → FNAC, lifecycle), excel (bulk upload), validation (rules)."""

from catalogue.excel import rejected_rows_workbook, template_build, upload_apply, upload_rows, upload_validate
from catalogue.imports import catalogue_sync, catalogue_sync_request, categories_sync
from catalogue.listing import (
    listing_job_follow,
    listing_job_give_up,
    listing_job_next_poll_at,
    product_create,
    product_update,
    products_activate,
    products_create_on_mirakl,
    products_create_waiting,
    products_deactivate,
    products_delete_request,
    products_list_request,
    products_send,
)
from catalogue.upload_limits import upload_size_check
from catalogue.validation import CatalogueContext, product_validate

__all__ = [
    "CatalogueContext", "catalogue_sync", "catalogue_sync_request", "categories_sync", "listing_job_follow",
    "listing_job_give_up", "listing_job_next_poll_at", "product_create", "product_update", "product_validate",
    "products_activate",
    "products_create_on_mirakl", "products_create_waiting", "products_deactivate", "products_delete_request",
    "products_list_request", "products_send", "rejected_rows_workbook", "template_build", "upload_apply",
    "upload_rows", "upload_validate", "upload_size_check",
]
