"""Pricing's buttons on the store page (the store admin reads them from stores.hooks)."""

from __future__ import annotations

from django.urls import reverse

from stores import hooks


def register() -> None:
    hooks.store_button("Repricing rule", lambda store: reverse("admin:pricing_store_rule", args=[store.pk]),
                       permission="pricing.view_repricingrule")
    hooks.store_button("Repricing dry-run", lambda store: reverse("admin:pricing_dry_run", args=[store.pk]),
                       permission="pricing.view_repricingrule")
