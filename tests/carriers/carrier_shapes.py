"""Carrier answers in the shapes karrio's fixtures and the carriers' documentation show (written for these tests,
not copied): Colissimo SLS generateLabel (multipart: JSON infos + the label), La Poste Suivi v2, Chronopost SOAP
(shippingMultiParcelV5, cancelSkybill, trackSkybillV2, calculateProducts), UPS REST (OAuth token, ship v2409,
void, track v1)."""

from __future__ import annotations

import base64
import io
import json

from PIL import Image
from reportlab.lib.pagesizes import A6
from reportlab.pdfgen.canvas import Canvas

COLISSIMO_URL = "https://ws.colissimo.fr/sls-ws/SlsServiceWSRest/2.0"
LAPOSTE_TRACK_URL = "https://api.laposte.fr/suivi/v2/idships/"
CHRONOPOST_URL = "https://ws.chronopost.fr"
UPS_TEST_URL = "https://wwwcie.ups.com"


def carrier_pdf(text: str) -> bytes:
    """A compressed (binary) one-page PDF with ``text`` on it, as a carrier would send its label."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A6, pageCompression=1)
    c.drawString(20, 300, text)
    c.showPage()
    c.save()
    return buf.getvalue()


# ---------------------------------------------------------------- Colissimo
def colissimo_label_answer(parcel_number: str, label: bytes) -> bytes:
    uuid = "0f6d2a8e-4c4b-4d55-9a1e-3b1d5f7c9e01"
    ok = "La requête a été traitée avec succès"
    infos = json.dumps({"messages": [{"id": "0", "type": "INFOS", "messageContent": ok, "replacementValues": []}],
                        "labelXmlV2Reponse": None,
                        "labelV2Response": {"parcelNumber": parcel_number, "parcelNumberPartner": None,
                                            "pdfUrl": None, "fields": None}})
    head = (f"--uuid:{uuid}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Transfer-Encoding: binary\r\n"
            f"Content-ID: <jsonInfos>\r\n\r\n{infos}\r\n--uuid:{uuid}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Transfer-Encoding: binary\r\nContent-ID: <label>\r\n\r\n").replace("\r\n", "\n")
    return head.encode("utf-8") + label + f"\n--uuid:{uuid}--\n".encode()


def colissimo_error_answer(msg_id: str, text: str) -> bytes:
    uuid = "07a458a8-bd7d-45ab-8349-865ac38f9b6e"
    infos = json.dumps({"messages": [{"id": msg_id, "type": "ERROR", "messageContent": text}],
                        "labelXmlV2Reponse": None, "labelV2Response": None})
    return (f"--uuid:{uuid}\nContent-Type: application/json;charset=UTF-8\nContent-Transfer-Encoding: binary\n"
            f"Content-ID: <jsonInfos>\n\n{infos}\n--uuid:{uuid}--\n").encode()


def colissimo_check_answer(msg_id: str = "0", kind: str = "INFOS", text: str = "ok") -> bytes:
    return json.dumps({"messages": [{"id": msg_id, "type": kind, "messageContent": text}]}).encode()


def laposte_tracking_answer(number: str, events: list[tuple[str, str, str]], final: bool = False) -> dict:
    return {"lang": "fr_FR", "scope": "open", "returnCode": 200,
            "shipment": {"idShip": number, "holder": 4, "product": "Colissimo", "isFinal": final,
                         "entryDate": "2026-11-20T08:12:00+01:00",
                         "url": f"https://www.laposte.fr/outils/suivre-vos-envois?code={number}",
                         "event": [{"code": c, "label": label, "date": d} for c, label, d in events],
                         "timeline": [], "contextData": {"originCountry": "FR", "arrivalCountry": "FR"}}}


def laposte_unknown(number: str) -> dict:
    return {"lang": "fr_FR", "scope": "open", "returnCode": 104, "returnMessage": f"L'objet {number} n'existe pas",
            "idShip": number}


# ---------------------------------------------------------------- Chronopost
def _soap(body: str) -> str:
    return ('<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            f"{body}</soap:Body></soap:Envelope>")


def chronopost_ship_answer(skybill: str, label: bytes) -> str:
    return _soap('<ns1:shippingMultiParcelV5Response xmlns:ns1="http://cxf.shipping.soap.chronopost.fr/"><return>'
                 "<errorCode>0</errorCode><errorMessage/><resultMultiParcelValue><codeDepot>75327227</codeDepot>"
                 f"<pdfEtiquette>{base64.b64encode(label).decode()}</pdfEtiquette>"
                 f"<skybillNumber>{skybill}</skybillNumber></resultMultiParcelValue></return>"
                 "</ns1:shippingMultiParcelV5Response>")


def chronopost_error_answer(code: int, message: str, op: str = "shippingMultiParcelV5") -> str:
    ns = "shipping" if op.startswith("shipping") else "tracking"
    return _soap(f'<ns1:{op}Response xmlns:ns1="http://cxf.{ns}.soap.chronopost.fr/"><return>'
                 f"<errorCode>{code}</errorCode><errorMessage>{message}</errorMessage></return></ns1:{op}Response>")


def chronopost_cancel_ok() -> str:
    return _soap('<ns2:cancelSkybillResponse xmlns:ns2="http://cxf.tracking.soap.chronopost.fr/"><return>'
                 "<errorCode>0</errorCode><errorMessage/><statusCode>0</statusCode></return>"
                 "</ns2:cancelSkybillResponse>")


def chronopost_tracking_answer(skybill: str, events: list[tuple[str, str, str]]) -> str:
    evs = "".join(f"<events><code>{c}</code><eventDate>{d}</eventDate><eventLabel>{label}</eventLabel>"
                  f"<highPriority>false</highPriority><NPC/><officeLabel>Paris</officeLabel></events>"
                  for c, label, d in events)
    return _soap('<ns1:trackSkybillV2Response xmlns:ns1="http://cxf.tracking.soap.chronopost.fr/"><return>'
                 f"<errorCode>0</errorCode><listEventInfoComp>{evs}<skybillNumber>{skybill}</skybillNumber>"
                 "</listEventInfoComp></return></ns1:trackSkybillV2Response>")


def chronopost_quote_answer() -> str:
    return _soap('<ns1:calculateProductsResponse xmlns:ns1="http://cxf.quickcost.soap.chronopost.fr/"><return>'
                 "<errorCode>0</errorCode><errorMessage/><productList><amount>12.5</amount><amountTTC>15.0"
                 "</amountTTC><amountTVA>2.5</amountTVA><productCode>1</productCode></productList></return>"
                 "</ns1:calculateProductsResponse>")


# ---------------------------------------------------------------- UPS
def ups_token() -> dict:
    return {"token_type": "Bearer", "issued_at": "1795000000000", "client_id": "cid", "access_token": "tok-123",
            "scope": "", "expires_in": "14399", "refresh_count": "0", "status": "approved"}


def ups_error(code: str, message: str) -> dict:
    return {"response": {"errors": [{"code": code, "message": message}]}}


def gif_label() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (120, 80), "white").save(buf, format="GIF")
    return base64.b64encode(buf.getvalue()).decode()


def ups_ship_answer(tracking: str, image_b64: str, fmt: str = "GIF") -> dict:
    return {"ShipmentResponse": {
        "Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
        "ShipmentResults": {"ShipmentIdentificationNumber": tracking,
                            "BillingWeight": {"UnitOfMeasurement": {"Code": "KGS"}, "Weight": "1.0"},
                            "PackageResults": [{"TrackingNumber": tracking,
                                                "ShippingLabel": {"ImageFormat": {"Code": fmt},
                                                                  "GraphicImage": image_b64}}]}}}


def ups_void_ok() -> dict:
    return {"VoidShipmentResponse": {"Response": {"ResponseStatus": {"Code": "1", "Description": "Success"}},
                                     "SummaryResult": {"Status": {"Code": "1", "Description": "Voided"}}}}


def ups_tracking_answer(number: str, activities: list[tuple[str, str, str, str]]) -> dict:
    """activities: (type, code, description, YYYYMMDD HHMMSS), newest first as UPS sends them."""
    return {"trackResponse": {"shipment": [{"inquiryNumber": number, "package": [{
        "trackingNumber": number, "deliveryDate": [], "packageAddress": [],
        "activity": [{"location": {"address": {"city": "PARIS", "countryCode": "FR"}},
                      "status": {"type": t, "description": d, "code": c, "statusCode": "000"},
                      "date": when.split()[0], "time": when.split()[1]} for t, c, d, when in activities]}]}]}}
