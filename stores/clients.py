"""Marketplace clients configured for one store (the only place that knows both models and wire)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from fnac_connector.marketplace.fnac.client import FnacClient
from fnac_connector.marketplace.fnac.types import AuthToken
from fnac_connector.marketplace.mirakl.client import MiraklClient
from stores.endpoints import FNAC, MIRAKL, require_allowed
from stores.models import Store


class StoreTokenStore:
    """Keeps the FNAC token on the store row (encrypted) so every worker process reuses it."""

    def __init__(self, store: Store):
        self.store = store

    def get(self) -> AuthToken | None:
        row = Store.objects.filter(pk=self.store.pk).values("fnac_token_validity").first()
        if not row or not row["fnac_token_validity"]:
            return None
        fresh = Store.objects.only("fnac_token", "fnac_token_validity").get(pk=self.store.pk)
        if not fresh.fnac_token:
            return None
        return AuthToken(token=fresh.fnac_token, validity=fresh.fnac_token_validity)

    def set(self, token: AuthToken | None) -> None:
        value, validity = (token.token, token.validity) if token else ("", None)
        if validity is not None and validity.tzinfo is None:
            validity = validity.replace(tzinfo=dt.UTC)
        self.store.fnac_token, self.store.fnac_token_validity = value, validity
        # save() of a single field keeps the encryption in the field's get_prep_value
        Store.objects.filter(pk=self.store.pk).update(fnac_token_validity=validity)
        store = Store.objects.only("pk").get(pk=self.store.pk)
        store.fnac_token = value
        store.save(update_fields=["fnac_token"])


def fnac_client_for(store: Store, *, key: str | None = None, token_store=None):
    """Raises EndpointNotAllowed (a MarketplaceError; nothing sent) when the store's FNAC URL may not receive
    its key, e.g. a URL stored before the host rules existed."""
    require_allowed(store.fnac_base_url, kind=FNAC)
    return FnacClient(
        base_url=store.fnac_base_url, partner_id=store.partner_id, shop_id=store.shop_id,
        key=key if key is not None else store.fnac_key,
        timeout=settings.MARKETPLACE_TIMEOUT, max_retries=settings.MARKETPLACE_MAX_RETRIES,
        token_store=token_store if token_store is not None else StoreTokenStore(store),
        max_response_bytes=_max_response_bytes(), max_pages=settings.MARKETPLACE_MAX_PAGES,
    )


def mirakl_client_for(store: Store, *, api_key: str | None = None):
    """Raises EndpointNotAllowed (nothing sent) when the store's Mirakl URL may not receive its key."""
    require_allowed(store.mirakl_base_url, kind=MIRAKL)
    return MiraklClient(
        base_url=store.mirakl_base_url, api_key=api_key if api_key is not None else store.mirakl_api_key,
        timeout=settings.MARKETPLACE_TIMEOUT, max_retries=settings.MARKETPLACE_MAX_RETRIES,
        max_response_bytes=_max_response_bytes(),
    )


def _max_response_bytes() -> int:
    """Response size cap of every marketplace answer (settings.MARKETPLACE_MAX_RESPONSE_MB)."""
    return int(float(settings.MARKETPLACE_MAX_RESPONSE_MB) * 2**20)
