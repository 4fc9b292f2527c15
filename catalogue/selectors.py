"""Catalogue reads: querysets scoped to the stores a user may see."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from catalogue.models import Category, CategoryAttribute, ListingJob, Product, ProductUpload
from stores.selectors import stores_for_user


def products_for_user(user) -> QuerySet[Product]:
    return Product.objects.filter(store__in=stores_for_user(user)).select_related("store", "category")


def categories_with_attributes() -> QuerySet[Category]:
    return Category.objects.prefetch_related(
        Prefetch("attributes", queryset=CategoryAttribute.objects.order_by("-required", "code")))


def common_attributes() -> QuerySet[CategoryAttribute]:
    return CategoryAttribute.objects.filter(category__isnull=True).order_by("-required", "code")


def uploads_for_user(user) -> QuerySet[ProductUpload]:
    return ProductUpload.objects.filter(store__in=stores_for_user(user)).select_related("store")


def listing_jobs_for_product(product: Product) -> list[ListingJob]:
    """The latest jobs that carried this product (JSON containment is not portable: filter in Python)."""
    jobs = ListingJob.objects.filter(store_id=product.store_id).order_by("-created_at")[:50]
    return [j for j in jobs if product.pk in (j.product_ids or [])][:10]
