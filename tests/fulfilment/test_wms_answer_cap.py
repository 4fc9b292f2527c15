"""A WMS answering a delivery with a huge body (issue 9, item 8): only the start of the answer is read for the
delivery's error message; the rest is never downloaded."""

from __future__ import annotations

import http.server
import threading

import pytest

from fulfilment.deliveries import wms_delivery_send
from fulfilment.models import WmsDelivery
from stores.models import Store

pytestmark = pytest.mark.django_db
MB = 2**20


class _HugeError(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    sent = 0

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"E" * (256 * 1024)
        try:
            for _ in range(128):  # 32 MB
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                type(self).sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass
        self.close_connection = True


@pytest.fixture
def huge_wms():
    _HugeError.sent = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HugeError)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wms"
    finally:
        server.shutdown()
        server.server_close()


def test_a_huge_wms_error_answer_is_not_downloaded(store, huge_wms):
    Store.objects.filter(pk=store.pk).update(wms_enabled=True, wms_webhook_url=huge_wms, wms_secret="s3cret-wms")
    store.refresh_from_db()
    delivery = WmsDelivery.objects.create(store=store, kind=WmsDelivery.Kind.RELEASED, key="big-1", payload={})

    assert wms_delivery_send(delivery=delivery, force=True) is False

    delivery.refresh_from_db()
    assert delivery.last_status_code == 500 and delivery.last_error.startswith("HTTP 500: EEEE")
    assert len(delivery.last_error) < 400
    assert _HugeError.sent < 16 * MB  # the connection was closed long before the 32 MB
