"""Time passing on the marketplace side: new orders, payments, deliveries, buyer cancellations.

``tick(seconds)`` advances the sandbox clock and applies what FNAC and buyers would have done meanwhile
(random draws from a ``random.Random`` seeded from the sandbox seed):

* new ``Created`` orders arrive, on average one every ``new_order_every`` seconds; each line takes stock off
  the seller's offer (its modified date changes);
* ``Accepted`` orders are paid ``payment_delay`` seconds after acceptance: order and lines ``ToShip``;
* ``Shipped`` orders (shipped at least ``min_delivery`` seconds ago) are delivered with a mean delay of
  ``delivery_mean``: ``Received``, or ``NotReceived`` for a share ``not_received_rate``;
* ``ToShip`` orders are cancelled by the buyer with a mean delay of ``cancel_mean`` seconds;
* FNAC-side edits change the modified date of one offer every ``offer_touch_every`` seconds on average.

``Created`` orders are only accepted/refused by the seller. Every change bumps ``updated_at``.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass

from fnac_connector.marketplace.fnac.types import ORDER_STATES

from .context import SandboxContext
from .fnac_incidents import open_incident
from .seed import Seeder
from .state import Order


@dataclass
class SimulationProfile:
    new_order_every: float = 120.0
    payment_delay: float = 60.0
    min_delivery: float = 300.0
    delivery_mean: float = 1800.0
    not_received_rate: float = 0.05
    cancel_mean: float = 172800.0
    offer_touch_every: float = 300.0
    max_new_orders_per_tick: int = 500
    claim_mean: float = 1_296_000.0  # buyers open a claim on a shipped/received order after ~15 days on average
    claim_waiting_rate: float = 0.8  # share of new claims that wait for the seller's answer
    new_message_every: float = 900.0  # a buyer writes about an order (fnac_messages.simulate)


def force_state(order: Order, state: str, now: dt.datetime) -> Order:
    """Put an order in ``state`` the way FNAC or the buyer would, moving the lines that can follow.

    Permissive by design (a test tool): no legality check beyond the state name."""
    if state not in ORDER_STATES:
        raise ValueError(f"unknown order state {state!r}; known: {', '.join(ORDER_STATES)}")

    def move(sources, target: str) -> None:
        for line in order.lines:
            if sources is None or line.state in sources:
                line.state = target

    if state == "Created":
        move(None, "ToAccept")
    elif state == "Accepted":
        move({"ToAccept"}, "Accepted")
        order.accepted_at = now
    elif state == "Refused":
        move({"ToAccept", "Accepted"}, "Refused")
        order.refused_at = now
    elif state == "ToShip":
        move({"ToAccept", "Accepted"}, "ToShip")
        order.accepted_at = order.accepted_at or now
        order.debited_at = now
    elif state == "Shipped":
        move({"ToAccept", "Accepted", "ToShip"}, "Shipped")
        order.shipped_at = now
    elif state == "NotReceived":
        move({"Shipped", "ToShip"}, "NotReceived")
    elif state == "Received":
        move({"Shipped", "NotReceived", "ToShip"}, "Received")
        order.received_at = now
    elif state == "Cancelled":
        move({"ToAccept", "Accepted", "ToShip"}, "Cancelled")
        order.cancelled_at = now
    elif state == "Refunded":
        move({"ToAccept", "Accepted", "ToShip", "Shipped", "NotReceived", "Received"}, "Refunded")
        order.refunded_at = now
    for line in order.lines:
        if line.state == "Refused" and line.refused_at is None:
            line.refused_at = now
        if state == "ToShip" and line.state == "ToShip":
            line.debited_at = now
        if line.state == "Received" and line.received_at is None:
            line.received_at = now
    order.state = state
    order.changed(now)
    return order


class Simulator:
    def __init__(self, server: SandboxContext, seed: int, profile: SimulationProfile | None = None) -> None:
        self.server = server
        self.seed = seed
        self.profile = profile or SimulationProfile()
        self.reseed()

    def reseed(self) -> None:
        self.rng = random.Random(f"{self.seed}:simulation")
        self.messages_rng = random.Random(f"{self.seed}:simulation-messages")  # its own draws: orders replay alike
        self.seeder = Seeder(self.server.state, self.server.clock, self.seed)
        self.seeder.rng = random.Random(f"{self.seed}:simulation-orders")
        self.seeder.shop_id = self.server.credentials.shop_id

    def _count(self, expected: float) -> int:
        whole = int(expected)
        return whole + (1 if self.rng.random() < expected - whole else 0)

    def tick(self, seconds: float) -> dict:
        """Advance the clock by ``seconds`` and play what happens meanwhile (in this order, so a seed replays the
        same): new orders, payments, deliveries and cancellations, offers touched."""
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        store = self.server.state
        events: dict[str, list[str]] = {
            "new_orders": [],
            "paid": [],
            "received": [],
            "not_received": [],
            "cancelled": [],
            "offers_touched": [],
            "claims_opened": [],
            "new_messages": [],
        }
        with store.lock:
            start = self.server.clock.now()
            now = self.server.clock.advance(seconds)
            self._new_orders(start, now, seconds, events)
            self._advance_orders(now, seconds, events)
            self._touch_offers(now, seconds, events)
            self._open_claims(now, seconds, events)
            messages = getattr(getattr(self.server, "fnac", None), "messages", None)
            if messages is not None:
                messages.simulate(now, seconds, self.messages_rng, self.profile.new_message_every, events)
            store.orders_changed()
            store.offers_changed()
        return events

    def _new_orders(self, start: dt.datetime, now: dt.datetime, seconds: float, events: dict) -> None:
        p, store, rng = self.profile, self.server.state, self.rng
        for _ in range(min(self._count(seconds / p.new_order_every), p.max_new_orders_per_tick)):
            created = start + dt.timedelta(seconds=int(rng.uniform(0, seconds)))
            order = self.seeder.make_order(created, "Created", now=now)
            store.orders[order.order_id] = order
            events["new_orders"].append(order.order_id)
            for line in order.lines:
                offer = store.offers.get(line.sku)
                if offer is not None:
                    offer.quantity = max(0, offer.quantity - line.quantity)
                    offer.changed(now)
                    events["offers_touched"].append(offer.sku)

    def _advance_orders(self, now: dt.datetime, seconds: float, events: dict) -> None:
        p, store, rng = self.profile, self.server.state, self.rng
        p_deliver = 1 - math.exp(-seconds / p.delivery_mean)
        p_cancel = 1 - math.exp(-seconds / p.cancel_mean)
        for order in list(store.orders.values()):
            if (
                order.state == "Accepted"
                and order.accepted_at
                and (now - order.accepted_at).total_seconds() >= p.payment_delay
            ):
                force_state(order, "ToShip", now)
                events["paid"].append(order.order_id)
            elif (
                order.state == "Shipped"
                and order.shipped_at
                and (now - order.shipped_at).total_seconds() >= p.min_delivery
                and rng.random() < p_deliver
            ):
                target = "NotReceived" if rng.random() < p.not_received_rate else "Received"
                force_state(order, target, now)
                events["received" if target == "Received" else "not_received"].append(order.order_id)
            elif order.state == "ToShip" and rng.random() < p_cancel:
                force_state(order, "Cancelled", now)
                events["cancelled"].append(order.order_id)

    def _touch_offers(self, now: dt.datetime, seconds: float, events: dict) -> None:
        offers, rng = self.server.state.offers, self.rng
        if not offers:
            return
        skus = None
        for _ in range(self._count(seconds / self.profile.offer_touch_every)):
            skus = skus or list(offers)
            offer = offers[rng.choice(skus)]
            offer.changed(now)
            events["offers_touched"].append(offer.sku)

    # ---------------------------------------------------------------- buyer claims (issue 15)
    def _open_claims(self, now: dt.datetime, seconds: float, events: dict) -> None:
        """Buyers open claims (FNAC incidents) on some shipped, received or not-received orders: a NotReceived order
        always gets an "item not received" claim; other shipped orders one now and then (``claim_mean``)."""
        p, store, rng = self.profile, self.server.state, self.rng
        claimed = {i.order_id for i in store.incidents.values()}
        p_claim = 1 - math.exp(-seconds / p.claim_mean)
        for order in list(store.orders.values()):
            if order.order_id in claimed or order.state not in ("Shipped", "Received", "NotReceived"):
                continue
            if order.state == "NotReceived":
                kind = 1
            elif rng.random() < p_claim:
                kind = rng.choice((2, 3, 14))
            else:
                continue
            incident = open_incident(store.incidents, order, now=now, type=kind, rng=rng,
                                               waiting=rng.random() < p.claim_waiting_rate,
                                               order_detail_ids=[order.lines[0].order_detail_id])
            events["claims_opened"].append(incident.incident_id)
