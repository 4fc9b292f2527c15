"""Benchmark: Ready to Ship for many orders (book with the sandbox carrier, A6 label, confirm to FNAC), against
the sandbox in its own process.

    .venv/bin/python bench/fulfilment_ship.py [--orders 400]

Connector: ``orders_ready_to_ship`` (plan, status changes with audit rows, booking + label PDF, shipment rows,
one ``orders_update`` per 25 orders, per-line result handling, stock consumption). Reference, in the same run on
the other half of the orders: the simplest way to do the same wire work: book with the same carrier adapter and
send one ``orders_update`` per order with the same client, writing nothing to the database. Also: merged label
printing for 100 orders (the stored PDFs merged page by page with pypdf) against concatenating the 100 stored
PDFs' bytes (no valid PDF, just a floor).
"""

from __future__ import annotations

import argparse
import time

from _harness import bench_store, control, print_table, sandbox_process, setup_django, throwaway_database


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=400)
    args = parser.parse_args()

    with throwaway_database("fulfilment"), sandbox_process(seed=5) as sandbox:
        control(sandbox.base, "/sandbox/seed", {"orders": args.orders, "days": 5, "states": ["ToShip"]})

        setup_django()
        from django.db import connection

        from fnac_connector.carriers import ShipmentRequest, get_adapter
        from fnac_connector.marketplace.fnac import types as fnac
        from fulfilment.carriers import carriers_refresh
        from fulfilment.labels import labels_merged
        from fulfilment.models import Shipment
        from fulfilment.services import orders_ready_to_ship
        from fulfilment.shipping import _recipient, _sender, ship_plan  # the reference books the same parcels
        from orders.models import Order
        from orders.services import SyncMode, orders_sync
        from stores.clients import fnac_client_for
        from stores.models import Store

        store = bench_store("bench", sandbox, default_carrier_code="SOCOLISSIMO", sender_name="Bench",
                            sender_address1="1 rue A", sender_zipcode="75001", sender_city="Paris",
                            sender_country="FRA", acceptance_mode=Store.AcceptanceMode.MANUAL)
        carriers_refresh(store=store, trigger="bench")  # Ready to Ship checks the code against FNAC's list
        orders_sync(store=store, mode=SyncMode.FULL, trigger="bench")
        Order.objects.filter(store=store).update(status="new")  # stock is not what is measured here
        orders = list(Order.objects.filter(store=store).select_related("store").order_by("id"))
        half = len(orders) // 2
        mine, theirs = orders[:half], orders[half:2 * half]

        t0 = time.perf_counter()
        outcomes = orders_ready_to_ship(orders=mine, trigger="bench")
        connector = time.perf_counter() - t0
        failed = [o.error for o in outcomes if not o.ok]
        assert not failed, failed[:3]

        client, adapter = fnac_client_for(store), get_adapter("sandbox")
        plans = [ship_plan(order=o) for o in theirs]  # reading the lines is not part of the reference timing
        t0 = time.perf_counter()
        for plan in plans:
            order = plan.order
            booked = adapter.create_shipment(ShipmentRequest(
                order_id=order.marketplace_order_id, sender=_sender(store), recipient=_recipient(order),
                weight_kg="0.5", carrier_code="SOCOLISSIMO",
                lines=[(li.sku, li.product_name, li.quantity) for li in plan.lines]))
            lines = [fnac.LineUpdate(action="Shipped", order_detail_id=li.order_detail_id,
                                     tracking_number=booked.tracking_number, tracking_company="SOCOLISSIMO")
                     for li in plan.lines]
            result = client.orders_update([fnac.OrderUpdate(order_id=order.marketplace_order_id,
                                                            action="update", lines=lines)])
            assert result[0].ok, result
        reference = time.perf_counter() - t0

        shipments = list(Shipment.objects.filter(store=store).order_by("id")[:100])
        t0 = time.perf_counter()
        merged = labels_merged(shipments=shipments)
        merge = time.perf_counter() - t0
        t0 = time.perf_counter()
        floor = b"".join(bytes(s.label_pdf) for s in Shipment.objects.filter(store=store).order_by("id")[:100])
        concat = time.perf_counter() - t0

        print(f"fulfilment benchmark ({connection.vendor}, {half} orders each side, sandbox in its own process)")
        print_table([
            ("Ready to Ship, seconds", connector, reference),
            ("Ready to Ship, orders/s", half / connector, half / reference),
            ("orders_update calls", (half + 24) // 25, half, None),
            ("merged labels for 100 orders, seconds", merge, concat),
        ], value="connector")
        print(f"  merged PDF {len(merged) // 1024} KiB; the reference only joins stored bytes "
              f"({len(floor) // 1024} KiB)")


if __name__ == "__main__":
    main()
