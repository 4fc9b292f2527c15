"""Chaos run on PostgreSQL: faults on the sandbox, stock push and order import workers killed with SIGKILL, then
convergence; prints orders imported / missing / duplicated, SKUs drifted before and after the reconciliation,
faults injected and kills.

    .venv/bin/python bench/chaos.py [--skus 1000] [--orders 500] [--rounds 12] [--fault-rate 0.3] [--seed 9]
                                    [--database-url postgres://postgres@127.0.0.1:5432/NAME]

The same run as ``tests/test_chaos.py`` (``tests/chaos.py``), larger. Without ``--database-url`` (or
DATABASE_URL) a throwaway PostgreSQL database ``fnac_chaos_<pid>`` is created on 127.0.0.1 and dropped at the
end. The sandbox runs in this process (its state is read directly for the comparison); the workers are
``python -c`` / ``manage.py sync_orders`` processes with ``tests.chaos_settings`` (2 s leases, 10-order pages).
"""

from __future__ import annotations

import argparse
import os
import sys

from _harness import ROOT, Sandbox, bench_store, postgres_database, print_table, setup_django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--changes", type=int, default=300, help="stock changes per round")
    parser.add_argument("--fault-rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith("postgres"):
        raise SystemExit("the chaos run needs PostgreSQL (--database-url postgres://...)")

    from cryptography.fernet import Fernet

    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.chaos_settings"
    os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
    os.environ["LOG_LEVEL"] = "ERROR"
    os.environ["DJANGO_DEBUG"] = "false"
    os.chdir(ROOT)
    with postgres_database(args.database_url or None, prefix="fnac_chaos") as url:
        os.environ["DATABASE_URL"] = url
        setup_django()
        run(args)


def run(args) -> None:
    from dataclasses import asdict

    from fnac_sandbox.server import SandboxServer
    from tests.chaos import ChaosConfig, run_chaos
    from tests.chaos_settings import CHAOS_OVERRIDES

    cfg = ChaosConfig(skus=args.skus, orders=args.orders, rounds=args.rounds, changes_per_round=args.changes,
                      fault_rate=args.fault_rate, seed=args.seed, deadline=300)
    with SandboxServer(host="127.0.0.1", port=0, seed=args.seed) as server:
        server.faults.slow_range = (2.0, 3.0)
        store = bench_store("chaos", Sandbox(base=server.base_url, credentials=asdict(server.credentials)))
        r = run_chaos(sandbox=server, store=store, cfg=cfg, log=lambda line: print(line, file=sys.stderr))
    ttl = CHAOS_OVERRIDES["SYNC_LOCK_TTL_SECONDS"]
    print(f"\nchaos run: {args.skus} SKUs, {args.orders} orders, {args.rounds} rounds, faults at "
          f"{args.fault_rate:.0%}, {r.seconds:.0f} s\n")
    print_table([
        ("orders on the sandbox", r.orders_on_fnac, None),
        ("orders imported", r.orders_imported, r.orders_on_fnac),
        ("orders missing", r.orders_missing, None, ""),
        ("orders duplicated", r.orders_duplicated, None, ""),
        ("stock changes / price changes", f"{r.stock_changes} / {r.price_changes}", None),
        ("marketplace calls while faulted", r.marketplace_calls, None),
        ("faults injected (writes faulted)", f"{r.faults_injected} ({r.faulted_writes})", None),
        ("push workers killed", r.kills_push, None),
        ("import workers killed", r.kills_import, None),
        ("outbox rows left claimed by killed pushes", r.claims_left_by_kills, None),
        ("offers_update calls recorded UNKNOWN", r.pushes_unknown, None),
        ("longest wait for a dead worker's lock (s) vs TTL", r.lease_takeover_seconds, ttl),
        ("runs closed as 'worker died'", r.stale_runs_closed, None),
        ("runs left 'running'", r.runs_left_running, None, ""),
        ("SKUs drifted after the drain, before reconciliation", r.drift_before_reconcile, args.skus),
        ("SKUs the reconciliation repaired", r.reconcile_drifted, None),
        ("SKUs drifted after reconciliation", r.drift_after_reconcile, args.skus),
    ], reference="of")
    if r.drifted_skus:
        print("drifted SKUs:", ", ".join(r.drifted_skus))
    ok = r.orders_missing == 0 and r.orders_duplicated == 0 and r.drift_after_reconcile == 0 \
        and r.runs_left_running == 0
    print("\nresult:", "OK (every order once, zero drift)" if ok else "FAILED")
    if not ok:
        print(r.worker_errors[-2000:], file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
