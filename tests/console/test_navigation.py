"""Issue 11, navigation by task: each user's sidebar holds only the pages they may open (no empty group, no System
section unless superuser), and Django's own branding appears nowhere."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

pytestmark = pytest.mark.django_db

SYSTEM_LINKS = ["/admin/django_q/schedule/", "/admin/accounts/apitoken/", "/admin/auth/user/", "/admin/auth/group/",
                "/admin/axes/accessattempt/"]


def sidebar(response) -> dict[str, list[str]]:
    return {group["title"]: [item["title"] for item in group["items"] if item["has_permission"]]
            for group in response.context["sidebar_navigation"]}


def sidebar_links(response) -> list[str]:
    return [str(item.get("link_callback") or item["link"]) for group in response.context["sidebar_navigation"]
            for item in group["items"] if item["has_permission"]]


def user_in(django_user_model, name, *, role=None, perms=()):
    user = django_user_model.objects.create_user(name, f"{name}@example.com", f"pw-{name}-123", is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    for app_label, codename in perms:
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


@pytest.mark.parametrize("role", ["Store manager", "Warehouse", "Read-only"])
def test_staff_get_no_system_section_and_every_link_opens(client, django_user_model, role):
    user = user_in(django_user_model, "seller", role=role)
    client.force_login(user)
    home = client.get(reverse("admin:index"))
    html = home.content.decode()
    assert list(sidebar(home)) == ["Today", "Orders", "After-sales", "Shipping", "Catalogue", "Stock and prices",
                                   "Competitive pricing", "Stores", "Activity"]
    assert "Scheduled jobs" not in html and "Login attempts" not in html  # (the theme switcher has its own "System")
    for link in SYSTEM_LINKS:
        assert link not in html, link
    for link in sidebar_links(home):
        assert client.get(link).status_code == 200, (role, link)


def test_a_group_without_any_page_the_user_may_open_is_left_out(client, django_user_model):
    clerk = user_in(django_user_model, "clerk", perms=[("orders", "view_order")])
    client.force_login(clerk)
    home = client.get(reverse("admin:index"))
    assert sidebar(home) == {"Today": ["Dashboard"], "Orders": ["All orders", "Awaiting acceptance",
                                                                "Needs attention"]}
    html = home.content.decode()
    assert "/admin/catalogue/product/" not in html and "/admin/inventory/stock/" not in html


def test_superuser_gets_the_system_section(client, superuser):
    client.force_login(superuser)
    home = client.get(reverse("admin:index"))
    assert sidebar(home)["System"] == ["Scheduled jobs", "Failed tasks", "Successful tasks", "Queued tasks",
                                       "API tokens", "Users", "Groups", "Login attempts"]
    for link in sidebar_links(home):
        assert client.get(link).status_code == 200, link


def test_django_branding_appears_nowhere(client, superuser):
    pages = [reverse("admin:login")]
    for url in pages:
        html = client.get(url).content.decode()
        assert "Django administration" not in html and "Django site admin" not in html, url
        assert "FNAC connector" in html, url
    client.force_login(superuser)
    for url in [reverse("admin:index"), reverse("admin:orders_order_changelist"), reverse("admin:password_change"),
                reverse("admin:stores_syncrun_changelist")]:
        html = client.get(url).content.decode()
        assert "Django administration" not in html and "Django site admin" not in html, url
        assert "<title>" in html and "FNAC connector" in html, url
    html = client.post(reverse("admin:logout")).content.decode()
    assert "Django administration" not in html and "Django site admin" not in html


@pytest.mark.parametrize(("query", "lit"), [("", "All orders"), ("?status__exact=awaiting_acceptance",
                                                                    "Awaiting acceptance"),
                                             ("?attention=flagged", "Needs attention")])
def test_one_link_of_the_order_list_is_lit(admin_client, query, lit):
    response = admin_client.get(reverse("admin:orders_order_changelist") + query)
    orders = next(g for g in response.context["sidebar_navigation"] if g["title"] == "Orders")
    assert [item["title"] for item in orders["items"] if item["active"]] == [lit]


def test_a_system_link_whose_page_is_not_registered_is_left_out(rf, django_user_model):
    """With REDIS_URL, django-q registers no "Queued tasks" (OrmQ) admin: the sidebar must not link to it (it made
    every admin page answer 500 for superusers)."""
    from console import navigation

    user = django_user_model.objects.create_superuser("root-nav", "r@example.com", "pw-Nav-12345")
    request = rf.get("/admin/")
    request.user = user
    present = navigation._system("Users", "person", "admin:auth_user_changelist")
    missing = navigation._system("Queued tasks", "queue", "admin:django_q_no_such_changelist")
    assert present["permission"](request) is True
    assert missing["permission"](request) is False
    assert navigation.url_exists("admin:auth_user_changelist") and not navigation.url_exists("admin:nope_changelist")
