"""Sellable quantity, price mapping and rounding, price validation: pure rules plus the services that apply them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fnac_connector.errors import InvalidInput
from inventory import services
from inventory.models import OfferChange, StockMovement
from stores.models import Store


@pytest.mark.parametrize("on_hand,reserved,safety,active,expected", [
    (10, 0, 0, True, 10),
    (10, 3, 2, True, 5),
    (3, 2, 5, True, 0),  # never below 0
    (50_000, 0, 0, True, 9999),  # FNAC's cap
    (50_000, 100, 10, True, 9999),
    (10, 0, 0, False, 0),  # deactivated
])
def test_sellable_quantity(on_hand, reserved, safety, active, expected):
    assert services.sellable_quantity(on_hand=on_hand, reserved=reserved, safety_stock=safety,
                                      is_active=active) == expected


@pytest.mark.parametrize("value,rule,expected", [
    ("12.344", Store.PriceRounding.CENT, "12.34"),
    ("12.345", Store.PriceRounding.CENT, "12.35"),
    ("12.30", Store.PriceRounding.END_99, "12.99"),
    ("12.99", Store.PriceRounding.END_99, "12.99"),
    ("13.00", Store.PriceRounding.END_99, "13.99"),
    ("12.30", Store.PriceRounding.END_90, "12.90"),
    ("12.95", Store.PriceRounding.END_90, "13.90"),
    ("12.49", Store.PriceRounding.EURO, "12.00"),
    ("12.50", Store.PriceRounding.EURO, "13.00"),
])
def test_round_price(value, rule, expected):
    assert services.round_price(Decimal(value), rule) == Decimal(expected)


@pytest.mark.parametrize("value,ok", [
    ("0.90", True), ("20000", True), ("19.99", True), ("0.89", False), ("20000.01", False), ("1.234", False),
    ("abc", False), ("-5", False), ("nan", False),
])
def test_price_problem(value, ok):
    assert (services.price_problem(value) is None) is ok


def test_fnac_quantity_and_price_for_a_store(store, db):
    from catalogue.models import Product

    store.safety_stock = 2
    store.price_field = Store.PriceField.SALE_PRICE
    store.price_rounding = Store.PriceRounding.END_99
    p = Product.objects.create(store=store, sku="A", stock_on_hand=10, stock_reserved=3, price=Decimal("20.00"),
                               sale_price=Decimal("15.20"))
    assert services.fnac_quantity_for(p, store) == 5
    assert services.fnac_price_for(p, store) == Decimal("15.99")
    p.sale_price = None
    assert services.fnac_price_for(p, store) == Decimal("20.99")
    store.price_field = Store.PriceField.PRICE
    p.sale_price = Decimal("1.00")
    assert services.fnac_price_for(p, store) == Decimal("20.99")
    p.is_active = False
    assert services.fnac_quantity_for(p, store) == 0
    p.price = None
    assert services.fnac_price_for(p, store) is None


def test_price_set_refuses_invalid_prices_with_the_reason(store, db):
    from catalogue.models import Product

    p = Product.objects.create(store=store, sku="A", price=Decimal("10.00"))
    for bad, reason in (("0.50", "outside FNAC's limits"), ("20000.01", "outside FNAC's limits"),
                        ("1.234", "more than two decimals"), ("x", "not a number")):
        with pytest.raises(InvalidInput) as exc:
            services.price_set(product=p, price=bad, source="test")
        assert reason in str(exc.value)
        assert "price" in exc.value.details
    with pytest.raises(InvalidInput, match="sale_price 0.10"):
        services.price_set(product=p, sale_price="0.10", source="test")
    p.refresh_from_db()
    assert p.price == Decimal("10.00") and p.sale_price is None
    assert not OfferChange.objects.exists()


def test_price_set_refuses_a_price_the_rounding_rule_makes_invalid(store, db):
    from catalogue.models import Product

    store.price_rounding = Store.PriceRounding.END_99
    store.save()
    p = Product.objects.select_related("store").get(pk=Product.objects.create(store=store, sku="A").pk)
    with pytest.raises(InvalidInput, match="after the store's mapping"):
        services.price_set(product=p, price="20000.00", source="test")


def test_price_set_records_the_change_once(store, db):
    from catalogue.models import Product

    p = Product.objects.create(store=store, sku="A", price=Decimal("10.00"))
    services.price_set(product=p, price="12.50", sale_price="11.00", source="api")
    p.refresh_from_db()
    assert (p.price, p.sale_price) == (Decimal("12.50"), Decimal("11.00"))
    change = OfferChange.objects.get(product=p)
    assert change.version == 1 and change.is_pending
    assert p.push_state == Product.PushState.PENDING
    # the sale price does not feed FNAC with the default mapping: clearing it changes nothing on FNAC
    services.price_set(product=p, clear_sale_price=True, source="api")
    p.refresh_from_db()
    assert p.sale_price is None
    assert OfferChange.objects.get(product=p).version == 1
    assert StockMovement.objects.filter(product=p, kind=StockMovement.Kind.PRICE).count() == 2


def test_stock_set_and_adjust(store, db):
    from catalogue.models import Product

    p = Product.objects.create(store=store, sku="A", stock_on_hand=5)
    services.stock_set(product=p, quantity=8, source="admin")
    assert p.stock_on_hand == 8
    services.stock_adjust(product=p, delta=-3, source="api")
    assert p.stock_on_hand == 5
    with pytest.raises(InvalidInput, match="only 5 on hand"):
        services.stock_adjust(product=p, delta=-6, source="api")
    with pytest.raises(InvalidInput, match="negative"):
        services.stock_set(product=p, quantity=-1, source="api")
    with pytest.raises(InvalidInput, match="whole number"):
        services.stock_set(product=p, quantity="2.5", source="api")
    p.refresh_from_db()
    assert p.stock_on_hand == 5
    assert OfferChange.objects.get(product=p).version == 2
    assert list(StockMovement.objects.filter(product=p).order_by("id").values_list("delta", "quantity_after")) == [
        (3, 8), (-3, 5)]


def test_values_from_fnac_are_not_pushed_back(store, db):
    """Echo loop: a change that came from FNAC (catalogue import) records no outbox change."""
    from catalogue.models import Product

    p = Product.objects.create(store=store, sku="A", stock_on_hand=5, price=Decimal("3.00"))
    services.stock_set(product=p, quantity=9, source="fnac_import")
    services.price_set(product=p, price="4.00", source="fnac_import")
    assert not OfferChange.objects.exists()
    services.stock_set(product=p, quantity=9, source="admin")  # unchanged: nothing to push either
    assert not OfferChange.objects.exists()


def test_stock_batch_reports_bad_items_and_applies_valid_ones(store, db):
    from catalogue.models import Product

    a = Product.objects.create(store=store, sku="A", stock_on_hand=5)
    b = Product.objects.create(store=store, sku="B", stock_on_hand=1)
    c = Product.objects.create(store=store, sku="C", stock_on_hand=0)
    result = services.stock_batch(store=store, source="api", items=[
        {"sku": "A", "quantity": 7},
        {"sku": "NOPE", "quantity": 1},
        {"sku": "B", "delta": -2},
        {"sku": "C", "delta": 4},
        {"sku": "A", "delta": 1},
        {"sku": "C", "quantity": 1, "delta": 1},
        {"quantity": 3},
        {"sku": "B", "quantity": "x"},
        "junk",
    ])
    errors = {item.index: item.error for item in result.errors}
    assert result.applied == 2
    assert set(errors) == {1, 2, 4, 5, 6, 7, 8}
    assert "unknown sku NOPE" in errors[1]
    assert "only 1 on hand" in errors[2]
    assert "already given in item 0" in errors[4]
    assert "exactly one of quantity or delta" in errors[5]
    assert "sku is missing" in errors[6]
    assert "whole number" in errors[7]
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert (a.stock_on_hand, b.stock_on_hand, c.stock_on_hand) == (7, 1, 4)
    assert set(OfferChange.objects.values_list("product_id", flat=True)) == {a.pk, c.pk}
    ok = {item.sku: item for item in result.items if item.ok}
    assert ok["C"].stock_on_hand == 4 and ok["C"].sellable == 4
