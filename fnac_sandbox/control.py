"""The control API under ``/sandbox/`` (drives a sandbox running in another process), as a table:
(method, path pattern) -> handler. ``*`` in a pattern matches one path segment, passed to the handler.

A handler gets the sandbox (``server.SandboxServer``), the JSON body, the query and the matched segments, and
returns (HTTP status, JSON payload). KeyError answers 404, ValueError/TypeError 400.
"""

from __future__ import annotations

from collections.abc import Callable

from .clock import fmt, parse

Handler = Callable[..., tuple[int, object]]


def _status(sandbox, data: dict, query: dict, args: list[str]):
    return 200, sandbox.status()


def _requests(sandbox, data: dict, query: dict, args: list[str]):
    since = int(query.get("since", "0") or 0)
    with_body = query.get("body", "1") not in ("0", "false", "no")
    records = [r for r in sandbox.requests
               if r.seq > since
               and (not query.get("service") or query["service"] in (r.service, r.path))
               and (not query.get("api") or r.api == query["api"])]
    return 200, {"requests": [r.as_json(with_body) for r in records], "last_seq": sandbox.last_seq}


def _clear_requests(sandbox, data: dict, query: dict, args: list[str]):
    sandbox.clear_requests()
    return 200, {"cleared": True}


def _faults(sandbox, data: dict, query: dict, args: list[str]):
    sandbox.set_faults(float(data.get("rate", 0.0)), data.get("kinds"))
    return 200, {"rate": sandbox.faults.rate, "kinds": list(sandbox.faults.kinds)}


def _seed(sandbox, data: dict, query: dict, args: list[str]):
    if data.get("offers"):
        sandbox.seed_offers(int(data["offers"]), duplicate_skus=int(data.get("duplicate_skus", 0)))
    if data.get("orders"):
        sandbox.seed_orders(int(data["orders"]), days=float(data.get("days", 120)), states=data.get("states"))
    return 200, sandbox.status()


def _tick(sandbox, data: dict, query: dict, args: list[str]):
    events = sandbox.tick(float(data.get("seconds", 60)))
    return 200, {"now": fmt(sandbox.clock.now()), "events": {k: len(v) for k, v in events.items()},
                 "detail": events}


def _reset(sandbox, data: dict, query: dict, args: list[str]):
    sandbox.reset()
    return 200, sandbox.status()


def _refuse(sandbox, data: dict, query: dict, args: list[str]):
    skus, order_ids = data.get("skus") or [], data.get("order_ids") or []
    if not isinstance(skus, list) or not isinstance(order_ids, list):
        raise ValueError("skus and order_ids must be lists")
    sandbox.refuse(skus=skus, order_ids=order_ids)
    return 200, {"skus": sorted(map(str, skus)), "order_ids": sorted(map(str, order_ids))}


def _mirakl(sandbox, data: dict, query: dict, args: list[str]):
    if "import_outcome" in data:
        sandbox.set_import_outcome(str(data["import_outcome"]))
    return 200, {"import_outcome": sandbox.state.import_outcome}


def _expire_tokens(sandbox, data: dict, query: dict, args: list[str]):
    sandbox.expire_tokens()
    return 200, {"expired": True}


def _add_order(sandbox, data: dict, query: dict, args: list[str]):
    created_at = parse(data["created_at"]) if data.get("created_at") else None
    order_id = sandbox.add_order(state=data.get("state", "Created"), lines=data.get("lines"), created_at=created_at,
                                 order_id=data.get("order_id"), shipping_method=data.get("shipping_method"))
    return 201, sandbox.order_json(order_id)


def _order(sandbox, data: dict, query: dict, args: list[str]):
    return 200, sandbox.order_json(args[0])


def _set_order_state(sandbox, data: dict, query: dict, args: list[str]):
    sandbox.set_order_state(args[0], str(data.get("state", "")))
    return 200, sandbox.order_json(args[0])


def _batches(sandbox, data: dict, query: dict, args: list[str]):
    """How long the next offers_update batches take (``--batch-delay`` / ``--batch-jitter`` of a running sandbox)."""
    delay = float(data.get("delay", sandbox.batch_delay))
    jitter = float(data.get("jitter", sandbox.batch_jitter))
    if delay < 0 or not 0 <= jitter < 1:
        raise ValueError(f"delay must be >= 0 and jitter in [0, 1), got {delay}, {jitter}")
    sandbox.batch_delay, sandbox.batch_jitter = delay, jitter
    return 200, {"batch_delay": delay, "batch_jitter": jitter}


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "status"): _status,
    ("GET", "requests"): _requests,
    ("DELETE", "requests"): _clear_requests,
    ("POST", "faults"): _faults,
    ("POST", "seed"): _seed,
    ("POST", "tick"): _tick,
    ("POST", "reset"): _reset,
    ("POST", "expire_tokens"): _expire_tokens,
    ("POST", "refuse"): _refuse,
    ("POST", "mirakl"): _mirakl,
    ("POST", "orders"): _add_order,
    ("GET", "orders/*"): _order,
    ("POST", "orders/*/state"): _set_order_state,
    ("POST", "batches"): _batches,
}


def route(method: str, parts: list[str]) -> tuple[Handler, list[str]] | None:
    """The handler of ``method`` on the path segments after ``/sandbox`` and the segments ``*`` matched."""
    for (route_method, pattern), handler in ROUTES.items():
        segments = pattern.split("/")
        if route_method != method or len(segments) != len(parts):
            continue
        if all(s in ("*", p) for s, p in zip(segments, parts, strict=True)):
            return handler, [p for s, p in zip(segments, parts, strict=True) if s == "*"]
    return None
