"""Deterministic data generator of the sandbox.

Rules the tests and the demo rely on:

* SKUs are ``SKU-000001``, ``SKU-000002``... in seeding order; the content of SKU number *i* (EAN, name,
  price...) depends only on ``(seed, i)``, so orders can reference catalogue products never seeded as
  offers and still agree with a later ``seed_offers``.
* Seeded EANs are valid EAN-13 that embed the SKU number (unique): books ``978..``, everything else ``3..``.
* About 3 % of seeded order lines carry a SKU the seller does not have: ``UNKNOWN-#####``.
* Order ids are 13 upper-case alphanumerics; order_detail_id is a positive integer unique in the sandbox.
* Dates are relative to the sandbox clock (its "now"), the rest is fixed by the seed.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
import uuid
from decimal import Decimal

from fnac_connector.marketplace.fnac.limits import ORDER_ID_LENGTH

from . import catalog
from .clock import SimClock
from .state import Address, Offer, Order, OrderLine, Product, Store, money

ORDER_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
SHIPPING_METHODS = {
    "20": Decimal("0.00"),
    "21": Decimal("4.90"),
    "22": Decimal("9.90"),
    "50": Decimal("3.99"),
    "51": Decimal("5.99"),
    "52": Decimal("2.99"),
    "53": Decimal("6.90"),
    "54": Decimal("12.90"),
    "55": Decimal("0.00"),
}
UNKNOWN_SKU_PREFIX = "UNKNOWN-"
UNKNOWN_SKU_RATE = 0.03


def ean_check_digit(first12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def is_valid_ean13(value: str) -> bool:
    return len(value) == 13 and value.isdigit() and ean_check_digit(value[:12]) == value[12]


def make_ean(prefix: str, rng: random.Random, embed: int | None = None) -> str:
    body = prefix
    if embed is not None:
        tail = f"{embed:07d}"[-7:]
        body += "".join(rng.choice("0123456789") for _ in range(12 - len(prefix) - len(tail))) + tail
    else:
        body += "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
    return body + ean_check_digit(body)


def rng_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def ascii_slug(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c for c in norm.lower() if c.isalnum())


def sku_for(index: int) -> str:
    return f"SKU-{index:06d}"


def catalogue_item(seed: int, index: int) -> dict:
    """The product behind SKU number ``index``: the same for a given seed whatever else was generated."""
    rng = random.Random(f"{seed}:product:{index}")
    category, nouns, brands, (lo, hi) = rng.choice(catalog.PRODUCT_FAMILIES)
    brand = rng.choice(brands)
    noun = rng.choice(nouns)
    model = f"{rng.choice(catalog.MODEL_WORDS)} {rng.randint(2, 99)}"
    if category.startswith("LIV_"):
        ean = make_ean("978", rng, embed=index)
        name = f"{noun} - {rng.choice(catalog.FIRST_NAMES)} {rng.choice(catalog.LAST_NAMES)} - {brand}"
    else:
        ean = make_ean("3", rng, embed=index)
        name = f"{brand} {noun} {model}"
        if category in ("INFO_PORTABLES", "TEL_SMARTPHONES", "INFO_TABLETTES"):
            name += f" {rng.choice(['128 Go', '256 Go', '512 Go', '1 To'])}"
    price = Decimal(f"{rng.randint(lo, hi)}.{rng.choice(['99', '90', '00', '49', '95'])}")
    product_fnac_id = f"{rng.randint(1, 9)}{index:07d}"
    return {
        "sku": sku_for(index),
        "ean": ean,
        "name": name,
        "brand": brand,
        "category": category,
        "price": money(min(price, Decimal("19999.00"))),
        "product_fnac_id": product_fnac_id,
        "image": f"https://static.sandbox.invalid/images/{ean}.jpg",
        "product_url": f"https://www.fnac.com/a{product_fnac_id}/sandbox-{index}",
    }


# the buyer may hand an old appliance of the same kind back (French "reprise 1 pour 1" of electrical goods): FNAC
# then sends nb_products_to_take_back on the line; the sandbox sets it for these categories' lines
TAKE_BACK_CATEGORIES = frozenset({"EM_CAFE", "EM_ROBOTS", "EM_ASPIRATEURS", "TV_TELEVISEURS"})


class Seeder:
    def __init__(self, store: Store, clock: SimClock, seed: int) -> None:
        self.store = store
        self.clock = clock
        self.seed = seed
        self.rng = random.Random(f"{seed}:seeder")
        self.shop_id = "00000000-0000-0000-0000-000000000000"

    def reseed(self) -> None:
        self.rng = random.Random(f"{self.seed}:seeder")

    # ---------------------------------------------------------------- catalogue / offers
    def register_product(self, item: dict, source: str = "seed") -> Product:
        product = self.store.products.get(item["ean"])
        if product is None:
            product = Product(
                ean=item["ean"],
                product_fnac_id=item["product_fnac_id"],
                name=item["name"],
                category=item["category"],
                brand=item["brand"],
                image=item["image"],
                source=source,
            )
            self.store.products[item["ean"]] = product
        return product

    def _offer_from_item(self, item: dict, now: dt.datetime) -> Offer:
        rng = self.rng
        created = now - dt.timedelta(seconds=rng.randint(86400, 400 * 86400))
        modified = created + dt.timedelta(seconds=rng.randint(0, int((now - created).total_seconds())))
        roll = rng.random()
        state = "11" if roll < 0.85 else "10" if roll < 0.9 else str(rng.randint(1, 4))
        quantity = 0 if rng.random() < 0.1 else rng.randint(1, 50)
        return Offer(
            sku=item["sku"],
            offer_fnac_id=rng_uuid(rng).upper(),
            product_fnac_id=item["product_fnac_id"],
            ean=item["ean"],
            product_name=item["name"],
            price=item["price"],
            quantity=quantity,
            product_state=state,
            created_at=created,
            modified_at=modified,
            description=f"{item['name']} - expédié sous 48h"[:255],
            internal_comment="",
            product_url=item["product_url"],
            image=item["image"],
            time_to_ship=rng.choice([1, 2, 3]),
        )

    def seed_offers(self, n: int, duplicate_skus: int = 0) -> list[Offer]:
        with self.store.lock:
            now = self.clock.now()
            created: list[Offer] = []
            for _ in range(n):
                index = self.store.next_sku_index
                self.store.next_sku_index += 1
                item = catalogue_item(self.seed, index)
                self.register_product(item)
                offer = self._offer_from_item(item, now)
                self.store.offers[offer.sku] = offer
                created.append(offer)
            for original in self.rng.sample(created, min(duplicate_skus, len(created))):
                twin = self._offer_from_item(catalogue_item(self.seed, int(original.sku.split("-")[1])), now)
                twin.price = money(original.price + Decimal("1.00"))
                self.store.duplicate_offers.append(twin)
            self.store.offers_changed()
            return created

    # ---------------------------------------------------------------- orders
    def new_order_id(self) -> str:
        while True:
            oid = "".join(self.rng.choice(ORDER_ID_ALPHABET) for _ in range(ORDER_ID_LENGTH))
            if oid not in self.store.orders:
                return oid

    def _address(self, first: str, last: str) -> Address:
        rng = self.rng
        zipcode, city = rng.choice(catalog.CITIES)
        return Address(
            firstname=first,
            lastname=last,
            address1=f"{rng.randint(1, 180)} {rng.choice(catalog.STREETS)}",
            address2=rng.choice(["", "", "", f"Bâtiment {rng.choice('ABCD')}", f"Appt {rng.randint(1, 80)}"]),
            zipcode=zipcode,
            city=city,
            country="FRA",
            phone=f"0{rng.randint(1, 5)}{rng.randint(10000000, 99999999)}",
            mobile=f"0{rng.choice('67')}{rng.randint(10000000, 99999999)}",
        )

    def _pick_item(self) -> dict:
        """A line's product: a seeded offer when there are any, else a catalogue item by SKU number."""
        rng = self.rng
        if rng.random() < UNKNOWN_SKU_RATE:
            item = dict(catalogue_item(self.seed, 9_000_000 + rng.randint(1, 99999)))
            item["sku"] = f"{UNKNOWN_SKU_PREFIX}{rng.randint(1, 99999):05d}"
            item["offer_fnac_id"] = rng_uuid(rng).upper()
            return item
        offers = self.store.offers
        if offers:
            sku = sku_for(rng.randint(1, self.store.next_sku_index - 1))
            offer = offers.get(sku) or next(iter(offers.values()))
            return {
                "sku": offer.sku,
                "ean": offer.ean,
                "name": offer.product_name,
                "price": offer.price,
                "product_fnac_id": offer.product_fnac_id,
                "offer_fnac_id": offer.offer_fnac_id,
                "image": offer.image,
                "product_url": offer.product_url,
                "product_state": offer.product_state,
            }
        item = dict(catalogue_item(self.seed, rng.randint(1, 500)))
        item["offer_fnac_id"] = str(
            uuid.UUID(int=random.Random(f"{self.seed}:offer:{item['sku']}").getrandbits(128), version=4)
        ).upper()
        return item

    def _line_specs(self, specs) -> list[dict]:
        """Line specs from ``add_order``: SKU strings or dicts with sku/quantity/price/... keys."""
        out = []
        for spec in specs:
            if isinstance(spec, str):
                spec = {"sku": spec}
            spec = dict(spec)
            sku = spec["sku"]
            offer = self.store.offers.get(sku)
            if offer is not None:
                base = {
                    "sku": sku,
                    "ean": offer.ean,
                    "name": offer.product_name,
                    "price": offer.price,
                    "product_fnac_id": offer.product_fnac_id,
                    "offer_fnac_id": offer.offer_fnac_id,
                    "image": offer.image,
                    "product_url": offer.product_url,
                    "product_state": offer.product_state,
                }
                number = sku.split("-")[-1]
                if sku.startswith("SKU-") and number.isdigit():
                    base["category"] = catalogue_item(self.seed, int(number))["category"]
            else:
                num = int(sku.split("-")[-1]) if sku.split("-")[-1].isdigit() else abs(hash(sku)) % 10_000_000
                base = dict(catalogue_item(self.seed, num))
                base["sku"] = sku
                base["offer_fnac_id"] = rng_uuid(self.rng).upper()
            base.update({k: v for k, v in spec.items() if k != "sku"})
            if "price" in spec:
                base["price"] = money(spec["price"])
            out.append(base)
        return out

    def make_order(
        self,
        created_at: dt.datetime,
        state: str = "Created",
        lines=None,
        order_id: str | None = None,
        shipping_method: str | None = None,
        now: dt.datetime | None = None,
    ) -> Order:
        rng = self.rng
        now = now or self.clock.now()
        first, last = rng.choice(catalog.FIRST_NAMES), rng.choice(catalog.LAST_NAMES)
        address = self._address(first, last)
        billing = address if rng.random() < 0.8 else self._address(first, last)
        if lines is None:
            count = 1 if rng.random() < 0.7 else 2 if rng.random() < 0.75 else 3
            items = [self._pick_item() for _ in range(count)]
        else:
            items = self._line_specs(lines)
        method = shipping_method or rng.choice(list(SHIPPING_METHODS))
        order_lines = []
        for item in items:
            quantity = int(item.get("quantity") or (1 if rng.random() < 0.85 else rng.randint(2, 3)))
            take_back = item.get("nb_products_to_take_back")
            if take_back is None:
                take_back = quantity if item.get("category", "") in TAKE_BACK_CATEGORIES else 0
            line = OrderLine(
                order_detail_id=self.store.next_order_detail_id,
                state="ToAccept",
                sku=item["sku"],
                product_fnac_id=item["product_fnac_id"],
                offer_fnac_id=item["offer_fnac_id"],
                product_name=item["name"],
                price=money(item["price"]),
                quantity=quantity,
                nb_products_to_take_back=int(take_back),
                product_state=str(item.get("product_state", "11")),
                shipping_price=SHIPPING_METHODS.get(str(method), Decimal("0.00")),
                shipping_method=str(method),
                created_at=created_at,
                image=item.get("image", ""),
                product_url=item.get("product_url", ""),
                ean=item.get("ean", ""),
            )
            self.store.next_order_detail_id += 1
            order_lines.append(line)
        order = Order(
            order_id=order_id or self.new_order_id(),
            state="Created",
            created_at=created_at,
            updated_at=created_at,
            shop_id=self.shop_id,
            client_id=rng_uuid(rng),
            client_firstname=first,
            client_lastname=last,
            client_email=f"{ascii_slug(first)}.{ascii_slug(last)}{rng.randint(1, 999)}@example.com",
            shipping_address=address,
            billing_address=billing,
            lines=order_lines,
        )
        self.advance_to(order, state, now)
        return order

    def advance_to(self, order: Order, state: str, now: dt.datetime) -> None:
        """Give a new order the history of ``state``: line states, timestamps, tracking numbers."""
        rng = self.rng
        t = order.created_at

        def step(minutes_lo: int, minutes_hi: int) -> dt.datetime:
            nonlocal t
            t = min(now, t + dt.timedelta(minutes=rng.randint(minutes_lo, minutes_hi)))
            return t

        line_state = {
            "Created": "ToAccept",
            "Accepted": "Accepted",
            "Refused": "Refused",
            "ToShip": "ToShip",
            "Shipped": "Shipped",
            "NotReceived": "NotReceived",
            "Received": "Received",
            "Cancelled": "Cancelled",
            "Refunded": "Refunded",
            "Error": "ToAccept",
        }[state]
        if state == "Refused":
            order.refused_at = step(5, 600)
        elif state not in ("Created", "Error"):
            order.accepted_at = step(5, 600)
            if state != "Accepted":
                order.debited_at = step(1, 120)
            if state == "Cancelled":
                order.cancelled_at = step(30, 2000)
            if state in ("Shipped", "NotReceived", "Received", "Refunded"):
                order.shipped_at = step(120, 2880)
            if state in ("Received", "Refunded"):
                order.received_at = step(1440, 5760)
            if state == "Refunded":
                order.refunded_at = step(60, 10080)
        for line in order.lines:
            line.state = line_state
            line.debited_at = order.debited_at
            line.received_at = order.received_at
            line.refused_at = order.refused_at
            if order.shipped_at is not None:
                line.tracking_company = rng.choice(["SOCOLISSIMO", "CHRONOPOST", "UPS", "LAPOSTE", "GLS"])
                line.tracking_number = (
                    f"{rng.choice('68')}{rng.choice('ABLPRV')}{rng.randint(10**10, 10**11 - 1)}"
                )
            if state == "Refunded":
                line.refund_reason = rng.choice(["returned_article", "damaged_article", "retraction"])
        order.state = state
        order.changed(t)

    def _state_for_age(self, age_days: float) -> str:
        roll = self.rng.random()
        table = (
            [("Created", 0.30), ("Accepted", 0.10), ("ToShip", 0.40), ("Shipped", 0.15), ("Cancelled", 0.05)]
            if age_days < 1
            else [
                ("ToShip", 0.20),
                ("Shipped", 0.60),
                ("Received", 0.10),
                ("Cancelled", 0.05),
                ("Refused", 0.05),
            ]
            if age_days < 3
            else [
                ("Shipped", 0.25),
                ("Received", 0.60),
                ("NotReceived", 0.03),
                ("Refunded", 0.05),
                ("Cancelled", 0.04),
                ("Refused", 0.03),
            ]
            if age_days < 14
            else [
                ("Received", 0.85),
                ("Refunded", 0.06),
                ("Cancelled", 0.05),
                ("Refused", 0.03),
                ("NotReceived", 0.01),
            ]
        )
        acc = 0.0
        for state, weight in table:
            acc += weight
            if roll < acc:
                return state
        return table[-1][0]

    def seed_orders(self, n: int, days: float = 120, states=None) -> list[Order]:
        """``states``: None (by age), one state, a list (picked uniformly) or a {state: weight} dict."""
        with self.store.lock:
            now = self.clock.now()
            out = []
            if isinstance(states, str):
                states = [states]
            for _ in range(n):
                created = now - dt.timedelta(seconds=self.rng.randint(0, int(days * 86400)))
                if states is None:
                    state = self._state_for_age((now - created).total_seconds() / 86400)
                elif isinstance(states, dict):
                    state = self.rng.choices(list(states), weights=list(states.values()))[0]
                else:
                    state = self.rng.choice(list(states))
                order = self.make_order(created, state, now=now)
                self.store.orders[order.order_id] = order
                out.append(order)
            self.store.orders_changed()
            return out
