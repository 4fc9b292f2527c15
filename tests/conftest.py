"""Shared fixtures: test settings, a sandbox marketplace per test, stores, users, API clients."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

TEST_FERNET_KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def _test_settings(settings, monkeypatch):
    settings.FIELD_ENCRYPTION_KEYS = [TEST_FERNET_KEY]
    settings.MARKETPLACE_TIMEOUT = (2.0, 10.0)
    # bursts are pushed at once in tests (tests/inventory/test_burst.py switches the window on)
    settings.INVENTORY_PUSH_BURST_WINDOW_SECONDS = 0
    # the stock push's follow-up ticker (inventory/follow.py) runs inline in tests: tick fast
    settings.INVENTORY_FOLLOW_TICK_SECONDS = 0.02
    # the loopback sandbox (any port) may receive keys; nothing else outside FNAC's and Mirakl's hosts
    settings.MARKETPLACE_EXTRA_HOSTS = ["127.0.0.1"]
    from django.core.cache import caches

    caches["default"].clear()
    # bad-token counts per client address (fnac_connector/authentication.py) start at zero; without Redis they are
    # a database table, which a test without database access may not touch (and does not use)
    try:
        caches["counters"].clear()
    except RuntimeError:  # pytest-django: "Database access not allowed"
        pass
    from django_q.conf import Conf

    # django-q tasks run inline in tests (after commit, like in production)
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def sandbox():
    from fnac_sandbox.server import SandboxServer

    server = SandboxServer(host="127.0.0.1", port=0, seed=7)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_store(db, sandbox):
    """``make_store(**overrides)``: a store on the ``sandbox`` (the first one), or, for each further store, on a
    sandbox of its own with its own Shop ID: one FNAC shop is one store (these test sandboxes serve one shop each;
    a multi-shop sandbox is ``run_sandbox --shops``, tested in tests/sandbox/test_shops.py)."""
    import dataclasses

    from fnac_sandbox.server import SandboxServer
    from stores.services import store_create

    counter = {"n": 0}
    extra = []

    def _make(**overrides):
        counter["n"] += 1
        market = sandbox
        if counter["n"] > 1 and "shop_id" not in overrides:
            shop_id = f"{counter['n']:08x}-5e11-4e5f-8a9b-0c0ffee05a1e"
            market = SandboxServer(host="127.0.0.1", port=0, seed=7,
                                   credentials=dataclasses.replace(sandbox.credentials, shop_id=shop_id))
            market.start()
            extra.append(market)
        creds = market.credentials
        data = dict(name=f"Store {counter['n']}", partner_id=creds.partner_id, shop_id=creds.shop_id,
                    fnac_key=creds.key, mirakl_api_key=creds.mirakl_key, fnac_base_url=market.fnac_url,
                    mirakl_base_url=market.mirakl_url)
        data.update(overrides)
        return store_create(**data)

    yield _make
    for market in extra:
        market.stop()


@pytest.fixture
def store(make_store):
    return make_store()


@pytest.fixture
def connected_store(store, django_capture_on_commit_callbacks):
    from stores.services import store_connect

    with django_capture_on_commit_callbacks(execute=False):
        store_connect(store=store, trigger="test")
    store.refresh_from_db()
    return store


@pytest.fixture
def make_product(db):
    from catalogue.models import Product

    def _make(store, sku, *, on_hand=10, reserved=0, **extra):
        return Product.objects.create(store=store, sku=sku, name=f"Product {sku}", stock_on_hand=on_hand,
                                      stock_reserved=reserved, **extra)

    return _make


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-123")


@pytest.fixture
def staff_user(django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("staff", "staff@example.com", "pw-staff-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=[
        "stores", "catalogue", "orders", "inventory", "fulfilment", "claims"]))
    return user


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def api_token_for(user) -> str:
    """A usable API token (the raw key, as a client sends it) for ``user``; every test gets tokens here.
    Only a hash is stored, so each call creates a new token."""
    from accounts.services import api_token_create

    _, key = api_token_create(user=user)
    return key


@pytest.fixture
def token_client(api_client):
    def _for(user):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
        return api_client

    return _for
