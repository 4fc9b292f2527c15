"""``pricing_query`` of the sandbox: other sellers' offers per product, moving over simulated time.

What it answers, and on what it rests:

* one ``pricing_product`` per product reference, in the order asked (FNAC's recorded answer, fnapy's developer
  docs): ``product_reference``, ``ean``, ``product_url``, ``product_name``, our own offer (``seller_price``,
  ``seller_shipping``, ``seller_offer_sku``, ``seller_offer_state``) when the shop has an offer for that EAN,
  the lowest ``new_`` / ``refurbished_`` / ``used_`` price and shipping, then one ``pricing type=...`` per
  competing offer (price, shipping_price, offer_status, seller) as PricingQueryService.xsd lists them;
* ``sellers="others"`` leaves our own offer out of the ``pricing`` entries; ``all`` or no attribute puts it in
  (the XSD: "All sellers including me"; the default is not documented, the sandbox takes the stricter one);
* a reference is an EAN (``type="Ean"``, the default, or ``Isbn``) or FNAC's product id (``type="FnacId"``,
  PricingQueryService.xsd's ``product_reference_type``); the answer echoes the reference and its type, and carries
  the product's EAN. Pricing by FnacId is allowed by the XSD but not seen in a recorded FNAC answer: the sandbox
  answers it like an EAN (a product id it knows from its catalogue or the shop's offers, else ERR_026);
* per-product errors: an EAN whose check digit is wrong gets ``INVALID_EAN`` (sandbox's code), an EAN FNAC does
  not know (``000...``) gets ERR_026 "Product not found" (FNAC's code for an unknown product_reference), as does a
  FnacId it does not know;
* more than 10 references: the whole call refused with ERR_105 (FNAC's "too many elements" code for its other
  services; whether FNAC refuses the whole call or only the extra references is not confirmed, so the sandbox
  takes the stricter reading);
* a body that does not validate (lowercase reference, unknown type): ERR_096 by the router, like every service.

Competitors are drawn from ``random.Random`` seeded by the sandbox seed and the EAN (2 to 6 offers of the three
seller types, mostly in our condition, some in others), and each price drifts by up to +-6 % per simulated hour
(the hour of ``SimClock``), so ``tick()`` moves them. ``set_competitors`` pins exact offers for a test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from fnac_connector.marketplace.fnac.limits import (
    INVALID_EAN,
    MAX_PRODUCTS_PER_PRICING_QUERY,
    PRODUCT_NOT_FOUND,
    TOO_MANY_ELEMENTS,
)

from . import fnac_xml as x
from .context import SandboxContext
from .seed import is_valid_ean13
from .state import money

SELLER_SHIPPING = Decimal("2.39")  # what the sandbox shows as our own shipping price (the recorded answer's)
SHOP_NAME = "Your shop (sandbox)"
SELLER_TYPES = ("professional", "professional", "not professional", "fnac")
OTHER_STATES = ("10", "1", "2", "3", "5")
SHIPPINGS = (Decimal("0"), Decimal("2.39"), Decimal("3.99"), Decimal("4.99"))
HOUR = 3600


@dataclass(frozen=True)
class Competitor:
    seller_type: str
    state: str
    price: Decimal
    shipping: Decimal
    seller: str


class PricingApi:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.state
        self.seed = getattr(ctx, "seed", 1)
        self.pinned: dict[str, list[Competitor]] = {}

    # ---------------------------------------------------------------- knobs (tests, control)
    def set_competitors(self, ean: str, offers: list[dict] | None) -> None:
        """Pin the competing offers of ``ean`` ([{type, state, price, shipping, seller}]); None unpins."""
        with self.store.lock:
            if offers is None:
                self.pinned.pop(ean, None)
                return
            self.pinned[ean] = [Competitor(o.get("type", "professional"), str(o.get("state", "11")),
                                           money(o["price"]), money(o.get("shipping", 0)),
                                           o.get("seller", f"Seller {i + 1}")) for i, o in enumerate(offers)]

    def competitors(self, ean: str) -> list[Competitor]:
        if ean in self.pinned:
            return list(self.pinned[ean])
        rng = random.Random(f"{self.seed}:pricing:{ean}")
        own = self._own_offer(ean)
        base = own.price if own is not None else money(5 + int(ean[-4:] or 0) % 200)
        state = own.product_state if own is not None else "11"
        hour = int(self.ctx.clock.now().timestamp() // HOUR)
        out = []
        for i in range(rng.randint(2, 6)):
            drift = random.Random(f"{self.seed}:pricing:{ean}:{i}:{hour}").uniform(-0.06, 0.06)
            start = rng.uniform(0.85, 1.25)
            price = max(Decimal("0.90"), money(float(base) * (start + drift)))
            out.append(Competitor(rng.choice(SELLER_TYPES), state if rng.random() < 0.7 else rng.choice(OTHER_STATES),
                                  price, rng.choice(SHIPPINGS), f"Seller {rng.randint(100, 999)}"))
        return out

    def _own_offer(self, ean: str):
        """The shop's offer for ``ean`` (an index rebuilt when the offers change, not a scan per product)."""
        version = (id(self.store.offers), self.store.offers_version, len(self.store.offers))
        if getattr(self, "_index_version", None) != version:
            self._index = {}
            for offer in self.store.offers.values():
                self._index.setdefault(offer.ean, offer)
            self._index_version = version
        return self._index.get(ean)

    # ---------------------------------------------------------------- the service
    def pricing_query(self, root) -> bytes:
        refs = list(root.iter(x.q("product_reference")))
        if len(refs) > MAX_PRODUCTS_PER_PRICING_QUERY:
            return x.response("pricing_query", "ERROR", [x.error(
                TOO_MANY_ELEMENTS, f"Too many product references: {len(refs)}, at most "
                                   f"{MAX_PRODUCTS_PER_PRICING_QUERY} per call")])
        include_own = root.get("sellers", "all") != "others"
        products = []
        with self.store.lock:
            for ref in refs:
                products.append(self._product(ref.get("type", "Ean"), (ref.text or "").strip(), include_own))
        status = "OK" if all(p.find("error") is None for p in products) else "WARNING"
        return x.response("pricing_query", status, products)

    def _product(self, ref_type: str, value: str, include_own: bool):
        el = x.element("pricing_product")
        x.sub(el, "product_reference", value, type=ref_type)
        problem = self._problem(ref_type, value)
        ean = value
        if problem is None and ref_type == "FnacId":
            ean = self._ean_of_fnac_id(value)
            if ean is None:
                problem = PRODUCT_NOT_FOUND, f"Product not found: FnacId {value}"
        if problem:
            x.sub(el, "product_name", "")
            el.append(x.error(*problem))
            return el
        own = self._own_offer(ean)
        product = self.store.products.get(ean)
        x.sub(el, "ean", ean)
        x.sub(el, "product_url", f"https://www.fnac.sandbox.invalid/a{ean[-7:]}")
        x.sub(el, "product_name", (product.name if product else (own.product_name if own else f"Produit {ean}"))[:255])
        if own is not None:
            x.subs(el, [("seller_price", own.price), ("seller_shipping", SELLER_SHIPPING),
                        ("seller_offer_sku", own.sku), ("seller_offer_state", own.product_state)])
        offers = self.competitors(ean)
        if include_own and own is not None:
            offers.append(Competitor("professional", own.product_state, own.price, SELLER_SHIPPING, SHOP_NAME))
        for group, states in (("new", ("11",)), ("refurbished", ("10",)), ("used", ("1", "2", "3", "4"))):
            in_group = [o for o in offers if o.state in states]
            best = min(in_group, key=lambda o: o.price + o.shipping) if in_group else None
            x.sub(el, f"{group}_price", best.price if best else "")
            x.sub(el, f"{group}_shipping", best.shipping if best else "")
        for offer in sorted(offers, key=lambda o: o.price + o.shipping):
            entry = x.sub(el, "pricing", type=offer.seller_type)
            x.subs(entry, [("seller", offer.seller), ("price", offer.price), ("shipping_price", offer.shipping),
                           ("offer_status", offer.state)])
        return el

    def _ean_of_fnac_id(self, fnac_id: str) -> str | None:
        """The EAN of the product FNAC knows under ``fnac_id`` (the shop's offers, else the catalogue; an index
        rebuilt when either changes, not a scan per reference)."""
        version = (id(self.store.offers), self.store.offers_version, len(self.store.offers), len(self.store.products))
        if getattr(self, "_fnac_id_version", None) != version:
            self._fnac_ids = {p.product_fnac_id: p.ean for p in self.store.products.values() if p.product_fnac_id}
            self._fnac_ids.update({o.product_fnac_id: o.ean for o in self.store.offers.values()
                                   if o.product_fnac_id and o.ean})
            self._fnac_id_version = version
        return self._fnac_ids.get(fnac_id)

    def _problem(self, ref_type: str, value: str) -> tuple[str, str] | None:
        if ref_type == "FnacId":
            return None if value.isdigit() else (PRODUCT_NOT_FOUND, f"Product not found: FnacId {value}")
        if ref_type not in ("Ean", "Isbn"):
            return PRODUCT_NOT_FOUND, f"Product not found: {ref_type} {value}"
        if not (len(value) == 13 and is_valid_ean13(value)) and not (len(value) == 8 and value.isdigit()):
            return INVALID_EAN, f"Invalid EAN: {value}"
        if value.startswith("000"):
            return PRODUCT_NOT_FOUND, f"Product not found: {value}"
        return None
