"""The inbox's doors: API (filters, reply, read/archive, comments, store scoping), admin (inbox list with the response
clock and its query count, reply form, order page, store page), command, dashboard, schedules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from inbox.models import Message, OrderComment, SendState
from inbox.selectors import overdue_count
from stores.models import Store, SyncRun
from tests.inbox.conftest import ORDER_A, ORDER_B, UNKNOWN_ORDER, requests_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(inbox_store, sandbox, buyer_message, sync_messages):
    """Three buyer messages imported: 30 h old on ORDER_A (overdue at 24 h), 2 h old on ORDER_B, half an hour old on an
    order not imported."""
    ids = {"old": buyer_message(ORDER_A, hours_ago=30), "recent": buyer_message(ORDER_B, hours_ago=2),
           "unknown": buyer_message(UNKNOWN_ORDER, hours_ago=0.5)}
    sync_messages(since=timezone.now() - dt.timedelta(days=3))
    sandbox.clear_requests()
    return {k: Message.objects.get(fnac_message_id=v) for k, v in ids.items()}


def _staff(django_user_model, *perms, stores=()):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(f"u{len(perms)}{len(stores)}", "u@example.com", "pw-u-1234567",
                                                 is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["inbox", "orders", "stores"],
                                                        codename__in=perms))
    for store in stores:
        store.users.add(user)
    return user


# ---------------------------------------------------------------- response clock
def test_overdue_follows_the_store_setting_and_the_dashboard_counts_it(inbox, inbox_store, superuser):
    from console.selectors import dashboard_figures

    assert overdue_count(store=inbox_store) == 1
    figures = dashboard_figures(user=superuser).totals
    assert (figures.messages_awaiting, figures.messages_overdue) == (3, 1)
    Store.objects.filter(pk=inbox_store.pk).update(answer_within_hours=1)
    inbox_store.refresh_from_db()
    assert overdue_count(store=inbox_store) == 2  # 30 h and 2 h old; the half-hour old one is within the hour
    Store.objects.filter(pk=inbox_store.pk).update(answer_within_hours=48)
    assert dashboard_figures(user=superuser).totals.messages_overdue == 0


def test_dashboard_tile_links_to_the_filtered_inbox(inbox, client, superuser):
    client.force_login(superuser)
    page = client.get(reverse("admin:index")).content.decode()
    assert "Messages overdue" in page and "/admin/inbox/message/?state=overdue" in page
    listing = client.get(reverse("admin:inbox_message_changelist") + "?state=overdue").content.decode()
    assert ORDER_A in listing and ORDER_B not in listing


# ---------------------------------------------------------------- admin
def test_inbox_list_unanswered_first_with_clock_and_flags(inbox, client, superuser):
    client.force_login(superuser)
    page = client.get(reverse("admin:inbox_message_changelist")).content.decode()
    assert "Oldest unanswered buyer message" in page and "Overdue: <strong>1</strong>" in page
    assert "⚠ Overdue" in page
    assert f"Order {UNKNOWN_ORDER}" in page and "not imported yet" in page  # kept and shown
    assert page.index(ORDER_A) < page.index(ORDER_B) < page.index(UNKNOWN_ORDER)  # oldest unanswered first


def test_inbox_list_query_count_does_not_grow(inbox_store, sandbox, client, superuser, buyer_message, sync_messages,
                                              django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(superuser)
    url = reverse("admin:inbox_message_changelist")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    buyer_message(ORDER_A)
    sync_messages(since=timezone.now() - dt.timedelta(days=3))
    count()
    few = count()
    for h in range(2, 40):
        buyer_message(ORDER_A if h % 2 else UNKNOWN_ORDER, hours_ago=h)
    sync_messages(since=timezone.now() - dt.timedelta(days=3))
    with django_assert_max_num_queries(few):
        count()


def test_reply_form_with_subject_picker_sends_once(inbox, client, superuser, sandbox):
    client.force_login(superuser)
    message = inbox["recent"]
    url = reverse("admin:inbox_message_reply_button", args=[message.pk])
    form = client.get(url).content.decode()
    assert "About the shipping" in form and "Item not received" in form  # FNAC's subjects, in words
    assert "Send the reply" in form
    response = client.post(url, {"subject": "shipping_information", "body": "Expédié ce matin."})
    assert response.status_code == 302
    outgoing = Message.objects.get(reply_to=message)
    assert outgoing.send_state == SendState.SENT and outgoing.user == superuser
    assert len(requests_of(sandbox, "messages_update", "reply")) == 1
    page = client.get(reverse("admin:inbox_message_change", args=[message.pk])).content.decode()
    assert "Expédié ce matin." in page and "Answered" in page


def test_reply_refused_is_shown_in_words(inbox, client, superuser, sandbox):
    client.force_login(superuser)
    message = inbox["recent"]
    sandbox.refuse_replies([message.fnac_message_id])
    response = client.post(reverse("admin:inbox_message_reply_button", args=[message.pk]),
                           {"subject": "order_information", "body": "Bonjour"}, follow=True)
    assert "FNAC refused the reply" in response.content.decode()
    assert Message.objects.get(reply_to=message).send_state == SendState.REFUSED


def test_list_actions_mark_and_archive(inbox, client, superuser, sandbox):
    client.force_login(superuser)
    url = reverse("admin:inbox_message_changelist")
    pks = [inbox["old"].pk, inbox["recent"].pk]
    client.post(url, {"action": "mark_archive", "_selected_action": pks})
    assert set(Message.objects.filter(archived=True).values_list("pk", flat=True)) == set(pks)
    assert all(sandbox.state.messages[m.fnac_message_id].archived for m in (inbox["old"], inbox["recent"]))
    client.post(url, {"action": "mark_read", "_selected_action": [inbox["unknown"].pk]})
    assert Message.objects.get(pk=inbox["unknown"].pk).is_read


def test_order_page_shows_the_conversation_and_comments(inbox, client, superuser, sandbox, inbox_store):
    from inbox.services import comments_sync

    sandbox.add_comment(order_id=ORDER_A, rate=5, comment="Parfait")
    comments_sync(store=inbox_store, trigger="test")
    client.force_login(superuser)
    order = inbox["old"].order
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Buyer messages" in page and "Open and reply" in page
    assert "Parfait" in page


def test_store_page_shows_the_overdue_count_and_setting(inbox, client, superuser, inbox_store):
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_store_change", args=[inbox_store.pk])).content.decode()
    assert "Buyer messages overdue" in page and "1 (answer within 24 h)" in page
    assert "Answer buyers within (hours)" in page


def test_staff_of_another_store_never_sees_these_messages(inbox, client, make_store, django_user_model,
                                                          token_client):
    other = make_store()
    user = _staff(django_user_model, "view_message", "change_message", "reply_message", stores=[other])
    client.force_login(user)
    assert ORDER_A not in client.get(reverse("admin:inbox_message_changelist")).content.decode()
    assert client.get(reverse("admin:inbox_message_change", args=[inbox["old"].pk])).status_code in (302, 404)
    assert client.get(reverse("admin:inbox_message_reply_button", args=[inbox["old"].pk])).status_code == 404
    api = token_client(user)
    assert api.get("/api/messages/").json()["count"] == 0
    assert api.post(f"/api/messages/{inbox['old'].pk}/reply/", {"subject": "order_information", "body": "x"},
                    format="json").status_code == 404


# ---------------------------------------------------------------- API
def test_api_list_and_filters(inbox, token_client, superuser, inbox_store):
    api = token_client(superuser)
    data = api.get("/api/messages/").json()
    assert [m["referer"] for m in data["results"]] == [ORDER_A, ORDER_B, UNKNOWN_ORDER]
    assert data["results"][0]["overdue"] is True and data["results"][2]["order_imported"] is False
    assert [m["referer"] for m in api.get("/api/messages/?state=overdue").json()["results"]] == [ORDER_A]
    assert api.get(f"/api/messages/?referer={ORDER_B}").json()["count"] == 1
    assert api.get(f"/api/messages/?store={inbox_store.pk}&sender=CLIENT&about=ORDER").json()["count"] == 3
    assert api.get("/api/messages/?state=archived").json()["count"] == 0
    assert api.get("/api/messages/?state=nonsense").status_code == 400


def test_api_reply_read_archive(inbox, token_client, superuser, sandbox):
    api = token_client(superuser)
    message = inbox["recent"]
    response = api.post(f"/api/messages/{message.pk}/reply/", {"subject": "order_information", "body": "Merci"},
                        format="json")
    assert response.status_code == 201 and response.json()["send_state"] == "sent"
    assert api.post(f"/api/messages/{message.pk}/reply/", {"subject": "nope", "body": "x"},
                    format="json").status_code == 400
    assert api.post(f"/api/messages/{message.pk}/read/").json()["is_read"] is True
    assert api.post(f"/api/messages/{message.pk}/archive/").json()["archived"] is True
    assert api.post(f"/api/messages/{message.pk}/unarchive/").json()["archived"] is False
    sandbox.refuse_replies([inbox["old"].fnac_message_id])
    refused = api.post(f"/api/messages/{inbox['old'].pk}/reply/", {"subject": "order_information", "body": "x"},
                       format="json")
    assert refused.status_code == 502 and "ERR_142" in refused.json()["detail"]


def test_api_permissions(inbox, token_client, django_user_model, inbox_store):
    viewer = _staff(django_user_model, "view_message", stores=[inbox_store])
    api = token_client(viewer)
    assert api.get("/api/messages/").json()["count"] == 3
    assert api.post(f"/api/messages/{inbox['recent'].pk}/reply/", {"subject": "order_information", "body": "x"},
                    format="json").status_code == 403
    assert api.post(f"/api/messages/{inbox['recent'].pk}/archive/").status_code == 403


def test_api_order_comments_and_reply(inbox_store, sandbox, token_client, superuser):
    from inbox.services import comments_sync

    sandbox.add_comment(order_id=ORDER_B, rate=1, comment="Jamais reçu")
    comments_sync(store=inbox_store, trigger="test")
    api = token_client(superuser)
    [item] = api.get("/api/order-comments/?answered=false").json()["results"]
    assert item["rate"] == 1 and item["referer"] == ORDER_B
    response = api.post(f"/api/order-comments/{item['id']}/reply/", {"reply": "Nous enquêtons."}, format="json")
    assert response.status_code == 200 and response.json()["reply"] == "Nous enquêtons."
    assert api.get("/api/order-comments/?answered=true").json()["count"] == 1
    assert OrderComment.objects.get().reply_state == SendState.SENT


def test_api_store_sync_messages_starts_a_run(inbox_store, sandbox, token_client, superuser, buyer_message,
                                              django_capture_on_commit_callbacks):
    buyer_message(ORDER_A, hours_ago=0)
    with django_capture_on_commit_callbacks(execute=True):
        response = token_client(superuser).post(f"/api/stores/{inbox_store.pk}/sync-messages/", {}, format="json")
    assert response.status_code == 202
    run = SyncRun.objects.get(pk=response.json()["run_id"])
    assert run.kind == SyncRun.Kind.MESSAGES_IMPORT and run.state == SyncRun.State.SUCCEEDED  # tasks run inline
    assert Message.objects.count() == 1


# ---------------------------------------------------------------- command, schedules, connect
def test_command_sync_messages(inbox_store, sandbox, buyer_message, capsys):
    buyer_message(ORDER_A)
    call_command("sync_messages", "--store", str(inbox_store.pk), "--since", "2020-01-01T00:00:00+00:00")
    assert "Succeeded" in capsys.readouterr().out
    assert Message.objects.count() == 1
    sandbox.add_comment(order_id=ORDER_A)
    call_command("sync_order_comments", "--store", str(inbox_store.pk))
    assert OrderComment.objects.count() == 1


def test_command_refuses_a_bad_since(inbox_store):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not an ISO date-time"):
        call_command("sync_messages", "--store", str(inbox_store.pk), "--since", "yesterday")


def test_connect_schedules_the_5_minute_job_and_imports_90_days(sandbox, store, buyer_message,
                                                                 django_capture_on_commit_callbacks):
    from django_q.models import Schedule

    from stores.services import store_connect

    sandbox.add_message(referer=ORDER_A, created_at=sandbox.clock.now() - dt.timedelta(days=80))
    with django_capture_on_commit_callbacks(execute=True):
        store_connect(store=store, trigger="test")
    schedule = Schedule.objects.get(name=f"store:{store.pk}:messages_new")
    assert schedule.minutes == 5 and schedule.func == "inbox.tasks.messages_new_task"
    assert Message.objects.filter(store=store).count() == 1  # 80 days old: inside the 90 days
    assert SyncRun.objects.filter(store=store, kind=SyncRun.Kind.MESSAGES_IMPORT,
                                  trigger__startswith="connect").exists()
