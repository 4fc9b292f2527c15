"""Many shops on one sandbox (issue 14): FNAC serves every seller on one URL and tells them apart by the shop_id of
each call; each shop is a marketplace of its own (offers, orders, tokens, request log)."""

from __future__ import annotations

import requests

from .wire import Fnac, offers_update_xml, texts


def test_shops_have_their_own_credentials_catalogue_and_request_log(make_srv):
    srv = make_srv(offers=5)
    a, b = srv.add_shops(2, offers=3, orders=2)
    assert len({a.credentials.shop_id, b.credentials.shop_id, srv.credentials.shop_id}) == 3
    assert a.fnac_url == b.fnac_url == srv.fnac_url  # one URL, as FNAC

    fa, fb = Fnac(a), Fnac(b)
    assert fa.auth().get("status") == "OK" and fb.auth().get("status") == "OK"
    fa.call("offers_update", offers_update_xml([{"sku": "SKU-000001", "quantity": 7}]))
    skus_a = texts(fa.call("offers_query", "<paging>1</paging>"), "f:offer/f:offer_seller_id")
    assert len(skus_a) == 3
    assert len(b.state.orders) == 2 and len(a.state.orders) == 2 and len(srv.state.orders) == 0
    assert set(a.state.orders).isdisjoint(b.state.orders)  # each shop draws its own order ids

    assert [r.service for r in a.requests] == ["auth", "offers_update", "offers_query"]
    assert [r.service for r in b.requests] == ["auth"]
    assert srv.requests == []  # nothing for the shops lands in the front shop's log
    assert all(r.received > 0 for r in a.requests)


def test_a_token_of_one_shop_is_refused_for_another(make_srv):
    srv = make_srv()
    a, b = srv.add_shops(2)
    fa = Fnac(a)
    fa.auth()
    # b's shop_id with a's token: routed to b, whose tokens do not include a's
    body = (f'<offers_query xmlns="http://www.fnac.com/schemas/mp-dialog.xsd" partner_id="{b.credentials.partner_id}"'
            f' shop_id="{b.credentials.shop_id}" token="{fa.token}"><paging>1</paging></offers_query>')
    root = fa.session.post(srv.fnac_url + "offers_query", data=body.encode(), timeout=10)
    assert root.status_code == 200 and b'status="FATAL"' in root.content and b"ERR_097" in root.content
    # a's key with b's shop_id: refused by b
    wrong = (f'<auth xmlns="http://www.fnac.com/schemas/mp-dialog.xsd"><partner_id>{b.credentials.partner_id}'
             f"</partner_id><shop_id>{b.credentials.shop_id}</shop_id><key>{a.credentials.key}</key></auth>")
    answer = fa.session.post(srv.fnac_url + "auth", data=wrong.encode(), timeout=10)
    assert b'status="ERROR"' in answer.content and b"ERR_097" in answer.content
    assert [r.service for r in b.requests] == ["offers_query", "auth"] and len(a.requests) == 1


def test_an_unknown_shop_id_is_refused_like_bad_credentials(make_srv):
    srv = make_srv()
    srv.add_shops(1)
    body = ('<auth xmlns="http://www.fnac.com/schemas/mp-dialog.xsd"><partner_id>00000000-0000-0000-0000-0000000000aa</partner_id>'
            "<shop_id>00000000-0000-0000-0000-0000000000ff</shop_id><key>00000000-0000-0000-0000-0000000000bb</key></auth>")
    answer = requests.post(srv.fnac_url + "auth", data=body.encode(), timeout=10)
    assert b'status="ERROR"' in answer.content and b"ERR_097" in answer.content
    assert [r.service for r in srv.requests] == ["auth"]  # recorded by the front shop


def test_control_api_registers_lists_and_drives_each_shop(make_srv):
    srv = make_srv()
    base = srv.base_url
    made = requests.post(f"{base}/sandbox/shops", json={"count": 3, "offers": 4, "new_order_every": 60},
                         timeout=10)
    assert made.status_code == 201
    shops = made.json()["shops"]
    assert [s["offers"] for s in shops] == [4, 4, 4]
    listed = requests.get(f"{base}/sandbox/shops", timeout=10).json()["shops"]
    assert [s["credentials"]["shop_id"] for s in listed] == [s["credentials"]["shop_id"] for s in shops]
    assert requests.get(f"{base}/sandbox/status", timeout=10).json()["shops"] == 3

    shop_id = shops[1]["credentials"]["shop_id"]
    order = requests.post(f"{base}/sandbox/shops/{shop_id}/orders", json={"lines": ["SKU-000001"]}, timeout=10)
    assert order.status_code == 201
    assert order.json()["order_id"] in srv.shop(shop_id).state.orders
    assert len(srv.state.orders) == 0
    log = requests.get(f"{base}/sandbox/shops/{shop_id}/requests", timeout=10).json()
    assert [r["path"] for r in log["requests"]] == [f"/sandbox/shops/{shop_id}/orders"]

    missing = requests.get(f"{base}/sandbox/shops/nope/status", timeout=10)
    assert missing.status_code == 404 and "no shop nope" in missing.json()["error"]
    bad = requests.post(f"{base}/sandbox/shops", json={"count": 0}, timeout=10)
    assert bad.status_code == 400 and "count" in bad.json()["error"]

    # ticks reach every shop: with one order a minute on average, ten simulated hours bring orders to each
    requests.post(f"{base}/sandbox/tick", json={"seconds": 36000}, timeout=30)
    assert all(len(s.state.orders) > 1 for s in srv.shop_list())
    srv.reset()
    assert srv.shop_list() == []


def test_mirakl_calls_are_routed_by_api_key(make_srv):
    srv = make_srv()
    a, b = srv.add_shops(2)
    answer = requests.get(srv.mirakl_url + "/api/hierarchies", headers={"Authorization": b.credentials.mirakl_key},
                          timeout=10)
    assert answer.status_code == 200
    assert [r.service for r in b.requests] == ["H11"] and a.requests == [] and srv.requests == []


def test_faults_set_on_the_sandbox_reach_its_shops(make_srv):
    srv = make_srv()
    (a,) = srv.add_shops(1)
    srv.set_faults(1.0, ["503"])
    answer = requests.post(srv.fnac_url + "offers_query", timeout=10,
                           data=f'<offers_query shop_id="{a.credentials.shop_id}"/>'.encode())
    assert answer.status_code == 503 and [r.fault for r in a.requests] == ["503"]
