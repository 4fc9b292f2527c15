"""Importing FNAC messages over real HTTP against the sandbox: linking, unknown orders kept, paging, cursor."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from inbox.models import Message
from stores.models import SyncCursor, SyncRun
from tests.inbox.conftest import ORDER_A, ORDER_B, UNKNOWN_ORDER, requests_of

pytestmark = pytest.mark.django_db


def test_import_links_orders_and_keeps_a_message_for_an_unknown_order(inbox_store, sandbox, buyer_message,
                                                                       sync_messages):
    a = buyer_message(ORDER_A, subject="Où est mon colis ?", description="Pas encore reçu")
    b = buyer_message(ORDER_B, hours_ago=2)
    unknown = buyer_message(UNKNOWN_ORDER, hours_ago=3)
    run = sync_messages()

    assert run.kind == SyncRun.Kind.MESSAGES_IMPORT and run.state == SyncRun.State.SUCCEEDED
    assert run.counts["created"] == 3 and run.counts["order_not_imported"] == 1
    rows = {m.fnac_message_id: m for m in Message.objects.filter(store=inbox_store)}
    assert set(rows) == {a, b, unknown}
    assert rows[a].order.marketplace_order_id == ORDER_A
    assert (rows[a].subject, rows[a].body, rows[a].sender) == ("Où est mon colis ?", "Pas encore reçu", "CLIENT")
    assert rows[a].awaiting_reply and not rows[a].is_read
    assert rows[unknown].order is None and rows[unknown].referer == UNKNOWN_ORDER  # kept, not dropped
    assert rows[unknown].awaiting_reply
    assert SyncCursor.objects.get(store=inbox_store, name="messages").position is not None


def test_a_message_kept_for_an_unknown_order_is_linked_once_the_order_arrives(inbox_store, sandbox, buyer_message,
                                                                               sync_messages):
    from orders.services import orders_sync

    kept = buyer_message(UNKNOWN_ORDER)
    sync_messages()
    assert Message.objects.get(fnac_message_id=kept).order is None
    sandbox.add_order(order_id=UNKNOWN_ORDER, state="ToShip", lines=["SKU-000003"])
    orders_sync(store=inbox_store, mode="manual", trigger="test")
    run = sync_messages()
    assert Message.objects.get(fnac_message_id=kept).order.marketplace_order_id == UNKNOWN_ORDER
    assert run.counts["linked_to_orders"] == 1


def test_paging_reads_every_page_and_upserts_once(inbox_store, sandbox, buyer_message, sync_messages, settings):
    settings.INBOX_PAGE_SIZE = 2
    ids = {buyer_message(ORDER_A, hours_ago=h) for h in range(1, 6)}
    sandbox.clear_requests()
    sync_messages()
    queries = requests_of(sandbox, "messages_query")
    pages = [etree.fromstring(r.body).findtext("{*}paging") for r in queries]
    assert pages == ["1", "2", "3"]
    assert set(Message.objects.values_list("fnac_message_id", flat=True)) == ids
    sync_messages(since=dt.datetime.now(dt.UTC) - dt.timedelta(days=2))  # again: no duplicate
    assert Message.objects.count() == 5


def test_the_next_run_reads_from_the_cursor_less_the_overlap(inbox_store, sandbox, buyer_message, sync_messages):
    buyer_message(ORDER_A, hours_ago=30 * 24)
    first = sync_messages()
    cursor = SyncCursor.objects.get(store=inbox_store, name="messages").position
    assert cursor >= first.started_at
    sandbox.clear_requests()
    later = buyer_message(ORDER_B, hours_ago=0)
    run = sync_messages()
    [query] = requests_of(sandbox, "messages_query")
    doc = etree.fromstring(query.body)
    date = doc.find("{*}date")
    assert date.get("type") == "UpdatedAt"
    since = dt.datetime.fromisoformat(date.findtext("{*}min"))
    assert cursor - dt.timedelta(minutes=11) <= since <= cursor  # the overlap (10 min) before the cursor
    assert run.counts == {"created": 1, "updated": 0, "stale_skipped": 0, "order_not_imported": 0}
    assert Message.objects.filter(fnac_message_id=later).exists()


def test_first_import_reads_90_days(inbox_store, sandbox, sync_messages):
    sandbox.clear_requests()
    sync_messages()
    [query] = requests_of(sandbox, "messages_query")
    since = dt.datetime.fromisoformat(etree.fromstring(query.body).find("{*}date").findtext("{*}min"))
    assert abs((dt.datetime.now(dt.UTC) - since) - dt.timedelta(days=90)) < dt.timedelta(minutes=5)


def test_changes_on_fnac_are_applied_and_an_answer_there_stops_the_clock(inbox_store, sandbox, buyer_message,
                                                                       sync_messages):
    message_id = buyer_message(ORDER_A)
    sync_messages()
    with sandbox.state.lock:  # the seller answered in FNAC's back office meanwhile
        m = sandbox.state.messages[message_id]
        m.answer, m.answer_at, m.state = "Répondu sur FNAC", sandbox.clock.now(), "READ"
        m.updated_at = sandbox.clock.now() + dt.timedelta(seconds=1)
        sandbox.state.messages_version += 1
    sync_messages()
    row = Message.objects.get(fnac_message_id=message_id)
    assert row.is_read and not row.awaiting_reply and row.fnac_answer == "Répondu sur FNAC"


def test_fnac_failing_mid_import_keeps_the_cursor(inbox_store, sandbox, buyer_message, sync_messages, settings):
    from fnac_connector.marketplace.errors import MarketplaceError

    settings.INBOX_PAGE_SIZE = 1
    settings.MARKETPLACE_MAX_RETRIES = 0
    buyer_message(ORDER_A)
    buyer_message(ORDER_B)
    sync_messages()
    before = SyncCursor.objects.get(store=inbox_store, name="messages").position
    buyer_message(ORDER_A, hours_ago=0)
    sandbox.set_faults(1.0, ["500"])
    with pytest.raises(MarketplaceError):
        sync_messages()
    sandbox.set_faults(0.0)
    assert SyncCursor.objects.get(store=inbox_store, name="messages").position == before
    assert SyncRun.objects.filter(kind=SyncRun.Kind.MESSAGES_IMPORT).first().state == SyncRun.State.FAILED
