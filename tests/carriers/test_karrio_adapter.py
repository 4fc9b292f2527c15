"""The karrio adapters (Colissimo, Chronopost, UPS) against the carriers' documented request and answer shapes, at
the HTTP level and without the network: booking (real PDF labels read back with pypdf, ZPL), refused addresses,
refused credentials, timeouts (a booking that timed out is *uncertain*, never a plain retry), cancel/void,
tracking with its status mapping, and each carrier's "Test connection"."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from pypdf import PdfReader

from fnac_connector.carriers import AddressError, CarrierError, Party, ShipmentRequest, TrackingStatus
from fnac_connector.carriers.karrio_adapter import BookingUncertain, CredentialsRefused, KarrioCarrier
from tests.carriers import carrier_shapes as shapes

SENDER = Party(name="Entrepôt Martin", address1="12 rue de la Paix", zipcode="75002", city="Paris", country="FRA",
               phone="0102030405")
RECIPIENT = Party(name="Jeanne Durand", address1="3 place Bellecour", zipcode="69002", city="Lyon", country="FRA",
                  email="jeanne@example.com", phone="0601020304")
COLISSIMO = {"contract_number": "123456", "password": "colis-secret-pw", "laposte_api_key": "okapi-key-123"}
CHRONOPOST = {"account_number": "19869502", "password": "chrono-secret-pw"}
UPS = {"client_id": "ups-client", "client_secret": "ups-secret-xyz", "account_number": "A1B2C3"}


def request(**kw) -> ShipmentRequest:
    base = dict(order_id="FNAC123", sender=SENDER, recipient=RECIPIENT, weight_kg=Decimal("1.250"),
                carrier_code="SOCOLISSIMO", reference="P12-1")
    return ShipmentRequest(**{**base, **kw})


def pdf_text(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), "".join(page.extract_text() or "" for page in reader.pages)


# ---------------------------------------------------------------- Colissimo
def test_colissimo_books_and_returns_the_carriers_own_pdf(carrier_web):
    label = shapes.carrier_pdf("COLISSIMO 6A18234567890")
    carrier_web.add("POST", shapes.COLISSIMO_URL + "/generateLabel",
                    (200, shapes.colissimo_label_answer("6A18234567890", label)))
    adapter = KarrioCarrier("colissimo", settings=COLISSIMO, service="colissimo_home_with_signature")

    shipment = adapter.create_shipment(request())

    assert shipment.tracking_number == "6A18234567890" and shipment.awb == "6A18234567890"
    assert shipment.label_format == "PDF" and shipment.label_pdf == label  # byte for byte, through the multipart
    pages, text = pdf_text(shipment.label_pdf)
    assert pages == 1 and "6A18234567890" in text
    assert shipment.tracking_url.endswith("code=6A18234567890")
    # what Colissimo received: SLS generateLabel JSON with the contract, the product code and the parcel
    (call,) = carrier_web.calls
    sent = json.loads(call.body)
    assert call.url == shapes.COLISSIMO_URL + "/generateLabel" and call.timeout == 30.0
    assert sent["contractNumber"] == "123456" and sent["password"] == "colis-secret-pw"
    assert sent["letter"]["service"]["productCode"] == "DOS"
    assert sent["letter"]["parcel"]["weight"] == 1.25
    assert sent["letter"]["addressee"]["address"]["zipCode"] == "69002"
    assert sent["letter"]["addressee"]["address"]["countryCode"] == "FR"  # FNAC's FRA as ISO alpha-2
    assert sent["outputFormat"]["outputPrintingType"] == "PDF_10x15_300dpi"
    assert "colis-secret-pw" not in repr(adapter)


def test_colissimo_zpl_label_for_thermal_printers(carrier_web):
    zpl = b"^XA^FO50,50^BCN,100,Y,N,N^FD6A18234567890^FS^XZ"
    carrier_web.add("POST", shapes.COLISSIMO_URL + "/generateLabel",
                    (200, shapes.colissimo_label_answer("6A18234567890", zpl)))
    adapter = KarrioCarrier("colissimo", settings=COLISSIMO, label_format="ZPL")
    shipment = adapter.create_shipment(request())
    assert shipment.label_format == "ZPL" and shipment.label_pdf == zpl
    assert json.loads(carrier_web.calls[0].body)["outputFormat"]["outputPrintingType"] == "ZPL_10x15_203dpi"


def test_colissimo_bad_credentials_are_final_with_a_clear_message(carrier_web):
    carrier_web.add("POST", shapes.COLISSIMO_URL + "/generateLabel",
                    (200, shapes.colissimo_error_answer("30000", "Identifiant ou mot de passe incorrect")))
    with pytest.raises(CredentialsRefused) as exc:
        KarrioCarrier("colissimo", settings=COLISSIMO).create_shipment(request())
    assert exc.value.retryable is False and exc.value.code == "30000"
    assert "refused the account's credentials" in exc.value.message
    assert "colis-secret-pw" not in str(exc.value)


def test_colissimo_refused_address(carrier_web):
    carrier_web.add("POST", shapes.COLISSIMO_URL + "/generateLabel",
                    (200, shapes.colissimo_error_answer("30220", "Le code postal du destinataire est invalide")))
    with pytest.raises(AddressError) as exc:
        KarrioCarrier("colissimo", settings=COLISSIMO).create_shipment(request())
    assert exc.value.party == "recipient" and exc.value.retryable is False
    assert "code postal du destinataire" in exc.value.message


def test_an_incomplete_address_is_refused_before_any_call(carrier_web):
    with pytest.raises(AddressError) as exc:
        KarrioCarrier("colissimo", settings=COLISSIMO).create_shipment(
            request(recipient=Party(name="X", address1="1 rue", zipcode="6900", city="Lyon", country="FRA")))
    assert exc.value.field == "zipcode" and carrier_web.calls == []


@pytest.mark.parametrize("failure", ["timeout", "socket-timeout"])
def test_a_booking_that_times_out_is_uncertain_not_a_plain_failure(carrier_web, failure):
    carrier_web.add("POST", shapes.COLISSIMO_URL + "/generateLabel", failure)
    with pytest.raises(BookingUncertain) as exc:
        KarrioCarrier("colissimo", settings=COLISSIMO).create_shipment(request())
    assert exc.value.code == "TIMEOUT" and "may have been booked" in exc.value.message
    assert len(carrier_web.calls) == 1  # karrio's own retries stay off: one call, one possible parcel


def test_colissimo_has_no_void(carrier_web):
    adapter = KarrioCarrier("colissimo", settings=COLISSIMO)
    assert "cancel" not in adapter.capabilities
    with pytest.raises(CarrierError) as exc:
        adapter.cancel_shipment("6A18234567890")
    assert exc.value.code == "CANCEL_UNSUPPORTED" and carrier_web.calls == []


def test_colissimo_tracking_through_la_poste_suivi_v2(carrier_web):
    events = [("DI1", "Votre colis est livré", "2026-11-22T10:05:00+01:00"),
              ("MD2", "Votre colis est en cours de livraison", "2026-11-22T08:00:00+01:00"),
              ("PC1", "Votre colis est pris en charge", "2026-11-20T17:30:00+01:00")]
    carrier_web.add("GET", shapes.LAPOSTE_TRACK_URL, (200, json.dumps([
        shapes.laposte_tracking_answer("6A1", events, final=True), shapes.laposte_unknown("6A2")])))
    adapter = KarrioCarrier("colissimo", settings=COLISSIMO)

    first, second = adapter.track(["6A1", "6A2"])

    (call,) = carrier_web.calls
    assert call.url.startswith(shapes.LAPOSTE_TRACK_URL + "6A1,6A2") and call.headers["x-okapi-key"] == "okapi-key-123"
    assert [e.code for e in first.events] == ["PC1", "MD2", "DI1"]  # oldest first
    assert [e.status for e in first.events] == [TrackingStatus.IN_TRANSIT, TrackingStatus.OUT_FOR_DELIVERY,
                                                TrackingStatus.DELIVERED]
    assert first.delivered and first.events[-1].description == "Votre colis est livré"
    # La Poste's 10:05 +01:00 reaches karrio as a date and a time without offset: read as French time, not UTC
    assert first.events[-1].at == dt.datetime(2026, 11, 22, 9, 5, tzinfo=dt.UTC)
    assert second.error and not second.events and not second.delivered


def test_colissimo_without_an_okapi_key_offers_no_tracking():
    adapter = KarrioCarrier("colissimo", settings={"contract_number": "1", "password": "p"})
    assert "tracking" not in adapter.capabilities
    with pytest.raises(CarrierError):
        adapter.track(["6A1"])


def test_colissimo_test_connection_uses_check_generate_label(carrier_web):
    carrier_web.add("POST", shapes.COLISSIMO_URL + "/checkGenerateLabel", (200, shapes.colissimo_check_answer()))
    carrier_web.add("GET", shapes.LAPOSTE_TRACK_URL, (200, json.dumps(shapes.laposte_unknown("6A00000000000"))))
    message = KarrioCarrier("colissimo", settings=COLISSIMO).test_connection()
    assert "accepted the contract number" in message and "tracking API key" in message
    assert json.loads(carrier_web.to(shapes.COLISSIMO_URL)[0].body)["contractNumber"] == "123456"

    carrier_web.add("POST", shapes.COLISSIMO_URL + "/checkGenerateLabel",
                    (200, shapes.colissimo_check_answer("30000", "ERROR", "Identifiant ou mot de passe incorrect")))
    with pytest.raises(CredentialsRefused):
        KarrioCarrier("colissimo", settings=COLISSIMO).test_connection()


def test_a_refused_okapi_key_fails_the_test_connection(carrier_web):
    carrier_web.add("POST", shapes.COLISSIMO_URL + "/checkGenerateLabel", (200, shapes.colissimo_check_answer()))
    carrier_web.add("GET", shapes.LAPOSTE_TRACK_URL, (401, json.dumps({"code": "UNAUTHORIZED",
                                                                       "message": "Invalid API key"})))
    with pytest.raises(CarrierError):
        KarrioCarrier("colissimo", settings=COLISSIMO).test_connection()


def test_missing_credentials_are_refused_when_the_adapter_is_built():
    with pytest.raises(CredentialsRefused) as exc:
        KarrioCarrier("colissimo", settings={"contract_number": "123456"})
    assert "password" in exc.value.message


# ---------------------------------------------------------------- Chronopost
def test_chronopost_books_with_a_pdf_label_and_voids_it(carrier_web):
    label = shapes.carrier_pdf("CHRONOPOST XP696982485FR")
    carrier_web.add("POST", shapes.CHRONOPOST_URL + "/shipping-cxf/ShippingServiceWS",
                    (200, shapes.chronopost_ship_answer("XP696982485FR", label)))
    carrier_web.add("POST", shapes.CHRONOPOST_URL + "/tracking-cxf/TrackingServiceWS",
                    (200, shapes.chronopost_cancel_ok()))
    adapter = KarrioCarrier("chronopost", settings=CHRONOPOST, service="chronopost_18")

    shipment = adapter.create_shipment(request(carrier_code="CHRONOPOST"))
    assert shipment.tracking_number == "XP696982485FR" and shipment.label_pdf == label
    pages, text = pdf_text(shipment.label_pdf)
    assert pages == 1 and text.strip() == "CHRONOPOST XP696982485FR"
    booking = carrier_web.calls[0].text
    assert "<accountNumber>19869502</accountNumber>" in booking and "<productCode>16</productCode>" in booking
    assert "<recipientZipCode>69002</recipientZipCode>" in booking and "<mode>PDF</mode>" in booking

    adapter.cancel_shipment("XP696982485FR")
    assert "<skybillNumber>XP696982485FR</skybillNumber>" in carrier_web.calls[1].text
    assert "cancelSkybill" in carrier_web.calls[1].text


def test_chronopost_refuses_a_void_it_cannot_match(carrier_web):
    answer = shapes.chronopost_error_answer(2, "the parcel doesn't match account or parcel information not found",
                                            op="cancelSkybill")
    carrier_web.add("POST", shapes.CHRONOPOST_URL + "/tracking-cxf/TrackingServiceWS", (200, answer))
    with pytest.raises(CarrierError) as exc:
        KarrioCarrier("chronopost", settings=CHRONOPOST).cancel_shipment("XP000000000FR")
    assert exc.value.code == "2" and "parcel information not found" in exc.value.message


def test_chronopost_bad_account(carrier_web):
    carrier_web.add("POST", shapes.CHRONOPOST_URL + "/shipping-cxf",
                    (200, shapes.chronopost_error_answer(33, "Invalid accesColis account number")))
    with pytest.raises(CredentialsRefused) as exc:
        KarrioCarrier("chronopost", settings=CHRONOPOST).create_shipment(request())
    assert not exc.value.retryable and "chrono-secret-pw" not in str(exc.value)


def test_chronopost_zpl(carrier_web):
    zpl = b"^XA^FDXP696982485FR^FS^XZ"
    carrier_web.add("POST", shapes.CHRONOPOST_URL + "/shipping-cxf",
                    (200, shapes.chronopost_ship_answer("XP696982485FR", zpl)))
    shipment = KarrioCarrier("chronopost", settings=CHRONOPOST, label_format="ZPL").create_shipment(request())
    assert shipment.label_pdf == zpl and shipment.label_format == "ZPL"
    assert "<mode>ZPL300</mode>" in carrier_web.calls[0].text


def test_chronopost_tracking_and_test_connection(carrier_web):
    carrier_web.add("POST", shapes.CHRONOPOST_URL + "/tracking-cxf", (200, shapes.chronopost_tracking_answer(
        "XP1", [("DC", "Envoi en préparation chez l'expéditeur", "2026-11-20T10:00:00"),
                ("D", "Livraison effectuée", "2026-11-21T12:30:00")])))
    adapter = KarrioCarrier("chronopost", settings=CHRONOPOST)
    (result,) = adapter.track(["XP1"])
    assert [e.status for e in result.events] == [TrackingStatus.INFO, TrackingStatus.DELIVERED] and result.delivered
    assert "<skybillNumber>XP1</skybillNumber>" in carrier_web.calls[0].text

    carrier_web.add("POST", shapes.CHRONOPOST_URL + "/quickcost-cxf", (200, shapes.chronopost_quote_answer()))
    assert "quoted 1 product" in adapter.test_connection()
    assert "<accountNumber>19869502</accountNumber>" in carrier_web.to(shapes.CHRONOPOST_URL + "/quickcost")[0].text


def test_a_carrier_that_cannot_be_reached_is_retryable(carrier_web):
    carrier_web.add("POST", shapes.CHRONOPOST_URL + "/tracking-cxf", "timeout")
    with pytest.raises(CarrierError) as exc:
        KarrioCarrier("chronopost", settings=CHRONOPOST).track(["XP1"])
    assert exc.value.retryable and not isinstance(exc.value, BookingUncertain)


# ---------------------------------------------------------------- UPS
def test_ups_books_with_oauth_and_returns_a_pdf_made_from_its_label_image(carrier_web):
    carrier_web.add("POST", shapes.UPS_TEST_URL + "/security/v1/oauth/token", (200, json.dumps(shapes.ups_token())))
    carrier_web.add("POST", shapes.UPS_TEST_URL + "/api/shipments/v2409/ship",
                    (200, json.dumps(shapes.ups_ship_answer("1Z999AA10123456784", shapes.gif_label()))))
    adapter = KarrioCarrier("ups", settings=UPS)

    shipment = adapter.create_shipment(request(carrier_code="UPS"))

    assert shipment.tracking_number == "1Z999AA10123456784" and shipment.awb == "1Z999AA10123456784"
    pages, _ = pdf_text(shipment.label_pdf)  # UPS sends a GIF: karrio makes it a one-page PDF (an image, no text)
    assert pages == 1
    token_call, ship_call = carrier_web.calls
    assert token_call.headers["authorization"] == "Basic " + base64.b64encode(b"ups-client:ups-secret-xyz").decode()
    assert ship_call.headers["authorization"] == "Bearer tok-123"
    sent = json.loads(ship_call.body)["ShipmentRequest"]["Shipment"]
    assert sent["ShipTo"]["Address"]["PostalCode"] == "69002" and sent["Service"]["Code"] == "11"


def test_ups_refused_credentials_at_the_token(carrier_web):
    carrier_web.add("POST", shapes.UPS_TEST_URL + "/security/v1/oauth/token",
                    (401, json.dumps(shapes.ups_error("250003", "Invalid Access License number"))))
    adapter = KarrioCarrier("ups", settings=UPS)
    with pytest.raises(CredentialsRefused) as exc:
        adapter.test_connection()
    assert exc.value.code == "250003" and "ups-secret-xyz" not in str(exc.value)
    with pytest.raises(CredentialsRefused):
        KarrioCarrier("ups", settings=UPS).create_shipment(request())


def test_ups_refused_address(carrier_web):
    carrier_web.add("POST", shapes.UPS_TEST_URL + "/security/v1/oauth/token", (200, json.dumps(shapes.ups_token())))
    carrier_web.add("POST", shapes.UPS_TEST_URL + "/api/shipments/v2409/ship",
                    (400, json.dumps(shapes.ups_error("120802", "Address Validation Error on ShipTo address"))))
    with pytest.raises(AddressError) as exc:
        KarrioCarrier("ups", settings=UPS).create_shipment(request())
    assert exc.value.party == "recipient" and exc.value.code == "120802"


def test_ups_void_and_tracking(carrier_web):
    carrier_web.add("POST", shapes.UPS_TEST_URL + "/security/v1/oauth/token", (200, json.dumps(shapes.ups_token())))
    carrier_web.add("DELETE", shapes.UPS_TEST_URL + "/api/shipments/v2409/void/cancel/",
                    (200, json.dumps(shapes.ups_void_ok())))
    carrier_web.add("GET", shapes.UPS_TEST_URL + "/api/track/v1/details/", (200, json.dumps(shapes.ups_tracking_answer(
        "1Z1", [("D", "KB", "DELIVERED", "20261122 103000"), ("I", "OR", "Origin Scan", "20261120 090000")]))))
    adapter = KarrioCarrier("ups", settings=UPS)

    adapter.cancel_shipment("1Z999AA10123456784")
    assert carrier_web.to(shapes.UPS_TEST_URL + "/api/shipments")[0].url.endswith("/cancel/1Z999AA10123456784")

    (result,) = adapter.track(["1Z1"])
    assert [(e.code, e.status) for e in result.events] == [("OR", TrackingStatus.IN_TRANSIT),
                                                           ("KB", TrackingStatus.DELIVERED)]
    assert result.events[0].at < result.events[1].at and result.events[0].location == "PARIS"


def test_a_tracking_batch_larger_than_the_carriers_limit_is_refused():
    adapter = KarrioCarrier("ups", settings=UPS)
    with pytest.raises(CarrierError):
        adapter.track([f"1Z{i}" for i in range(adapter.max_tracking_batch + 1)])
