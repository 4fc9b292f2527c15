"""FNAC offers on the sandbox: ``offers_query``, ``offers_update`` (an asynchronous batch) and ``batch_status``.

* Unknown products: an ``offers_update`` product_reference is unknown (``ERR_026 Product not found``) when it
  is not in the sandbox catalogue AND (it starts with ``000`` OR, for Ean/Isbn, it is not 8-14 digits, an
  ISBN-10 may end with X). Every other reference is accepted (FNAC's catalogue is huge) and joins the
  catalogue. Products created by a Mirakl P41 import join the catalogue too, so ``000...`` EANs become known
  once imported.
* batch_status of a finished batch whose offers all went through answers ``status="OK"`` with only the batch_id,
  no per-offer lines, and an unknown batch_id answers the same (both recorded from FNAC's sandbox); per-offer
  lines come only with a WARNING or ERROR batch.
* An offers_update that does not validate against the XSD, even for one offer (price out of 0.90..20000,
  quantity > 9999, description > 255 chars, missing offer_reference...), is refused whole: status ERROR,
  ``ERR_096 XML Validation failed``, no batch id, nothing applied (recorded from FNAC's sandbox). So is any
  call carrying a SKU listed with ``/sandbox/refuse`` (a test knob standing for "FNAC refuses this offer").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
import uuid
from decimal import Decimal

from fnac_connector.marketplace.fnac.limits import (
    MAX_OFFERS_PER_UPDATE,
    NEW_OFFER_WITHOUT_PRICE,
    NEW_OFFER_WITHOUT_PRODUCT,
    OFFER_NOT_FOUND,
    PRODUCT_NOT_FOUND,
    TOO_MANY_ELEMENTS,
)

from . import fnac_xml as x
from .context import SandboxContext
from .state import Batch, Offer, Product, money

QUANTITY_FILTERS = {
    "Equals": lambda q, v: q == v,
    "LessThan": lambda q, v: q < v,
    "GreaterThan": lambda q, v: q > v,
    "LessThanOrEquals": lambda q, v: q <= v,
    "GreaterThanOrEquals": lambda q, v: q >= v,
}
QUERY_ATTRIBUTE = {"product_fnac_id": "product_fnac_id", "offer_fnac_id": "offer_fnac_id", "offer_seller_id": "sku"}
UPDATE_FIELDS = ("price", "product_state", "quantity", "description", "internal_comment", "treatment",
                 "logistic_type_id", "time_to_ship", "showcase")
# the offer's fields in the order of an offers_query answer, then nb_messages, showcase and time_to_ship: only
# what FNAC sends (recorded: no ean, no update date; the XSD lists time_to_ship)
OFFER_FIELDS = (("product_name", "product_name"), ("product_fnac_id", "product_fnac_id"),
                ("offer_fnac_id", "offer_fnac_id"), ("offer_seller_id", "sku"), ("price", "price"),
                ("fee_excluding_taxes", "fee_excluding_taxes"), ("fee_including_all_taxes", "fee_including_all_taxes"),
                ("product_state", "product_state"), ("quantity", "quantity"), ("description", "description"),
                ("internal_comment", "internal_comment"), ("product_url", "product_url"), ("image", "image"))


def batch_status_of(statuses: set[str]) -> str:
    return "OK" if statuses <= {"OK"} else "ERROR" if statuses == {"ERROR"} else "WARNING"


class OffersApi:
    def __init__(self, ctx: SandboxContext) -> None:
        self.ctx = ctx
        self.store = ctx.state

    # ---------------------------------------------------------------- offers_query
    def offers_query(self, root) -> bytes:
        size, page = x.paging(root)
        key, preds = self._filters(root)
        predicate = (lambda o: all(p(o) for p in preds)) if preds else None
        with self.store.lock:
            offers = self.store.sorted_offers(tuple(key), predicate)
            total = len(offers)
            fragments = [self.offer_xml(o) for o in offers[(page - 1) * size : page * size]]
        return x.response("offers_query", "OK", x.page_header(page, size, total), fragments)

    @staticmethod
    def _filters(root) -> tuple[list, list]:
        """The cache key and the predicates of an offers_query's filters."""
        key: list = []
        preds = []
        multi: dict[str, set] = {}
        for el in root:
            name = x.local(el)
            if name == "date":
                lo, hi = x.date_range(el, "offers_query")
                attr = "created_at" if el.get("type") == "Created" else "modified_at"
                key.append(("date", attr, lo, hi))
                preds.append(lambda o, a=attr, lo=lo, hi=hi: (
                    (lo is None or getattr(o, a) >= lo) and (hi is None or getattr(o, a) <= hi)))
            elif name == "quantity":
                mode, value = el.get("mode", "Equals"), int(el.get("value", "0"))
                key.append(("qty", mode, value))
                preds.append(lambda o, c=QUANTITY_FILTERS[mode], v=value: c(o.quantity, v))
            elif name in QUERY_ATTRIBUTE:
                multi.setdefault(name, set()).add((el.text or "").strip())
        for name, values in sorted(multi.items()):
            key.append((name, tuple(sorted(values))))
            if name == "offer_fnac_id":
                upper = {v.upper() for v in values}
                preds.append(lambda o, vs=upper: o.offer_fnac_id.upper() in vs)
            else:
                preds.append(lambda o, a=QUERY_ATTRIBUTE[name], vs=values: getattr(o, a) in vs)
        return key, preds

    @staticmethod
    def offer_xml(offer: Offer) -> str:
        if offer.xml_cache is None:
            el = x.element("offer")
            x.subs(el, [(tag, getattr(offer, attr)) for tag, attr in OFFER_FIELDS])
            x.sub(el, "nb_messages", 0)
            if offer.showcase is not None:
                x.sub(el, "showcase", offer.showcase)
            if offer.time_to_ship is not None:
                x.sub(el, "time_to_ship", offer.time_to_ship)
            offer.xml_cache = x.fragment(el)
        return offer.xml_cache

    # ---------------------------------------------------------------- offers_update / batch_status
    def offers_update(self, root) -> bytes:
        children = [el for el in root if x.local(el) == "offer"]
        if len(children) > MAX_OFFERS_PER_UPDATE:
            return x.response("offers_update", "ERROR", [x.error(
                TOO_MANY_ELEMENTS, f"Too many offers in one call: {len(children)} > {MAX_OFFERS_PER_UPDATE}")])
        items = [self._offer_item(el) for el in children]
        with self.store.lock:
            refused = next((i["sku"] for i in items if i.get("sku") in self.store.refused_skus), None)
        if refused is not None:
            raise x.invalid("offers_update", f"offer {refused} refused (sandbox control /sandbox/refuse)")
        delay = self.ctx.batch_duration()  # ACTIVE (queued) for the first half, RUNNING for the rest
        now_mono = time.monotonic()
        batch = Batch(batch_id=str(uuid.uuid4()), created_mono=now_mono, due_mono=now_mono + delay, items=items)
        with self.store.lock:
            self.store.batches[batch.batch_id] = batch
            if delay <= 0:
                self.apply_batch(batch)
            else:
                self.store.pending_batches.append(batch)
        return x.response("offers_update", "OK", [x.element("batch_id", batch.batch_id)])

    @staticmethod
    def _offer_item(el) -> dict:
        item: dict = {"pictures": []}
        for child in el:
            name = x.local(child)
            text = (child.text or "").strip()
            if name == "offer_reference":
                item["sku"] = text
                item["sku_type"] = child.get("type", "SellerSku")
            elif name == "product_reference":
                item["reference"] = text
                item["reference_type"] = child.get("type", "Ean")
            elif name == "pictures":
                texts = ((p.text or "").strip() for p in sorted(child, key=x.local))
                item["pictures"] = [t for t in texts if t]
            elif name in UPDATE_FIELDS:
                item[name] = child.text or ""
        return item

    def batch_status(self, root) -> bytes:
        batch_id = x.text(root, "batch_id") or ""
        with self.store.lock:
            batch = self.store.batches.get(batch_id)
            if batch is None:  # recorded: FNAC answers OK, with nothing but the batch_id, for an id it does not know
                return x.response("batch_status", "OK", [x.element("batch_id", batch_id)])
            if not batch.done:
                elapsed = time.monotonic() - batch.created_mono
                status = "ACTIVE" if elapsed < (batch.due_mono - batch.created_mono) / 2 else "RUNNING"
                return x.response("batch_status", status, [x.element("batch_id", batch.batch_id)])
            children = [x.element("batch_id", batch.batch_id)]
            if batch.status == "OK":  # recorded: a finished batch whose offers all went through has no offer lines
                return x.response("batch_status", "OK", children)
            for r in batch.results:
                offer = x.element("offer", status=r["status"])
                if r["product_fnac_id"]:
                    x.sub(offer, "product_fnac_id", r["product_fnac_id"])
                if r["offer_fnac_id"]:
                    x.sub(offer, "offer_fnac_id", r["offer_fnac_id"])
                x.sub(offer, "offer_seller_id", r["sku"])
                offer.extend(x.error(code, msg) for code, msg in r["errors"])
                children.append(offer)
            return x.response("batch_status", batch.status, children)

    # ---------------------------------------------------------------- applying a batch
    def apply_batch(self, batch: Batch) -> None:
        """Apply a due batch (caller holds the store lock)."""
        now = self.ctx.clock.now()
        batch.results = [self._apply_offer(item, now) for item in batch.items]
        batch.status = batch_status_of({r["status"] for r in batch.results})
        batch.done = True
        batch.applied_at = now
        self.store.offers_changed()

    def _known_product(self, ref_type: str, value: str) -> Product | None:
        value = value.strip()
        products = self.store.products
        if ref_type == "FnacId":
            for product in products.values():
                if product.product_fnac_id == value:
                    return product
        elif value in products:
            return products[value]
        if not value or value.startswith("000"):
            return None
        if ref_type in ("Ean", "Isbn") and not (
            re.fullmatch(r"\d{8,14}", value) or re.fullmatch(r"\d{9}[\dX]", value)
        ):
            return None
        digest = int(hashlib.sha1(value.encode()).hexdigest(), 16)
        return Product(ean=value, product_fnac_id=str(10_000_000 + digest % 89_999_999), name=f"Produit {value}",
                       source="implicit", image=f"https://static.sandbox.invalid/images/{value}.jpg")

    def _apply_offer(self, item: dict, now: dt.datetime) -> dict:
        sku = item.get("sku", "")
        result = {"status": "ERROR", "sku": sku, "offer_fnac_id": "", "product_fnac_id": "", "errors": []}
        try:
            existing = self._existing(item, result)
            if (item.get("treatment") or "").strip() == "delete":
                self._delete(result["sku"], existing)
            else:
                existing = self._create_or_update(item, result["sku"], existing, now)
        except _OfferRefused as refused:
            result["errors"].append((refused.code, refused.message))
            return result
        result.update(status="OK", offer_fnac_id=existing[0].offer_fnac_id,
                      product_fnac_id=existing[0].product_fnac_id)
        return result

    def _existing(self, item: dict, result: dict) -> list[Offer]:
        sku = result["sku"]
        if item.get("sku_type") != "FnacId":
            return self.store.offers_with_sku(sku)
        existing = [o for o in self.store.all_offers() if o.offer_fnac_id.upper() == sku.upper()]
        if not existing:
            raise _OfferRefused(OFFER_NOT_FOUND, f"Offer {sku} not found")
        result["sku"] = existing[0].sku
        return existing

    def _delete(self, sku: str, existing: list[Offer]) -> None:
        if not existing:
            raise _OfferRefused(OFFER_NOT_FOUND, f"Offer {sku} not found, nothing to delete")
        self.store.offers.pop(sku, None)
        self.store.duplicate_offers = [o for o in self.store.duplicate_offers if o.sku != sku]

    def _create_or_update(self, item: dict, sku: str, existing: list[Offer], now: dt.datetime) -> list[Offer]:
        price = _price(item)
        product = None
        if item.get("reference"):
            product = self._known_product(item.get("reference_type", "Ean"), item["reference"])
            if product is None:
                raise _OfferRefused(PRODUCT_NOT_FOUND, f"Product not found: {item.get('reference_type', 'Ean')} "
                                                       f"{item['reference']} is unknown to the catalogue")
        if not existing:
            existing = [self._create(sku, product, price, now)]
        elif product is not None and product.source == "implicit":
            self.store.products.setdefault(product.ean, product)
        for offer in existing:
            _update(offer, item, price, now)
        return existing

    def _create(self, sku: str, product: Product | None, price: Decimal | None, now: dt.datetime) -> Offer:
        if product is None:
            raise _OfferRefused(NEW_OFFER_WITHOUT_PRODUCT,
                                f"Offer {sku} does not exist: a product_reference is required to create it")
        if price is None:
            raise _OfferRefused(NEW_OFFER_WITHOUT_PRICE,
                                f"Offer {sku} does not exist: a price is required to create it")
        if product.source == "implicit":
            self.store.products.setdefault(product.ean, product)
        offer = Offer(sku=sku, offer_fnac_id=str(uuid.uuid4()).upper(), product_fnac_id=product.product_fnac_id,
                      ean=product.ean, product_name=product.name, price=money(price), quantity=1, product_state="11",
                      created_at=now, modified_at=now,
                      product_url=f"https://www.fnac.com/a{product.product_fnac_id}/sandbox", image=product.image)
        self.store.offers[sku] = offer
        return offer


class _OfferRefused(Exception):  # noqa: N818 - one offer's error inside a batch
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _price(item: dict) -> Decimal | None:
    """The offer's price; the XSD (price_090_20000) already refused the whole call for a bad one."""
    if item.get("price") in (None, ""):
        return None
    return Decimal(item["price"].strip())


def _update(offer: Offer, item: dict, price: Decimal | None, now: dt.datetime) -> None:
    if price is not None:
        offer.price = money(price)
    if item.get("quantity") not in (None, ""):
        offer.quantity = int(item["quantity"])
    if item.get("product_state"):
        offer.product_state = item["product_state"].strip()
    if "description" in item:
        offer.description = item["description"]
    if "internal_comment" in item:
        offer.internal_comment = item["internal_comment"]
    if item.get("pictures"):
        offer.pictures = list(item["pictures"])
        offer.image = offer.pictures[0]
    if item.get("logistic_type_id"):
        offer.logistic_type_id = item["logistic_type_id"]
    if item.get("time_to_ship"):
        offer.time_to_ship = int(item["time_to_ship"])
    if item.get("showcase"):
        offer.showcase = int(item["showcase"])
    offer.changed(now)
