"""Catalogue use cases, one import for every door. Implemented by meaning in:
imports (FNAC → OMS), listing (OMS → FNAC, lifecycle), excel (bulk upload), validation (rules)."""

from catalogue.excel import rejected_rows_workbook, template_build, upload_apply, upload_validate
from catalogue.imports import catalogue_sync, catalogue_sync_request, categories_sync
from catalogue.listing import (
    product_create,
    product_update,
    products_activate,
    products_create_on_mirakl,
    products_deactivate,
    products_delete_request,
    products_list_request,
    products_send,
)
from catalogue.upload_limits import upload_size_check

__all__ = [
    "catalogue_sync", "catalogue_sync_request", "categories_sync", "product_create", "product_update",
    "products_activate", "products_create_on_mirakl", "products_deactivate", "products_delete_request",
    "products_list_request", "products_send", "rejected_rows_workbook", "template_build", "upload_apply",
    "upload_validate", "upload_size_check",
]
