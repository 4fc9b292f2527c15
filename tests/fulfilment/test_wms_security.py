"""Issue 9, item 1 for the WMS: a webhook URL change clears the secret that signs the messages, and the URL is
checked again before every delivery (no loopback/private host unless listed in MARKETPLACE_EXTRA_HOSTS)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from fulfilment import services
from fulfilment.deliveries import wms_deliveries_drain
from fulfilment.models import WmsDelivery
from fulfilment.signing import signature_for
from stores.models import Store
from tests.fulfilment.conftest import running_wms

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_wms():
    with running_wms() as server:
        yield server


def test_webhook_url_change_clears_the_secret_and_nothing_is_sent_until_a_new_one(
        token_client, superuser, wms_store, wms, other_wms, paid_order, django_capture_on_commit_callbacks):
    api = token_client(superuser)
    response = api.patch(f"/api/stores/{wms_store.pk}/", {"wms_webhook_url": other_wms.url}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["wms_secret_masked"] == ""
    assert "WMS shared secret was cleared" in response.json()["last_error"]
    store = Store.objects.get(pk=wms_store.pk)
    assert store.wms_secret == ""

    order = paid_order(["A"])
    with django_capture_on_commit_callbacks(execute=True):
        services.order_release_to_warehouse(order=order)
    delivery = WmsDelivery.objects.get(order=order)
    assert delivery.state == WmsDelivery.State.PENDING and "no WMS secret" in delivery.last_error
    assert other_wms.received == [] and wms.received == []

    assert api.patch(f"/api/stores/{store.pk}/", {"wms_secret": "the-new-secret"}, format="json").status_code == 200
    store.refresh_from_db()
    assert wms_deliveries_drain(store=store, now=timezone.now() + dt.timedelta(hours=1))["delivered"] == 1
    assert len(other_wms.received) == 1 and wms.received == []
    sent = other_wms.received[0]
    assert sent["headers"]["X-Signature"] == signature_for("the-new-secret", sent["body"])


def test_a_webhook_url_stored_before_the_rules_is_not_called(settings, wms_store, wms, paid_order,
                                                            django_capture_on_commit_callbacks):
    order = paid_order(["A"])
    settings.MARKETPLACE_EXTRA_HOSTS = []  # the fake WMS on 127.0.0.1 is a loopback address, no longer allowed
    with django_capture_on_commit_callbacks(execute=True):
        services.order_release_to_warehouse(order=order)
    delivery = WmsDelivery.objects.get(order=order)
    assert delivery.state == WmsDelivery.State.PENDING and delivery.attempts == 1
    assert "Not sent: the WMS webhook URL host '127.0.0.1' is a loopback" in delivery.last_error
    assert wms.received == []


def test_a_public_name_resolving_to_a_private_address_is_not_called(monkeypatch, wms_store, wms, paid_order,
                                                                    django_capture_on_commit_callbacks):
    """wms.example.com passes the name check, but if DNS answers 10.0.0.5 (an internal service behind a public
    name) nothing is sent to it; the same name answering a public address is called."""
    import socket

    import requests

    answers = {"wms.example.com": "10.0.0.5"}
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    posted = []
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(requests, "post", lambda url, **kw: posted.append(url))
    Store.objects.filter(pk=wms_store.pk).update(wms_webhook_url="https://wms.example.com/hook")
    order = paid_order(["A"])
    with django_capture_on_commit_callbacks(execute=True):
        services.order_release_to_warehouse(order=order)
    delivery = WmsDelivery.objects.get(order=order)
    assert delivery.state == WmsDelivery.State.PENDING and delivery.attempts == 1
    assert "host 'wms.example.com' resolves to 10.0.0.5, a loopback, private or local address" in delivery.last_error
    assert posted == [] and wms.received == []

    from stores.endpoints import WMS, resolved_problem

    answers["wms.example.com"] = "93.184.216.34"  # a public address: allowed
    assert resolved_problem("https://wms.example.com/hook", kind=WMS) is None
    answers["wms.example.com"] = "::1"
    assert "resolves to ::1" in resolved_problem("https://wms.example.com/hook", kind=WMS)
