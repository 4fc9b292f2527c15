"""Stock and price use cases: every change of what FNAC may sell goes through here.

Stock lives on ``catalogue.Product`` and only ever changes through atomic ``F()`` updates (or an update under a
row lock), so two workers changing the same product never lose an update. Each change records the product in
the durable outbox (``inventory.outbox.record_change``) in the same transaction; the push to FNAC happens after
commit (``inventory.push``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import F

from catalogue.models import Product

# what FNAC may sell, at what price: one rule, in the catalogue; re-exported for inventory's doors and higher apps
from catalogue.rules import CENT, MAX_STOCK_ON_HAND, mapped_price, price_problem, sellable_quantity
from catalogue.rules import fnac_price_for as fnac_price_for
from catalogue.rules import fnac_quantity_for as fnac_quantity_for
from catalogue.rules import round_price as round_price
from fnac_connector.errors import InvalidInput
from inventory.models import StockMovement
from inventory.outbox import record_change

# the use cases implemented beside this module, re-exported so that every door imports inventory.services only:
# push (the outbox drain), reconcile (FNAC's offers vs what was pushed), sync (Sync Stock)
from inventory.push import stock_push as stock_push
from inventory.push import stock_push_job as stock_push_job
from inventory.reconcile import offers_reconcile as offers_reconcile
from inventory.reconcile import offers_reconcile_request as offers_reconcile_request
from inventory.sync import stock_sync as stock_sync
from inventory.sync import stock_sync_request as stock_sync_request
from stores import hooks
from stores.models import Store

log = logging.getLogger(__name__)

# a change that came from FNAC itself (catalogue import) must not be pushed straight back (echo loop)
FNAC_SOURCES = frozenset({"fnac", "fnac_import", "catalogue_import"})


def parse_price(value, *, label: str = "price") -> Decimal:
    problem = price_problem(value, label=label)
    if problem:
        raise InvalidInput(problem, details={label: [problem]})
    return Decimal(str(value).strip().replace(",", ".")).quantize(CENT)


# ================================================================ stock
def _int(value, *, label: str) -> int:
    if isinstance(value, bool):
        raise InvalidInput(f"{label} must be a whole number, got {value!r}", details={label: ["not a number"]})
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{label} must be a whole number, got {value!r}",
                           details={label: ["not a whole number"]}) from None
    if not number.is_finite() or number != number.to_integral_value():
        raise InvalidInput(f"{label} must be a whole number, got {value!r}", details={label: ["not a whole number"]})
    if number.copy_abs() > MAX_STOCK_ON_HAND:  # before int(): "1e999999999" would be a billion-digit integer
        raise InvalidInput(f"{label} {value!r} is too large (at most {MAX_STOCK_ON_HAND} units)",
                           details={label: [f"at most {MAX_STOCK_ON_HAND} units"]})
    return int(number)


def _check_quantity(quantity) -> int:
    quantity = _int(quantity, label="quantity")
    if quantity < 0:
        raise InvalidInput(f"quantity {quantity} is negative: stock on hand cannot go below 0",
                           details={"quantity": ["must be 0 or more"]})
    if quantity > MAX_STOCK_ON_HAND:
        raise InvalidInput(f"quantity {quantity} is too large (at most {MAX_STOCK_ON_HAND})",
                           details={"quantity": [f"at most {MAX_STOCK_ON_HAND}"]})
    return quantity


def _after_increase(store_id: int, product_ids: list[int]) -> None:
    """A stock arrival is announced (``stores.hooks.stock_arrived``: orders promotes waiting Partial orders to
    New), after our commit."""
    if not product_ids:
        return

    def _promote():
        try:
            store = Store.objects.get(pk=store_id)
            hooks.stock_arrived(store=store, product_ids=product_ids)
        except Exception:  # the stock change is committed; promotion is retried by the next arrival/schedule
            log.exception("promoting waiting orders failed for store %s", store_id)

    transaction.on_commit(_promote)


def _source_records(source: str) -> bool:
    return source not in FNAC_SOURCES


def stock_set(*, product: Product, quantity: int, source: str, user=None) -> Product:
    """Set the stock on hand to ``quantity`` (an inventory count). Returns the product with fresh stock values."""
    quantity = _check_quantity(quantity)
    with transaction.atomic():
        # the row lock makes "what it was" exact, so the movement audit and the arrival check are right
        before = Product.objects.select_for_update().filter(pk=product.pk).values_list(
            "stock_on_hand", flat=True).first()
        if before is None:
            raise InvalidInput(f"product {product.pk} does not exist")
        Product.objects.filter(pk=product.pk).update(stock_on_hand=quantity)
        StockMovement.objects.create(product_id=product.pk, store_id=product.store_id, kind=StockMovement.Kind.SET,
                                     delta=quantity - before, quantity_after=quantity, source=source[:40],
                                     user=user if getattr(user, "pk", None) else None)
        if quantity != before and _source_records(source):
            record_change(store_id=product.store_id, product_ids=[product.pk], reason=f"stock_{source}")
        if quantity > before:
            _after_increase(product.store_id, [product.pk])
    _refresh_stock(product)
    return product


def stock_adjust(*, product: Product, delta: int, source: str, user=None) -> Product:
    """Add ``delta`` (negative to remove) to the stock on hand, atomically; refused if it would go below 0."""
    delta = _int(delta, label="delta")
    if abs(delta) > MAX_STOCK_ON_HAND:
        raise InvalidInput(f"delta {delta} is too large", details={"delta": [f"at most {MAX_STOCK_ON_HAND} units"]})
    with transaction.atomic():
        qs = Product.objects.filter(pk=product.pk)
        if delta < 0:
            qs = qs.filter(stock_on_hand__gte=-delta)
        if not qs.update(stock_on_hand=F("stock_on_hand") + delta):
            current = Product.objects.filter(pk=product.pk).values_list("stock_on_hand", flat=True).first()
            if current is None:
                raise InvalidInput(f"product {product.pk} does not exist")
            raise InvalidInput(f"cannot remove {-delta} from {product.sku}: only {current} on hand",
                               details={"delta": [f"only {current} on hand"]})
        # our update holds the row lock until commit, so this reads exactly our result
        after = Product.objects.filter(pk=product.pk).values_list("stock_on_hand", flat=True).get()
        StockMovement.objects.create(product_id=product.pk, store_id=product.store_id,
                                     kind=StockMovement.Kind.ADJUST, delta=delta, quantity_after=after,
                                     source=source[:40], user=user if getattr(user, "pk", None) else None)
        if delta and _source_records(source):
            record_change(store_id=product.store_id, product_ids=[product.pk], reason=f"stock_{source}")
        if delta > 0:
            _after_increase(product.store_id, [product.pk])
    _refresh_stock(product)
    return product


def _refresh_stock(product: Product) -> None:
    row = Product.objects.filter(pk=product.pk).values("stock_on_hand", "stock_reserved").first()
    if row:
        product.stock_on_hand, product.stock_reserved = row["stock_on_hand"], row["stock_reserved"]


@dataclass
class BatchItemResult:
    index: int
    sku: str
    ok: bool
    error: str = ""
    product_id: int | None = None
    stock_on_hand: int | None = None
    sellable: int | None = None
    field_errors: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        data = {"index": self.index, "sku": self.sku, "ok": self.ok}
        if self.ok:
            data.update(product_id=self.product_id, stock_on_hand=self.stock_on_hand, sellable=self.sellable)
        else:
            data["error"] = self.error
        return data


@dataclass
class BatchResult:
    items: list[BatchItemResult]

    @property
    def applied(self) -> int:
        return sum(1 for item in self.items if item.ok)

    @property
    def rejected(self) -> int:
        return sum(1 for item in self.items if not item.ok)

    @property
    def errors(self) -> list[BatchItemResult]:
        return [item for item in self.items if not item.ok]

    def as_dict(self) -> dict:
        return {"applied": self.applied, "rejected": self.rejected, "results": [i.as_dict() for i in self.items]}


def _validate_item(index: int, item) -> tuple[BatchItemResult, str | None, int | None]:
    """(result, kind, value); kind is "quantity" or "delta" when the item is valid."""
    if not isinstance(item, dict):
        return BatchItemResult(index, "", False, "each item must be an object {sku, quantity} or {sku, delta}"), \
            None, None
    sku = str(item.get("sku") or "").strip()
    result = BatchItemResult(index, sku, False)
    if not sku:
        result.error = "sku is missing"
        return result, None, None
    has_q = item.get("quantity") not in (None, "")
    has_d = item.get("delta") not in (None, "")
    if has_q == has_d:
        result.error = "give exactly one of quantity or delta"
        return result, None, None
    try:
        if has_q:
            return result, "quantity", _check_quantity(item["quantity"])
        delta = _int(item["delta"], label="delta")
        if abs(delta) > MAX_STOCK_ON_HAND:
            raise InvalidInput(f"delta {delta} is too large")
        return result, "delta", delta
    except InvalidInput as exc:
        result.error = str(exc)
        return result, None, None


def _batch_targets(store: Store, items: list[dict]) -> tuple[list[BatchItemResult], list[tuple]]:
    """(a result per item, the valid items of known SKUs as (result, kind, value)). A SKU given twice or unknown
    in the store is refused by index."""
    results: list[BatchItemResult] = []
    valid: list[tuple[BatchItemResult, str, int]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        result, kind, value = _validate_item(index, item)
        results.append(result)
        if kind is None:
            continue
        if result.sku in seen:
            result.error = f"sku {result.sku} already given in item {seen[result.sku]}: give each SKU once"
            continue
        seen[result.sku] = index
        valid.append((result, kind, value))

    skus = [r.sku for r, _, _ in valid]
    ids: dict[str, int] = {}
    for start in range(0, len(skus), 2000):
        ids.update(Product.objects.filter(store=store, sku__in=skus[start:start + 2000]).values_list("sku", "id"))
    todo = []
    for result, kind, value in valid:
        pid = ids.get(result.sku)
        if pid is None:
            result.error = f"unknown sku {result.sku} in store {store.name}"
            continue
        result.product_id = pid
        todo.append((result, kind, value))
    return results, todo


def _fresh_stock(product_ids: list[int]) -> dict[int, tuple[int, int, bool]]:
    """product id -> (on hand, reserved, active), read now."""
    fresh: dict[int, tuple[int, int, bool]] = {}
    for start in range(0, len(product_ids), 2000):
        for pid, on_hand, reserved, active in Product.objects.filter(pk__in=product_ids[start:start + 2000]) \
                .values_list("id", "stock_on_hand", "stock_reserved", "is_active"):
            fresh[pid] = (on_hand, reserved, active)
    return fresh


def stock_batch(*, store: Store, items: list[dict], source: str, user=None) -> BatchResult:
    """Apply many ``{sku, quantity}`` (set) or ``{sku, delta}`` (adjust) items of one store at once.

    Bad items (unknown SKU, bad number, a removal below 0, a SKU given twice) are reported by index and SKU;
    valid items are applied, each with an atomic update, all in one transaction with one outbox write.
    """
    results, todo = _batch_targets(store, items)
    user = user if getattr(user, "pk", None) else None
    changed: list[int] = []
    increased: list[int] = []
    movements: list[StockMovement] = []
    with transaction.atomic():
        locked_before: dict[int, int] = {}
        todo.sort(key=lambda entry: entry[0].product_id)  # one lock order for every writer (no deadlock)
        set_ids = [r.product_id for r, kind, _ in todo if kind == "quantity"]
        for start in range(0, len(set_ids), 2000):
            locked_before.update(Product.objects.select_for_update().filter(
                pk__in=set_ids[start:start + 2000]).order_by("id").values_list("id", "stock_on_hand"))
        for result, kind, value in todo:
            pid = result.product_id
            if kind == "quantity":
                before = locked_before.get(pid, 0)
                Product.objects.filter(pk=pid).update(stock_on_hand=value)
                delta, after = value - before, value
            else:
                qs = Product.objects.filter(pk=pid)
                if value < 0:
                    qs = qs.filter(stock_on_hand__gte=-value)
                if not qs.update(stock_on_hand=F("stock_on_hand") + value):
                    current = Product.objects.filter(pk=pid).values_list("stock_on_hand", flat=True).first()
                    result.error = f"cannot remove {-value} from {result.sku}: only {current} on hand"
                    continue
                delta, after = value, None
            result.ok = True
            if delta:
                changed.append(pid)
            if delta > 0:
                increased.append(pid)
            movements.append(StockMovement(product_id=pid, store_id=store.pk, delta=delta, quantity_after=after,
                                           kind=StockMovement.Kind.SET if kind == "quantity" else
                                           StockMovement.Kind.ADJUST, source=source[:40], user=user))
        fresh = _fresh_stock([r.product_id for r in results if r.ok])
        for movement in movements:
            if movement.quantity_after is None:
                movement.quantity_after = fresh[movement.product_id][0]
        StockMovement.objects.bulk_create(movements, batch_size=1000)
        if changed and _source_records(source):
            record_change(store_id=store.pk, product_ids=changed, reason=f"stock_{source}")
        if increased:
            _after_increase(store.pk, increased)
    for result in results:
        if result.ok:
            on_hand, reserved, active = fresh[result.product_id]
            result.stock_on_hand = on_hand
            result.sellable = sellable_quantity(on_hand=on_hand, reserved=reserved, safety_stock=store.safety_stock,
                                                is_active=active)
    return BatchResult(results)


# ================================================================ prices

def price_set(*, product: Product, price=None, sale_price=None, source: str, user=None,
              clear_sale_price: bool = False) -> Product:
    """Change the OMS price and/or sale price (None = leave as is; ``clear_sale_price`` removes the sale price).

    Refused with the reason when a value is outside FNAC's limits (0.90 to 20,000 EUR, two decimals), or when the
    store's price mapping and rounding would make the price sent to FNAC invalid.
    """
    updates: dict = {}
    errors: dict[str, list[str]] = {}
    for label, value in (("price", price), ("sale_price", sale_price)):
        if value is None or value == "":
            continue
        problem = price_problem(value, label=label)
        if problem:
            errors[label] = [problem]
        else:
            updates[label] = parse_price(value, label=label)
    if clear_sale_price:
        if "sale_price" in updates:
            errors["sale_price"] = ["give a sale price or clear it, not both"]
        updates["sale_price"] = None
    if errors:
        raise InvalidInput("; ".join(msg for msgs in errors.values() for msg in msgs) + f" (product {product.sku})",
                           details=errors)
    if not updates:
        raise InvalidInput("nothing to change: give price and/or sale_price",
                           details={"price": ["give price and/or sale_price"]})
    store = product.store
    new_price = updates.get("price", product.price)
    new_sale = updates["sale_price"] if "sale_price" in updates else product.sale_price
    mapped = mapped_price(price=new_price, sale_price=new_sale, store=store)
    if mapped is not None:
        problem = price_problem(mapped, label="FNAC price")
        if problem:
            raise InvalidInput(f"{problem} after the store's mapping ({store.get_price_field_display()}, "
                               f"{store.get_price_rounding_display()}) (product {product.sku})",
                               details={"price": [problem]})
    with transaction.atomic():
        old_mapped = fnac_price_for(Product.objects.only("price", "sale_price").get(pk=product.pk), store)
        Product.objects.filter(pk=product.pk).update(**updates)
        for name, value in updates.items():
            setattr(product, name, value)
        StockMovement.objects.create(product_id=product.pk, store_id=product.store_id, kind=StockMovement.Kind.PRICE,
                                     delta=0, source=source[:40], user=user if getattr(user, "pk", None) else None,
                                     note=", ".join(f"{k}={v}" for k, v in updates.items()))
        if mapped != old_mapped and _source_records(source):
            record_change(store_id=product.store_id, product_ids=[product.pk], reason=f"price_{source}")
    return product


def products_mark_changed(*, store: Store, product_ids: Iterable[int] | None, reason: str) -> None:
    """Record that these products (None: every active product of the store) must be pushed again (e.g. after the
    store's safety stock or price mapping changed). One outbox write."""
    offers_mark_changed(store_id=store.pk, product_ids=product_ids, reason=reason)


def offers_mark_changed(*, store_id: int, product_ids: Iterable[int] | None, reason: str) -> None:
    """``products_mark_changed`` by store id (``stores.hooks.offers_changed``: stores and the catalogue call it)."""
    with transaction.atomic():
        if product_ids is None:
            product_ids = Product.objects.filter(store_id=store_id, is_active=True).values_list("id", flat=True)
        record_change(store_id=store_id, product_ids=list(product_ids), reason=reason)


def price_stock_write(*, product: Product, price=None, sale_price=None, quantity: int | None = None,
                      source: str) -> None:
    """An OMS edit of price, sale price and/or stock on hand (``stores.hooks.price_stock_write``: the catalogue's
    product edit and Excel upload call it)."""
    if price is not None or sale_price is not None:
        price_set(product=product, price=price, sale_price=sale_price, source=source)
    if quantity is not None:
        stock_set(product=product, quantity=quantity, source=source)
