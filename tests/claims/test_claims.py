"""Issue 15, claims (FNAC incidents) and line refunds, end to end against the sandbox over real HTTP: the import
(lines, types, status, waiting_for_seller_answer, refunds made), the order's flag and the dashboard count, line
refunds through orders_update or incidents_update, every refusal that sends nothing, FNAC's refusal, stock back only
for returned items, exactly once when FNAC's answer is lost, and every request valid against FNAC's XSDs."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from catalogue.models import Product
from claims.importing import CLAIM_FLAG_PREFIX
from claims.models import Claim, ClaimLine, LineRefund
from claims.refunds import IN_FLIGHT
from claims.services import RefundLineRequest, claims_sync, lines_refund
from console.selectors import dashboard_figures
from fnac_connector.errors import Conflict, InvalidInput, MarketplaceFailure
from fnac_connector.marketplace.errors import OutcomeUnknown
from orders.models import Order, OrderLine, OrderStatus
from tests.conftest import api_token_for

pytestmark = pytest.mark.django_db

UPDATES = ("orders_update", "incidents_update")


def refunds_sent(sandbox) -> int:
    return sum(len(sandbox.requests_for(s)) for s in UPDATES)


def line(order: Order, sku: str) -> OrderLine:
    return order.lines.get(sku=sku)


def fnac_line(sandbox, order: Order, sku: str):
    return next(li for li in sandbox.state.orders[order.marketplace_order_id].lines if li.sku == sku)


def stock(store, sku: str) -> int:
    return Product.objects.get(store=store, sku=sku).stock_on_hand


# ---------------------------------------------------------------- import
def test_import_flags_the_order_counts_on_the_dashboard_and_clears_when_answered(
        connected_store, sandbox, client, wire, shipped_order, superuser):
    order = shipped_order()
    a = line(order, "SKU-A")
    incident_id = sandbox.open_incident(order.marketplace_order_id, order_detail_ids=[a.order_detail_id], type=3,
                                        message="Ne fonctionne pas")
    quiet = sandbox.open_incident(order.marketplace_order_id, order_detail_ids=[line(order, "SKU-B").order_detail_id],
                                  type=2, waiting=False)
    run = claims_sync(store=connected_store, trigger="test", initial=True, client=client)
    assert run.state == "succeeded" and run.kind == "claims_import"
    claim = Claim.objects.get(incident_id=incident_id)
    assert (claim.order_id, claim.status, claim.waiting_for_seller, claim.main_type, claim.message) == (
        order.pk, "OPENED", True, 3, "Ne fonctionne pas")
    assert claim.type_label == "Defective item" and claim.opened_by == "client"
    assert list(claim.lines.values_list("order_detail_id", "order_line_id", "type", "status")) == [
        (a.order_detail_id, a.pk, 3, "OPENED")]
    assert not Claim.objects.get(incident_id=quiet).waiting_for_seller
    order.refresh_from_db()
    assert order.flagged and any(r.startswith(CLAIM_FLAG_PREFIX) for r in order.flag_reason.split("\n"))
    assert dashboard_figures(user=superuser).totals.claims_waiting == 1
    # FNAC's call centre closes it: the flag goes, the count too
    with sandbox.state.lock:
        sandbox.fnac.incidents.close_incident(sandbox.incident(incident_id), now=sandbox.clock.now())
    sandbox.tick(60)
    claims_sync(store=connected_store, trigger="test", client=client)
    claim.refresh_from_db()
    order.refresh_from_db()
    assert (claim.status, claim.waiting_for_seller, claim.closed_status, claim.closed_by) == (
        "CLOSED", False, 12, "call-center")
    assert not order.flagged and CLAIM_FLAG_PREFIX not in order.flag_reason
    assert dashboard_figures(user=superuser).totals.claims_waiting == 0
    assert wire.of("incidents_query") and wire.assert_all_valid()


def test_claim_of_an_order_not_imported_yet_is_kept_and_linked_later(connected_store, sandbox, client):
    order_id = sandbox.add_order(state="Created", lines=[{"sku": "SKU-Z", "quantity": 1}])
    sandbox.set_order_state(order_id, "Shipped")
    incident_id = sandbox.open_incident(order_id)
    claims_sync(store=connected_store, trigger="test", initial=True, client=client)
    claim = Claim.objects.get(incident_id=incident_id)
    assert claim.order_id is None and claim.marketplace_order_id == order_id
    from orders.services import orders_sync

    orders_sync(store=connected_store, mode="manual", trigger="test", client=client)
    claims_sync(store=connected_store, trigger="test", client=client)
    claim.refresh_from_db()
    order = Order.objects.get(marketplace_order_id=order_id)
    assert claim.order_id == order.pk and claim.lines.get().order_line_id == order.lines.get().pk
    assert order.flagged


def test_import_is_idempotent_and_its_queries_do_not_grow_with_the_page(
        connected_store, sandbox, client, shipped_order, django_assert_max_num_queries):
    from claims.services import claims_import_page

    orders = [shipped_order(lines=[{"sku": f"SKU-{n}", "quantity": 1}]) for n in range(3)]
    for _ in range(12):
        oid = sandbox.add_order(state="Created", lines=[{"sku": "SKU-0", "quantity": 1}])
        sandbox.set_order_state(oid, "Shipped")
        sandbox.open_incident(oid)
    for o in orders:
        sandbox.open_incident(o.marketplace_order_id)
    page = client.incidents_query_page(page_size=100)
    assert len(page.incidents) == 15
    with django_assert_max_num_queries(12):
        assert claims_import_page(store=connected_store, items=page.incidents) == 15
    with django_assert_max_num_queries(12):
        claims_import_page(store=connected_store, items=page.incidents)  # again: nothing doubled
    assert Claim.objects.count() == 15 and ClaimLine.objects.count() == 15


def test_refunds_made_on_fnac_are_imported(connected_store, sandbox, client, shipped_order):
    order = shipped_order()
    a = line(order, "SKU-A")
    sandbox.open_incident(order.marketplace_order_id, order_detail_ids=[a.order_detail_id])
    claims_sync(store=connected_store, trigger="test", initial=True, client=client)
    lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="damaged_article", client=client)
    claims_sync(store=connected_store, trigger="test", client=client)
    claim_line = ClaimLine.objects.get(order_detail_id=a.order_detail_id)
    assert claim_line.refunded_product == a.price * a.quantity and claim_line.refunded_at is not None
    assert claim_line.claim.status == "CLOSED" and claim_line.claim.closed_status == 10


# ---------------------------------------------------------------- refunds
def test_refund_one_line_through_orders_update(connected_store, sandbox, client, wire, shipped_order):
    order = shipped_order()
    before = stock(connected_store, "SKU-A")
    refund = lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="damaged_article",
                          client=client)
    assert (refund.state, refund.route) == ("done", "orders_update")
    assert fnac_line(sandbox, order, "SKU-A").state == "Refunded"
    assert fnac_line(sandbox, order, "SKU-B").state == "Shipped"
    assert fnac_line(sandbox, order, "SKU-A").refund_reason == "damaged_article"
    assert line(order, "SKU-A").state == "Refunded" and line(order, "SKU-B").state == "Shipped"
    assert stock(connected_store, "SKU-A") == before  # not returned: nothing back on the shelf
    [body] = wire.of("orders_update")
    assert b'action="refund_order"' in body and b"<refund_reason>damaged_article</refund_reason>" in body
    wire.assert_all_valid()
    order.refresh_from_db()
    assert order.status != OrderStatus.REFUNDED
    assert order.status_changes.filter(note__contains="refunded on FNAC").exists()


def test_refund_two_lines_returned_to_stock_vs_not(connected_store, sandbox, client, wire, shipped_order):
    order = shipped_order()
    a_before, b_before = stock(connected_store, "SKU-A"), stock(connected_store, "SKU-B")
    refund = lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A", returned_to_stock=True),
                                              RefundLineRequest(sku="SKU-B", quantity=2)],
                          reason="returned_article", client=client)
    assert refund.state == "done" and refund.stock_returned
    assert stock(connected_store, "SKU-A") == a_before + 1
    assert stock(connected_store, "SKU-B") == b_before
    assert sandbox.state.orders[order.marketplace_order_id].state == "Refunded"
    order.refresh_from_db()
    assert order.fnac_state == "Refunded" and order.status == OrderStatus.REFUNDED
    assert len(wire.of("orders_update")) == 1
    wire.assert_all_valid()


def test_a_line_under_an_open_claim_is_refunded_through_incidents_update(
        connected_store, sandbox, client, wire, shipped_order):
    order = shipped_order()
    a = line(order, "SKU-A")
    incident_id = sandbox.open_incident(order.marketplace_order_id, order_detail_ids=[a.order_detail_id])
    claims_sync(store=connected_store, trigger="test", initial=True, client=client)
    order.refresh_from_db()
    assert order.flagged
    refund = lines_refund(order=order, lines=[RefundLineRequest(order_detail_id=a.order_detail_id)],
                          reason="damaged_article", client=client)
    assert refund.route == "incidents_update" and refund.claim.incident_id == incident_id
    [body] = wire.of("incidents_update")
    assert f'incident_id="{incident_id}"'.encode() in body and b'action="refund"' in body
    assert not wire.of("orders_update")
    assert sandbox.incident(incident_id).status == "CLOSED"
    claim = Claim.objects.get(incident_id=incident_id)
    order.refresh_from_db()
    assert claim.status == "CLOSED" and not claim.waiting_for_seller and not order.flagged
    wire.assert_all_valid()


def test_sandbox_refuses_orders_update_refund_of_a_line_under_an_open_claim(connected_store, sandbox, client,
                                                                            shipped_order):
    from fnac_connector.marketplace.fnac import types as fnac

    order = shipped_order()
    a = line(order, "SKU-A")
    sandbox.open_incident(order.marketplace_order_id, order_detail_ids=[a.order_detail_id])
    [result] = client.orders_update([fnac.OrderUpdate(order_id=order.marketplace_order_id, action="refund_order",
                                                      lines=[fnac.LineUpdate(action="Refunded",
                                                                             order_detail_id=a.order_detail_id,
                                                                             refund_reason="other")])])
    assert not result.ok and result.lines[0].errors[0].code == "ERR_109"
    assert fnac_line(sandbox, order, "SKU-A").state == "Shipped"


@pytest.mark.parametrize("state", ["ToShip", "Created"])
def test_wrong_order_state_is_refused_and_nothing_is_sent(connected_store, sandbox, client, shipped_order, state):
    order = shipped_order(state=state)
    sandbox.clear_requests()
    with pytest.raises(Conflict, match="only once the order is shipped.*Nothing was sent"):
        lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="no_stock", client=client)
    assert refunds_sent(sandbox) == 0 and not LineRefund.objects.exists()


def test_a_line_already_refunded_is_refused_and_nothing_is_sent(connected_store, sandbox, client, shipped_order):
    order = shipped_order()
    lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="other", client=client)
    assert refunds_sent(sandbox) == 1
    with pytest.raises(Conflict, match=r"Line \d+ \(SKU-A\) of order .* is already refunded. Nothing was sent"):
        lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-B"), RefundLineRequest(sku="SKU-A")],
                     reason="other", client=client)
    assert refunds_sent(sandbox) == 1
    assert fnac_line(sandbox, order, "SKU-B").state == "Shipped"


@pytest.mark.parametrize(("item", "message"), [
    (RefundLineRequest(sku="SKU-B", quantity=3), "quantity 3 is more than the 2 ordered"),
    (RefundLineRequest(sku="SKU-B", quantity=1), "FNAC refunds whole lines"),
    (RefundLineRequest(sku="NOPE"), "no line with SKU 'NOPE'"),
    (RefundLineRequest(order_detail_id=999999), "has no line 999999"),
])
def test_bad_lines_are_refused_precisely_and_nothing_is_sent(connected_store, sandbox, client, shipped_order, item,
                                                             message):
    order = shipped_order()
    sandbox.clear_requests()
    with pytest.raises(InvalidInput, match=message):
        lines_refund(order=order, lines=[item], reason="other", client=client)
    with pytest.raises(InvalidInput, match="Unknown refund reason"):
        lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="because", client=client)
    assert refunds_sent(sandbox) == 0 and not LineRefund.objects.exists()


def test_fnac_refusal_moves_nothing_here(connected_store, sandbox, client, shipped_order):
    order = shipped_order()
    sandbox.set_order_state(order.marketplace_order_id, "Cancelled")  # FNAC moved on; we still think Shipped
    before = stock(connected_store, "SKU-A")
    with pytest.raises(MarketplaceFailure, match="FNAC refused the refund.*ERR_109.*Nothing was changed"):
        lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A", returned_to_stock=True)], reason="other",
                     client=client)
    refund = LineRefund.objects.get()
    assert (refund.state, refund.error_code) == ("refused", "ERR_109")
    assert line(order, "SKU-A").state == "Shipped" and stock(connected_store, "SKU-A") == before


class LostAnswer:
    """Wraps a client: the refund call reaches FNAC (``land``) or not, then its answer is lost."""

    def __init__(self, client, *, land: bool):
        self.client, self.land, self.calls = client, land, 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def orders_update(self, updates):
        self.calls += 1
        if self.land:
            self.client.orders_update(updates)
        raise OutcomeUnknown("connection dropped after the request was sent")


def test_lost_answer_is_checked_on_fnac_and_never_sent_twice(connected_store, sandbox, client, shipped_order):
    order = shipped_order()
    lost = LostAnswer(client, land=True)
    refund = lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="other", client=lost)
    assert refund.state == "done" and lost.calls == 1
    assert len(sandbox.requests_for("orders_update")) == 1 and sandbox.requests_for("orders_query")
    assert line(order, "SKU-A").state == "Refunded"


def test_call_that_never_landed_is_failed_and_can_be_sent_again(connected_store, sandbox, client, shipped_order):
    order = shipped_order()
    with pytest.raises(MarketplaceFailure, match="checked on FNAC: nothing was refunded"):
        lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="other",
                     client=LostAnswer(client, land=False))
    assert LineRefund.objects.get().state == "failed" and line(order, "SKU-A").state == "Shipped"
    lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="other", client=client)
    assert len(sandbox.requests_for("orders_update")) == 1
    assert fnac_line(sandbox, order, "SKU-A").state == "Refunded"


def test_a_worker_killed_mid_refund_is_settled_before_anything_else_is_sent(connected_store, sandbox, client,
                                                                            shipped_order):
    from fnac_connector.marketplace.fnac import types as fnac

    order = shipped_order()
    a = line(order, "SKU-A")
    # the worker recorded its intent, the call landed on FNAC, then the worker died
    dead = LineRefund.objects.create(store=connected_store, order=order, route="orders_update", reason="other",
                                     lines=[{"order_detail_id": a.order_detail_id, "sku": "SKU-A", "quantity": 1,
                                             "returned_to_stock": True}])
    client.orders_update([fnac.OrderUpdate(order_id=order.marketplace_order_id, action="refund_order", lines=[
        fnac.LineUpdate(action="Refunded", order_detail_id=a.order_detail_id, refund_reason="other")])])
    # while it may still be in flight, a new refund of the order waits
    with pytest.raises(Conflict, match="being sent right now"):
        lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="other", client=client)
    LineRefund.objects.filter(pk=dead.pk).update(created_at=timezone.now() - IN_FLIGHT - dt.timedelta(seconds=1))
    before = stock(connected_store, "SKU-A")
    with pytest.raises(Conflict, match="already refunded"):
        lines_refund(order=order, lines=[RefundLineRequest(sku="SKU-A")], reason="other", client=client)
    dead.refresh_from_db()
    assert dead.state == "done" and line(order, "SKU-A").state == "Refunded"
    assert stock(connected_store, "SKU-A") == before + 1  # its "returned" line went back once
    assert len(sandbox.requests_for("orders_update")) == 1


# ---------------------------------------------------------------- doors
def test_api_refund_incidents_list_and_store_scoping(connected_store, sandbox, client, shipped_order, api_client,
                                                     django_user_model, make_store, superuser):
    order = shipped_order()
    sandbox.open_incident(order.marketplace_order_id)
    claims_sync(store=connected_store, trigger="test", initial=True, client=client)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(superuser)}")
    listed = api_client.get("/api/incidents/?waiting_for_seller=true").json()
    assert [c["marketplace_order_id"] for c in listed["results"]] == [order.marketplace_order_id]
    bad = api_client.post(f"/api/orders/{order.pk}/refund/", {"lines": [{"sku": "SKU-B", "quantity": 5}],
                                                             "reason": "other"}, format="json")
    assert bad.status_code == 400 and "more than the 2 ordered" in bad.json()["detail"]
    ok = api_client.post(f"/api/orders/{order.pk}/refund/", {"lines": [{"sku": "SKU-B"}], "reason": "other"},
                         format="json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["state"] == "done" and ok.json()["route"] == "orders_update"
    # staff of another store sees none of it
    other = make_store()
    staff = django_user_model.objects.create_user("b-staff", "b@example.com", "pw-b-staff-123", is_staff=True)
    from django.contrib.auth.models import Group

    staff.groups.add(Group.objects.get(name="Store manager"))
    other.users.add(staff)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(staff)}")
    assert api_client.get("/api/incidents/").json()["results"] == []
    assert api_client.post(f"/api/orders/{order.pk}/refund/", {"lines": [{"sku": "SKU-A"}], "reason": "other"},
                           format="json").status_code == 404
    assert refunds_sent(sandbox) == 1


def test_api_list_queries_are_bounded(connected_store, superuser, api_client, django_assert_max_num_queries):
    for n in range(30):
        claim = Claim.objects.create(store=connected_store, incident_id=f"i-{n}", marketplace_order_id=f"O{n}",
                                     status="OPENED", waiting_for_seller=n % 2 == 0)
        ClaimLine.objects.create(claim=claim, order_detail_id=n + 1, type=1, status="OPENED")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(superuser)}")
    with django_assert_max_num_queries(12):
        data = api_client.get("/api/incidents/").json()
    assert len(data["results"]) == 30 and data["results"][0]["waiting_for_seller"]


def test_admin_claims_list_claim_page_and_refund_form(connected_store, sandbox, client, shipped_order, superuser,
                                                      django_assert_max_num_queries):
    from django.test import Client

    order = shipped_order()
    a = line(order, "SKU-A")
    sandbox.open_incident(order.marketplace_order_id, order_detail_ids=[a.order_detail_id])
    claims_sync(store=connected_store, trigger="test", initial=True, client=client)
    browser = Client()
    browser.force_login(superuser)
    with django_assert_max_num_queries(40):
        page = browser.get(reverse("admin:claims_claim_changelist") + "?waiting=1")
    assert page.status_code == 200 and order.marketplace_order_id in page.content.decode()
    assert "Waits for your answer" in page.content.decode()
    claim = Claim.objects.get()
    assert browser.get(reverse("admin:claims_claim_change", args=[claim.pk])).status_code == 200
    order_page = browser.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "buyer claims" in order_page.lower() and "Refund lines" in order_page
    url = reverse("admin:claims_order_refund", args=[order.pk])
    form = browser.get(url)
    assert form.status_code == 200 and "return to stock" in form.content.decode()
    # no confirmation: nothing sent
    browser.post(url, {"reason": "damaged_article", f"line_{a.order_detail_id}": "1"})
    assert refunds_sent(sandbox) == 0
    done = browser.post(url, {"reason": "damaged_article", "confirm": "on", f"line_{a.order_detail_id}": "1",
                              f"returned_{a.order_detail_id}": "1"})
    assert done.status_code == 302
    assert line(order, "SKU-A").state == "Refunded" and refunds_sent(sandbox) == 1
    assert LineRefund.objects.get().route == "incidents_update"


def test_commands_sync_incidents_and_refund_lines(connected_store, sandbox, client, shipped_order, capsys):
    order = shipped_order()
    sandbox.open_incident(order.marketplace_order_id, order_detail_ids=[line(order, "SKU-B").order_detail_id])
    call_command("sync_incidents", "--store", str(connected_store.pk), "--initial")
    assert "claims=1" in capsys.readouterr().out
    from django.core.management.base import CommandError

    before = stock(connected_store, "SKU-A")
    with pytest.raises(CommandError, match="under open claims.*Nothing was sent"):  # one claim line, one not
        call_command("refund_lines", "--order", str(order.pk), "--line", "SKU-A:1", "--line", "SKU-B:2",
                     "--reason", "returned_article")
    with pytest.raises(CommandError, match="quantity 5 is more than the 2 ordered"):
        call_command("refund_lines", "--order", str(order.pk), "--line", "SKU-B:5", "--reason", "other")
    assert refunds_sent(sandbox) == 0
    call_command("refund_lines", "--order", str(order.pk), "--line", "SKU-A:1:returned", "--reason", "returned_article")
    assert "Refunded on FNAC via orders_update: SKU-A x1 (back to stock)" in capsys.readouterr().out
    call_command("refund_lines", "--order", str(order.pk), "--line", "SKU-B", "--reason", "damaged_article")
    assert "via incidents_update: SKU-B x2" in capsys.readouterr().out
    assert stock(connected_store, "SKU-A") == before + 1 and refunds_sent(sandbox) == 2


def test_simulation_opens_claims_on_shipped_orders(sandbox):
    for _ in range(5):
        oid = sandbox.add_order(state="Created", lines=[{"sku": "SKU-X", "quantity": 1}])
        sandbox.set_order_state(oid, "NotReceived")
    events = sandbox.tick(10)
    assert len(events["claims_opened"]) == 5
    assert all(i.lines[0].type == 1 for i in sandbox.state.incidents.values())


def test_staff_of_another_store_never_sees_the_claims(connected_store, sandbox, client, shipped_order, make_store,
                                                      django_user_model):
    from django.contrib.auth.models import Group
    from django.test import Client

    order = shipped_order()
    sandbox.open_incident(order.marketplace_order_id)
    claims_sync(store=connected_store, trigger="test", initial=True, client=client)
    claim = Claim.objects.get()
    other = make_store()
    staff = django_user_model.objects.create_user("b-admin", "b@example.com", "pw-b-admin-123", is_staff=True)
    staff.groups.add(Group.objects.get(name="Store manager"))
    other.users.add(staff)
    browser = Client()
    browser.force_login(staff)
    listing = browser.get(reverse("admin:claims_claim_changelist"))
    assert listing.status_code == 200 and order.marketplace_order_id not in listing.content.decode()
    assert browser.get(reverse("admin:claims_claim_change", args=[claim.pk])).status_code in (302, 404)
    assert browser.get(reverse("admin:claims_order_refund", args=[order.pk])).status_code == 404
    assert browser.post(reverse("admin:claims_order_refund", args=[order.pk]), {
        "reason": "other", "confirm": "on", f"line_{line(order, 'SKU-A').order_detail_id}": "1"}).status_code == 404
    assert refunds_sent(sandbox) == 0


def test_connect_imports_claims_and_schedules_the_periodic_job(store, sandbox, django_capture_on_commit_callbacks):
    from django_q.models import Schedule

    from stores.services import store_connect

    order_id = sandbox.add_order(state="Created", lines=[{"sku": "SKU-Q", "quantity": 1}])
    sandbox.set_order_state(order_id, "Shipped")
    incident_id = sandbox.open_incident(order_id)
    with django_capture_on_commit_callbacks(execute=True):
        store_connect(store=store, trigger="test")
    assert Schedule.objects.filter(name=f"store:{store.pk}:claims_sync", func="claims.tasks.claims_sync_task").exists()
    run = store.sync_runs.get(kind="claims_import")
    assert run.state == "succeeded" and run.trigger.startswith("connect")
    claim = Claim.objects.get(incident_id=incident_id)
    assert claim.order is not None and claim.order.flagged  # the orders came in on connect too


def test_sync_claims_on_demand_from_the_store_page_and_the_api(connected_store, sandbox, superuser, api_client,
                                                                django_capture_on_commit_callbacks):
    from django.test import Client

    order_id = sandbox.add_order(state="Created", lines=[{"sku": "SKU-Q", "quantity": 1}])
    sandbox.set_order_state(order_id, "Shipped")
    sandbox.open_incident(order_id)
    browser = Client()
    browser.force_login(superuser)
    url = reverse("admin:claims_claim_sync_store", args=[connected_store.pk])
    assert "buyer claims" in browser.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert browser.post(url).status_code == 302
    assert connected_store.sync_runs.get(kind="claims_import", trigger="admin").state == "succeeded"
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(superuser)}")
    with django_capture_on_commit_callbacks(execute=True):
        started = api_client.post(f"/api/stores/{connected_store.pk}/sync-incidents/")
    assert started.status_code == 202 and started.json()["kind"] == "claims_import"
    assert Claim.objects.count() == 1
