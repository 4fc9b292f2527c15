"""Benchmark: one tracking run over many parcels with the sandbox carrier (no network: the sandbox carrier answers
in-process), against the simplest way of storing the same answers.

    .venv/bin/python bench/tracking_poll.py [--parcels 2000]

Connector: ``shipments_track`` (selection oldest-checked first, batches of the carrier's 10 numbers, events
bulk-inserted with the unique key doing the de-duplication, parcels bulk-updated, orders completed and flagged).
Reference, in the same run on a second store with as many parcels: one ``track`` call per parcel,
``get_or_create`` per event and ``save()`` per parcel, no order handling. Both are then run again over the same
parcels (nothing new to store: the idempotent re-poll).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from _harness import print_table, setup_django, throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parcels", type=int, default=2000)
    args = parser.parse_args()
    n = args.parcels // 2

    with throwaway_database("tracking"):
        setup_django()
        from django.conf import settings
        from django.db import connection
        from django.utils import timezone

        from fnac_connector.carriers.sandbox import SandboxCarrier
        from fnac_connector.carriers.sandbox_tracking import stamp
        from fulfilment.models import Shipment, TrackingEvent
        from fulfilment.tracking import shipments_track
        from orders.models import Order, OrderStatus
        from stores.models import Store

        settings.FULFILMENT_TRACKING_MAX_PER_RUN = n
        now = timezone.now()
        booked = now - dt.timedelta(days=2)

        def parcels(name: str) -> Store:
            store = Store.objects.create(name=name, partner_id=name, shop_id=name, carrier_adapter="sandbox",
                                         status=Store.Status.CONNECTED)
            orders = Order.objects.bulk_create(
                Order(store=store, marketplace_order_id=f"{name}{i}", fnac_state="Shipped",
                      status=OrderStatus.IN_TRANSIT, created_at=booked) for i in range(n))
            Shipment.objects.bulk_create(
                Shipment(store=store, order=o, carrier_code="SOCOLISSIMO", adapter="sandbox",
                         tracking_number=f"SO{stamp(booked)}BENCH{i:07d}", state=Shipment.State.CONFIRMED,
                         confirmed_at=booked) for i, o in enumerate(orders))
            return store

        mine, theirs = parcels("bencha"), parcels("benchb")
        carrier = SandboxCarrier(clock=lambda: now)

        class Counting:  # SQL statements run (CaptureQueriesContext keeps only the last 9000)
            def __init__(self):
                self.n = 0

            def __call__(self, execute, sql, params, many, context):
                self.n += 1
                return execute(sql, params, many, context)

            def __len__(self):
                return self.n

        def counting():
            counter = Counting()
            return counter, connection.execute_wrapper(counter)

        def connector() -> tuple[float, int]:
            queries, wrapper = counting()
            with wrapper:
                t0 = time.perf_counter()
                run = shipments_track(store=mine, shipments=list(Shipment.objects.filter(store=mine)), now=now,
                                      trigger="bench", sleep=lambda s: None)
                took = time.perf_counter() - t0
            assert run.state == "succeeded", run.message
            return took, len(queries)

        def reference() -> tuple[float, int]:
            queries, wrapper = counting()
            with wrapper:
                t0 = time.perf_counter()
                for shipment in Shipment.objects.filter(store=theirs):
                    [result] = carrier.track([shipment.tracking_number])
                    for e in result.events:
                        TrackingEvent.objects.get_or_create(
                            shipment=shipment, at=e.at, code=e.code,
                            defaults=dict(order_id=shipment.order_id, status=e.status, description=e.description,
                                          location=e.location))
                    if result.events:
                        shipment.last_event_at, shipment.tracking_status = result.events[-1].at, \
                            result.events[-1].status
                    shipment.last_tracked_at = now
                    shipment.save()
                took = time.perf_counter() - t0
            return took, len(queries)

        first, first_q = connector()
        ref, ref_q = reference()
        again, again_q = connector()
        ref_again, ref_again_q = reference()
        events = TrackingEvent.objects.filter(shipment__store=mine).count()
        assert events == TrackingEvent.objects.filter(shipment__store=theirs).count()

        print(f"tracking benchmark ({connection.vendor}, {n} parcels each side, {events} events each side, "
              "sandbox carrier in-process)")
        print_table([
            ("first poll, seconds", first, ref),
            ("first poll, parcels/s", n / first, n / ref),
            ("first poll, SQL queries", first_q, ref_q),
            ("re-poll (nothing new), seconds", again, ref_again),
            ("re-poll, SQL queries", again_q, ref_again_q),
            ("carrier calls", (n + 9) // 10, n, None),
        ], value="connector")


if __name__ == "__main__":
    main()
