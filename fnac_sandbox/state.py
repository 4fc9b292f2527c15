"""In-memory state of the sandbox marketplace. Everything is guarded by ``Store.lock`` (re-entrant).

Offers are keyed by SKU in ``Store.offers``; the deliberate duplicates made by
``seed_offers(duplicate_skus=k)`` (a second offer with the same SKU and another offer_fnac_id) live in
``Store.duplicate_offers``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from . import catalog

CENT = Decimal("0.01")
FEE_RATE = Decimal("0.15")  # FNAC commission on the price, before taxes
VAT = Decimal("1.20")


def money(value: Decimal | float | int | str) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(eq=False)
class Product:
    """A catalogue product FNAC knows (so offers_update accepts its EAN)."""

    ean: str
    product_fnac_id: str
    name: str
    category: str = ""
    brand: str = ""
    image: str = ""
    source: str = "seed"  # seed | mirakl | implicit


@dataclass(eq=False)
class Offer:
    sku: str
    offer_fnac_id: str
    product_fnac_id: str
    ean: str
    product_name: str
    price: Decimal
    quantity: int
    product_state: str
    created_at: dt.datetime
    modified_at: dt.datetime
    description: str = ""
    internal_comment: str = ""
    product_url: str = ""
    image: str = ""
    pictures: list[str] = field(default_factory=list)
    logistic_type_id: str = ""
    time_to_ship: int | None = None
    showcase: int | None = None
    xml_cache: str | None = field(default=None, repr=False)

    @property
    def fee_excluding_taxes(self) -> Decimal:
        return money(self.price * FEE_RATE)

    @property
    def fee_including_all_taxes(self) -> Decimal:
        return money(self.price * FEE_RATE * VAT)

    def changed(self, now: dt.datetime) -> None:
        self.modified_at = now
        self.xml_cache = None


@dataclass(eq=False)
class OrderLine:
    order_detail_id: int
    state: str
    sku: str
    product_fnac_id: str
    offer_fnac_id: str
    product_name: str
    price: Decimal
    quantity: int
    product_state: str = "11"
    shipping_price: Decimal = Decimal("0.00")
    shipping_method: str = "20"
    created_at: dt.datetime | None = None
    debited_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    refused_at: dt.datetime | None = None
    tracking_number: str = ""
    tracking_company: str = ""
    refund_reason: str = ""
    nb_products_to_take_back: int = 0
    image: str = ""
    product_url: str = ""
    ean: str = ""

    @property
    def fees(self) -> Decimal:
        return money(self.price * self.quantity * FEE_RATE)


@dataclass
class Address:
    firstname: str
    lastname: str
    address1: str
    zipcode: str
    city: str
    country: str = "FRA"
    company: str = ""
    address2: str = ""
    address3: str = ""
    phone: str = ""
    mobile: str = ""


@dataclass(eq=False)
class Order:
    order_id: str
    state: str
    created_at: dt.datetime
    updated_at: dt.datetime
    shop_id: str
    client_id: str
    client_firstname: str
    client_lastname: str
    client_email: str
    shipping_address: Address
    billing_address: Address
    lines: list[OrderLine]
    vat_rate: Decimal = Decimal("20.00")
    delivery_note: str = ""
    accepted_at: dt.datetime | None = None
    refused_at: dt.datetime | None = None
    debited_at: dt.datetime | None = None
    shipped_at: dt.datetime | None = None
    received_at: dt.datetime | None = None
    cancelled_at: dt.datetime | None = None
    refunded_at: dt.datetime | None = None
    xml_cache: str | None = field(default=None, repr=False)

    @property
    def fees(self) -> Decimal:
        return money(sum((line.fees for line in self.lines), Decimal("0")))

    def line(self, order_detail_id: int) -> OrderLine | None:
        for line in self.lines:
            if line.order_detail_id == order_detail_id:
                return line
        return None

    def date_of(self, kind: str) -> dt.datetime | None:
        """The date an orders_query ``date type=...`` filter looks at."""
        return {
            "CreatedAt": self.created_at,
            "UpdatedAt": self.updated_at,
            "AcceptedAt": self.accepted_at,
            "ReceivedAt": self.received_at,
            "DebitedAt": self.debited_at,
            "ShippedAt": self.shipped_at,
            "RefusedAt": self.refused_at,
            "CancelledAt": self.cancelled_at,
        }.get(kind)

    def changed(self, now: dt.datetime) -> None:
        self.updated_at = now
        self.xml_cache = None


@dataclass(eq=False)
class Batch:
    """An offers_update batch. ``items`` are parsed offers; applied once ``due`` (monotonic) has passed."""

    batch_id: str
    created_mono: float
    due_mono: float
    items: list[dict]
    status: str = "ACTIVE"  # ACTIVE | RUNNING | OK | WARNING | ERROR
    results: list[dict] = field(default_factory=list)
    done: bool = False
    applied_at: dt.datetime | None = None


@dataclass(eq=False)
class ProductImport:
    """A Mirakl P41 product import."""

    import_id: int
    created_mono: float
    due_mono: float
    date_created: dt.datetime
    filename: str
    header: list[str]
    rows: list[list[str]]
    status: str = "WAITING"  # the terminal status once done: SENT COMPLETE FAILED CANCELLED TRANSFORMATION_FAILED
    done: bool = False
    delay: float = 0.0  # simulated seconds from creation to the terminal status
    outcome: str = "COMPLETE"  # terminal status of an import whose file transforms (knob import_outcome)
    unknown_columns: list[str] = field(default_factory=list)  # not PM11 codes: transformation fails
    transformation_report: bytes | None = None  # P47
    last_p42: float | None = None  # simulated monotonic time of the last answered P42
    lines_read: int = 0
    lines_in_error: int = 0
    lines_in_success: int = 0
    error_report: bytes | None = None
    created_eans: list[str] = field(default_factory=list)


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.hierarchies = [
            {"code": code, "label": label, "level": catalog.level_of(code), "parent_code": parent}
            for code, label, parent in catalog.HIERARCHIES
        ]
        self.attributes = catalog.ATTRIBUTES
        self.values_lists = catalog.VALUES_LISTS
        self.carriers = catalog.CARRIERS
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.offers: dict[str, Offer] = {}
            self.duplicate_offers: list[Offer] = []
            self.orders: dict[str, Order] = {}
            self.batches: dict[str, Batch] = {}
            self.imports: dict[int, ProductImport] = {}
            self.pending_batches: list[Batch] = []
            self.pending_imports: list[ProductImport] = []
            self.products: dict[str, Product] = {}  # by EAN
            self.tokens: dict[str, float] = {}  # token -> expiry (time.time())
            # test knob (/sandbox/refuse): an offers_update / orders_update carrying one of these is refused whole
            self.refused_skus: set[str] = set()
            self.refused_order_ids: set[str] = set()
            self.next_sku_index = 1
            self.next_order_detail_id = 1
            self.next_import_id = 1
            self.last_p41: float | None = None  # simulated monotonic time of the last P41 (frequency limit)
            self.import_outcome = "COMPLETE"  # test knob (/sandbox/mirakl): terminal status of the next imports
            self.offers_version = 0
            self.orders_version = 0
            self._offer_cache: OrderedDict = OrderedDict()
            self._order_cache: OrderedDict = OrderedDict()
            self.incidents: dict = {}  # incident_id -> fnac_incidents.Incident (buyer claims)
            # after-sale conversations (fnac_messages): messages and order comments by id, the sorted-list cache,
            # and the test knob that refuses replies to some messages
            self.messages: dict = {}
            self.messages_version = 0
            self.messages_sorted = None
            self.messages_filtered = None
            self.comments: dict = {}
            self.refused_reply_ids: set[str] = set()

    # ---------------------------------------------------------------- change tracking
    def offers_changed(self) -> None:
        self.offers_version += 1

    def orders_changed(self) -> None:
        self.orders_version += 1

    # ---------------------------------------------------------------- offers
    def all_offers(self) -> list[Offer]:
        return list(self.offers.values()) + self.duplicate_offers

    def offers_with_sku(self, sku: str) -> list[Offer]:
        out = [self.offers[sku]] if sku in self.offers else []
        return out + [o for o in self.duplicate_offers if o.sku == sku]

    def sorted_offers(self, key: tuple, predicate) -> list[Offer]:
        """Offers matching ``predicate``, sorted by (created_at, offer_fnac_id); cached per filter ``key``
        until the offers change, so paging through 100k offers sorts once."""
        with self.lock:
            cache_key = (self.offers_version, key)
            hit = self._offer_cache.get(cache_key)
            if hit is not None:
                self._offer_cache.move_to_end(cache_key)
                return hit
            base_key = (self.offers_version, ())
            base = self._offer_cache.get(base_key)
            if base is None:
                base = sorted(self.all_offers(), key=lambda o: (o.created_at, o.offer_fnac_id))
                self._remember(self._offer_cache, base_key, base)
            result = base if predicate is None else [o for o in base if predicate(o)]
            self._remember(self._offer_cache, cache_key, result)
            return result

    def sorted_orders(self, key: tuple, predicate, descending: bool) -> list[Order]:
        with self.lock:
            cache_key = (self.orders_version, key, descending)
            hit = self._order_cache.get(cache_key)
            if hit is not None:
                self._order_cache.move_to_end(cache_key)
                return hit
            orders = sorted(
                self.orders.values(), key=lambda o: (o.created_at, o.order_id), reverse=descending
            )
            result = orders if predicate is None else [o for o in orders if predicate(o)]
            self._remember(self._order_cache, cache_key, result)
            return result

    @staticmethod
    def _remember(cache: OrderedDict, key, value, size: int = 16) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > size:
            cache.popitem(last=False)

    # ---------------------------------------------------------------- summary
    def counts(self) -> dict:
        with self.lock:
            by_state: dict[str, int] = {}
            for order in self.orders.values():
                by_state[order.state] = by_state.get(order.state, 0) + 1
            return {
                "offers": len(self.offers) + len(self.duplicate_offers),
                "skus": len(self.offers),
                "duplicate_offers": len(self.duplicate_offers),
                "orders": len(self.orders),
                "orders_by_state": dict(sorted(by_state.items())),
                "batches": len(self.batches),
                "imports": len(self.imports),
                "products": len(self.products),
                "carriers": len(self.carriers),
                "tokens": len(self.tokens),
            }
