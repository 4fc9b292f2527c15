"""Every door of competitive pricing: admin pages, the API, the commands, the schedule; store scoping; query
counts of the lists."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalogue.models import Product
from inventory.models import OfferChange
from pricing import services
from pricing.models import Competition, RepriceLog, RepricingRule
from stores.hooks import schedule_specs

from .conftest import competitors

D = Decimal


@pytest.fixture
def admin_client_(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def watched(live, sandbox, watch, connected_store):
    """Three watched products: the first is not the lowest, a store rule (not applied yet)."""
    a, b, c = live(3, price="20.00")
    competitors(sandbox, a, ("15.00", "0", "11"))
    competitors(sandbox, b, ("30.00", "0", "11"))
    competitors(sandbox, c, ("25.00", "0", "11"))
    watch()
    services.rule_save(rule=RepricingRule(store=connected_store, strategy="beat_amount", beat_by=D("0.50"),
                                          floor_price=D("10.00")), data={})
    return a, b, c


# ---------------------------------------------------------------- admin
def test_competition_list_filter_not_lowest_and_query_count(admin_client_, watched, live, sandbox, watch,
                                                             django_assert_max_num_queries):
    url = reverse("admin:pricing_competition_changelist")
    with django_assert_max_num_queries(15) as small:
        r = admin_client_.get(url + "?position=not_lowest")
    assert r.status_code == 200
    body = r.content.decode()
    assert watched[0].sku in body and watched[1].sku not in body and "Not the lowest" in body
    live(30)
    watch()
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert admin_client_.get(url).status_code == 200


def test_product_page_shows_position_rule_and_chart(admin_client_, watched, watch):
    watch()
    r = admin_client_.get(reverse("admin:catalogue_product_change", args=[watched[0].pk]))
    body = r.content.decode()
    assert r.status_code == 200 and "Competition on FNAC" in body and "<svg" in body and "<polyline" in body
    assert "Beat the lowest by an amount" in body and "dry-run only" in body


def test_dry_run_page_and_store_buttons(admin_client_, watched, connected_store, sandbox):
    sandbox.clear_requests()
    r = admin_client_.get(reverse("admin:pricing_dry_run", args=[connected_store.pk]))
    assert r.status_code == 200 and "12.11" in r.content.decode()  # 15.00 - 0.50 - 2.39
    assert sandbox.requests == [] and not OfferChange.objects.exists()
    page = admin_client_.get(reverse("admin:stores_store_change", args=[connected_store.pk])).content.decode()
    assert reverse("admin:pricing_dry_run", args=[connected_store.pk]) in page
    rule = RepricingRule.objects.get()
    r = admin_client_.get(reverse("admin:pricing_store_rule", args=[connected_store.pk]))
    assert r.status_code == 302 and r["Location"] == reverse("admin:pricing_repricingrule_change", args=[rule.pk])


def test_rule_admin_refuses_a_rule_without_floor(admin_client_, connected_store):
    r = admin_client_.post(reverse("admin:pricing_repricingrule_add"), {
        "store": connected_store.pk, "enabled": "on", "strategy": "match", "beat_by": "0.01",
        "floor_mode": "absolute", "ceiling_mode": "absolute"})
    assert r.status_code == 200 and "floor price is required" in r.content.decode()
    assert not RepricingRule.objects.exists()


def test_staff_of_another_store_sees_nothing(client, watched, make_store, django_user_model):
    from django.contrib.auth.models import Permission

    other = make_store()
    user = django_user_model.objects.create_user("other", "o@example.com", "pw-other-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="pricing"))
    user.stores.add(other)
    client.force_login(user)
    r = client.get(reverse("admin:pricing_competition_changelist"))
    assert r.status_code == 200 and watched[0].sku not in r.content.decode()
    assert client.get(reverse("admin:pricing_dry_run", args=[watched[0].store_id])).status_code == 404


# ---------------------------------------------------------------- API
def test_api_competition_rules_and_dry_run(token_client, superuser, watched, connected_store, sandbox):
    api = token_client(superuser)
    a = watched[0]
    r = api.get(f"/api/products/{a.pk}/competition/")
    assert r.status_code == 200
    assert r.data["competition"]["lowest_total"] == "15.00" and r.data["competition"]["is_lowest"] is False
    assert r.data["rule"]["strategy"] == "beat_amount" and r.data["watched"] is True and r.data["watched_by"] == "Ean"
    Product.objects.filter(pk=a.pk).update(ean="", fnac_product_id="123456")  # imported from FNAC: no EAN
    r = api.get(f"/api/products/{a.pk}/competition/")
    assert (r.data["watched"], r.data["watched_by"]) == (True, "FnacId")
    Product.objects.filter(pk=a.pk).update(fnac_product_id="")
    r = api.get(f"/api/products/{a.pk}/competition/")
    assert (r.data["watched"], r.data["watched_by"]) == (False, "")
    Product.objects.filter(pk=a.pk).update(ean=a.ean)
    # CRUD: a product override, with the product's cost price
    r = api.post("/api/repricing/rules/", {"store": connected_store.pk, "product": a.pk, "strategy": "match",
                                           "floor_mode": "cost_margin", "floor_margin": "10", "cost_price": "11.00",
                                           "enabled": True}, format="json")
    assert r.status_code == 201, r.data
    assert Product.objects.get(pk=a.pk).cost_price == D("11.00")
    rule_id = r.data["id"]
    r = api.post("/api/repricing/rules/", {"store": connected_store.pk, "floor_price": "1"}, format="json")
    assert r.status_code == 400 and "already has a store rule" in str(r.data)
    r = api.patch(f"/api/repricing/rules/{rule_id}/", {"floor_margin": None}, format="json")
    assert r.status_code == 400 and "floor_margin" in str(r.data)
    assert api.get("/api/repricing/rules/").data["count"] == 2
    sandbox.clear_requests()
    r = api.get(f"/api/repricing/dry-run/?store={connected_store.pk}")
    assert r.status_code == 200 and r.data["would_change"] == 3
    assert {p["sku"]: p["new_price"] for p in r.data["proposals"]}[a.sku] == "12.61"
    assert sandbox.requests == [] and not RepriceLog.objects.exists()
    assert api.delete(f"/api/repricing/rules/{rule_id}/").status_code == 204
    assert api.get("/api/repricing/dry-run/").status_code == 400


def test_api_needs_pricing_permissions(token_client, staff_user, watched):
    api = token_client(staff_user)  # staff with every permission but pricing's
    assert api.get(f"/api/products/{watched[0].pk}/competition/").status_code == 403
    assert api.get("/api/repricing/rules/").status_code == 403


def test_api_rules_list_query_count(token_client, superuser, live, connected_store, django_assert_max_num_queries):
    api = token_client(superuser)
    for p in live(3):
        services.rule_save(rule=RepricingRule(store=connected_store, product=p, floor_price=D("5")), data={})
    with django_assert_max_num_queries(12) as small:
        assert api.get("/api/repricing/rules/").status_code == 200
    for p in live(20):
        services.rule_save(rule=RepricingRule(store=connected_store, product=p, floor_price=D("5")), data={})
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert api.get("/api/repricing/rules/").data["count"] == 23


# ---------------------------------------------------------------- commands and schedule
def test_commands(watched, connected_store, sandbox, capsys):
    call_command("watch_prices", "--store", str(connected_store.pk), "--sku", watched[1].sku)
    assert "read 1" in capsys.readouterr().out
    call_command("reprice", "--store", str(connected_store.pk), "--dry-run")
    out = capsys.readouterr().out
    assert "would change out of 3" in out and not RepriceLog.objects.exists()
    RepricingRule.objects.update(enabled=True)
    call_command("reprice", "--store", str(connected_store.pk))
    assert "3 prices changed" in capsys.readouterr().out and RepriceLog.objects.count() == 3
    with pytest.raises(CommandError, match="no store with id"):
        call_command("watch_prices", "--store", "999999")


def test_schedule_watches_then_reprices(watched, connected_store):
    from pricing.tasks import price_watch_schedule_task

    spec = {s.job: s for s in schedule_specs()}["price_watch"]
    assert spec.func == "pricing.tasks.price_watch_schedule_task" and spec.enabled(connected_store)
    RepricingRule.objects.update(enabled=True)
    Competition.objects.update(checked_at=None)
    assert price_watch_schedule_task(connected_store.pk) is not None
    assert RepriceLog.objects.count() == 3


def test_reprice_now_action_needs_the_permission(client, superuser, watched, django_user_model):
    from django.contrib.auth.models import Permission

    RepricingRule.objects.update(enabled=True)
    url = reverse("admin:pricing_repricingrule_changelist")
    data = {"action": "reprice_now", "_selected_action": [RepricingRule.objects.get().pk]}
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw-viewer-123", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_repricingrule"))
    viewer.stores.add(watched[0].store)
    client.force_login(viewer)
    client.post(url, data)
    assert not RepriceLog.objects.exists()
    client.force_login(superuser)
    client.post(url, data)
    assert RepriceLog.objects.count() == 3 and set(RepriceLog.objects.values_list("trigger", flat=True)) == {"admin"}
