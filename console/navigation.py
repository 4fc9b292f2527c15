"""The admin sidebar, by seller task (django-unfold's ``SIDEBAR.navigation``).

Each entry names the admin page and the model permission that shows it, so a user sees only the pages they may
open (``sidebar`` leaves the others out, and any group left empty); the System section (task queue, API tokens,
users and groups, login attempts) is for superusers only.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from django.urls import NoReverseMatch, reverse, reverse_lazy

from console.selectors import can_view


def _can_view(app_label: str, model_name: str):
    return lambda request: can_view(request.user, app_label, model_name)


def _query_matches(request, path, query: str) -> bool:
    wanted = parse_qs(query.lstrip("?"))
    return request.path.startswith(str(path)) and all(request.GET.getlist(k) == v for k, v in wanted.items())


def _item(title: str, icon: str, app_label: str, model_name: str, *, query: str = "", others: tuple = ()) -> dict:
    """A link to a list; ``query`` narrows it (a filtered view of the same list). Only one link of a list is lit:
    a filtered one when its filter is on, the plain one otherwise (``others``: the filtered links' queries)."""
    path = reverse_lazy(f"admin:{app_label}_{model_name}_changelist")
    if query:
        active = lambda request: _query_matches(request, path, query)  # noqa: E731
    else:
        active = lambda request: (request.path.startswith(str(path))  # noqa: E731
                                  and not any(_query_matches(request, path, q) for q in others))
    return {"title": title, "icon": icon, "link": f"{path}{query}" if query else path,
            "permission": _can_view(app_label, model_name), "active": active}


def _system(title: str, icon: str, url_name: str) -> dict:
    """A superuser-only link, left out when its page does not exist in this configuration (django-q's "Queued
    tasks" list exists only with the ORM broker: with REDIS_URL it is not registered)."""
    return {"title": title, "icon": icon, "link": reverse_lazy(url_name),
            "permission": lambda request: superuser(request) and url_exists(url_name)}


def url_exists(url_name: str) -> bool:
    try:
        reverse(url_name)
    except NoReverseMatch:
        return False
    return True


AWAITING, FLAGGED = "?status__exact=awaiting_acceptance", "?attention=flagged"
WAITING_CLAIMS = "?waiting=1"


def superuser(request) -> bool:
    return request.user.is_superuser


SIDEBAR_NAVIGATION = [
    {"title": "Today", "items": [
        {"title": "Dashboard", "icon": "space_dashboard", "link": reverse_lazy("admin:index")},
    ]},
    {"title": "Orders", "items": [
        _item("All orders", "receipt_long", "orders", "order", others=(AWAITING, FLAGGED)),
        _item("Awaiting acceptance", "pending_actions", "orders", "order", query=AWAITING),
        _item("Needs attention", "flag", "orders", "order", query=FLAGGED),
    ]},
    {"title": "After-sales", "items": [
        _item("Claims", "support_agent", "claims", "claim", others=(WAITING_CLAIMS,)),
        _item("Claims waiting for you", "pending", "claims", "claim", query=WAITING_CLAIMS),
        _item("Refunds", "currency_exchange", "claims", "linerefund"),
        _item("Buyer messages", "mail", "inbox", "message", others=("?state=overdue",)),
        _item("Overdue messages", "mark_email_unread", "inbox", "message", query="?state=overdue"),
        _item("Order comments", "reviews", "inbox", "ordercomment"),
    ]},
    {"title": "Shipping", "items": [
        _item("Shipments", "local_shipping", "fulfilment", "shipment"),
        _item("Carriers", "conveyor_belt", "fulfilment", "carrier"),
        _item("Carrier accounts", "key", "fulfilment", "carrieraccount"),
        _item("Carrier bookings", "pending", "fulfilment", "carrierbooking"),
    ]},
    {"title": "Catalogue", "items": [
        _item("Products", "inventory_2", "catalogue", "product"),
        _item("Excel uploads", "upload_file", "catalogue", "productupload"),
        _item("Listing jobs", "playlist_add_check", "catalogue", "listingjob"),
        _item("Categories", "category", "catalogue", "category"),
        _item("Values lists", "list", "catalogue", "valueslist"),
    ]},
    {"title": "Stock and prices", "items": [
        _item("Stock", "warehouse", "inventory", "stock"),
        _item("Pushes to FNAC", "cloud_upload", "inventory", "pushbatch"),
    ]},
    {"title": "Competitive pricing", "items": [
        _item("Competitor prices", "query_stats", "pricing", "competition"),
        _item("Repricing rules", "rule", "pricing", "repricingrule"),
        _item("Price changes", "price_change", "pricing", "repricelog"),
    ]},
    {"title": "Stores", "items": [
        _item("Stores", "storefront", "stores", "store"),
    ]},
    {"title": "Activity", "items": [
        _item("Sync runs", "sync", "stores", "syncrun"),
        _item("WMS events", "move_to_inbox", "fulfilment", "wmsevent"),
        _item("WMS deliveries", "outbox", "fulfilment", "wmsdelivery"),
    ]},
    {"title": "System", "collapsible": True, "items": [
        _system("Scheduled jobs", "schedule", "admin:django_q_schedule_changelist"),
        _system("Failed tasks", "error", "admin:django_q_failure_changelist"),
        _system("Successful tasks", "task_alt", "admin:django_q_success_changelist"),
        _system("Queued tasks", "queue", "admin:django_q_ormq_changelist"),
        _system("API tokens", "key", "admin:accounts_apitoken_changelist"),
        _system("Users", "person", "admin:auth_user_changelist"),
        _system("Groups", "group", "admin:auth_group_changelist"),
        _system("Login attempts", "lock", "admin:axes_accessattempt_changelist"),
    ]},
]


def sidebar(request) -> list[dict]:
    """The groups and links this user may open: a link without its permission is left out of the page (not just
    hidden), and so is a group left without links (a staff user gets no System heading at all)."""
    groups = []
    for group in SIDEBAR_NAVIGATION:
        items = [item for item in group["items"] if item.get("permission") is None or item["permission"](request)]
        if items:
            groups.append({**group, "items": items})
    return groups
