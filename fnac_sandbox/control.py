"""The control API under ``/sandbox/`` (drives a sandbox running in another process), as a table:
(method, path pattern) -> handler. ``*`` in a pattern matches one path segment, passed to the handler.

A handler gets the sandbox (``server.SandboxServer``), the JSON body, the query and the matched segments, and
returns (HTTP status, JSON payload). KeyError answers 404, ValueError/TypeError 400.

Many shops on one sandbox: ``POST /sandbox/shops {"count", "offers", "orders", "new_order_every"}`` registers more
shops (answering their credentials), ``GET /sandbox/shops`` lists them, and ``/sandbox/shops/<shop_id>/<endpoint>``
is any endpoint below for that one shop (its request log, orders, seed, faults...).
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


def _open_incident(sandbox, data: dict, query: dict, args: list[str]):
    incident_id = sandbox.open_incident(args[0], order_detail_ids=data.get("order_detail_ids"),
                                        type=int(data.get("type", 1)), waiting=bool(data.get("waiting", True)),
                                        opened_by=str(data.get("opened_by", "client")), message=data.get("message"))
    return 201, {"incident_id": incident_id}


def _add_messages(sandbox, data: dict, query: dict, args: list[str]):
    if data.get("count"):
        ids = sandbox.seed_messages(int(data["count"]), days=float(data.get("days", 30)),
                                    unknown_order_every=int(data.get("unknown_order_every", 0)))
        return 201, {"message_ids": ids}
    created_at = parse(data["created_at"]) if data.get("created_at") else None
    fields = {k: data[k] for k in ("referer_type", "from_type", "from_name", "subject", "description") if k in data}
    message = sandbox.add_message(referer=str(data["referer"]), created_at=created_at, **fields)
    return 201, {"message_ids": [message.message_id]}


def _refuse_replies(sandbox, data: dict, query: dict, args: list[str]):
    ids = data.get("message_ids") or []
    if not isinstance(ids, list):
        raise ValueError("message_ids must be a list")
    sandbox.refuse_replies(ids)
    return 200, {"message_ids": sorted(map(str, ids))}


def _add_comment(sandbox, data: dict, query: dict, args: list[str]):
    comment = sandbox.add_comment(order_id=str(data["order_id"]), rate=int(data.get("rate", 4)),
                                  comment=data.get("comment", "Bon vendeur, envoi rapide."))
    return 201, {"comment_id": comment.comment_id}


def _shops(sandbox, data: dict, query: dict, args: list[str]):
    return 200, {"shops": [shop.shop_json() for shop in sandbox.shop_list()]}


def _add_shops(sandbox, data: dict, query: dict, args: list[str]):
    shops = sandbox.add_shops(int(data.get("count", 1)), offers=int(data.get("offers", 0)),
                              orders=int(data.get("orders", 0)), new_order_every=data.get("new_order_every"))
    return 201, {"shops": [shop.shop_json() for shop in shops]}
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
    ("POST", "orders/*/incidents"): _open_incident,
    ("POST", "messages"): _add_messages,
    ("POST", "messages/refuse_replies"): _refuse_replies,
    ("POST", "comments"): _add_comment,
    ("GET", "shops"): _shops,
    ("POST", "shops"): _add_shops,
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
