"""From a paid order to a shipped one: release to the warehouse, Ready to Ship, the shipment (carrier adapter
or a typed tracking number), and the confirmation to FNAC (orders_update, lines Shipped with tracking).

- ``order_release_to_warehouse``: New -> RFP (and the WMS is told, when the store has one).
- ``orders_ready_to_ship`` / ``order_ready_to_ship``: checks what was asked (nothing changes when it is wrong),
  moves the order to Ready to Ship, books the shipment (or records the typed tracking number), tells the WMS,
  then confirms to FNAC, 25 orders per call, and reads FNAC's answer per order and per line.
- Split shipments: ``lines`` ships those order lines now with their own tracking; the rest ships later.
- ``order_shipments_retry``: re-sends confirmations FNAC refused (after the fix, e.g. a carrier code) or that
  could not reach it; it first re-reads the order from FNAC, so a confirmation that did land is not repeated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from fnac_connector.carriers import AddressError, CarrierError, Party, ShipmentRequest
from fnac_connector.carriers.karrio_adapter import BookingUncertain, CredentialsRefused
from fnac_connector.carriers.registry import UnknownCarrier
from fnac_connector.choices import choice_label
from fnac_connector.errors import Conflict, InvalidInput, ServiceError
from fnac_connector.marketplace.errors import MarketplaceError
from fnac_connector.marketplace.fnac import types as fnac
from fulfilment.adapters import adapter_for_shipment, adapter_for_store, carrier_account_for_store
from fulfilment.carriers import carrier_code_validate, carrier_free_text_validate
from fulfilment.deliveries import order_payload, shipment_payload, wms_delivery_create
from fulfilment.models import CarrierBooking, Shipment, ShipmentLine, WmsDelivery, WmsEvent
from orders.models import Order, OrderLine, OrderStatus, OrderStatusChange
from orders.reservations import order_consume
from orders.services import PushResult, describe_result, orders_push_updates
from orders.status import IllegalTransition, order_flag, order_transition
from stores.clients import fnac_client_for
from stores.models import Store, SyncRun
from stores.syncs import sync_run

log = logging.getLogger(__name__)

S = OrderStatus
Source = OrderStatusChange.Source
SHIPPABLE_STATUSES = (S.NEW, S.RFP, S.PICKED, S.PACKED, S.READY_TO_SHIP)
SHIPPABLE_LINE_STATE = "ToShip"
FLAG_PREFIX = "Shipment: "
STALE_BOOKING_MINUTES = 10  # well above the carrier HTTP timeout (karrio_adapter.HTTP_TIMEOUT_SECONDS)


class AlreadyShipped(Conflict):
    """Another request shipped these lines first: nothing to record on the order."""

    code = "already_shipped"


class NothingToShip(Conflict):
    """Every line of the order is shipped, refused or refunded (a repeated request finds nothing to do)."""


class CarrierFailure(ServiceError):
    code = "carrier"
    http_status = 502


class ShippingSetupMissing(InvalidInput):
    """The store lacks something shipping needs (sender address, carrier, carrier adapter). Raised before anything
    moves; ``missing`` names the store fields, ``where`` the place on the store page to fill them in."""

    code = "shipping_setup_missing"

    def __init__(self, message: str, *, store: Store, missing: Sequence[str], where: str):
        super().__init__(message, details={"store": store.pk, "missing": list(missing), "where": where})
        self.store, self.missing, self.where = store, list(missing), where


# what a carrier needs of the sender, with the words the store page uses
SENDER_FIELDS = {"sender_address1": "street", "sender_zipcode": "zip code", "sender_city": "city",
                 "sender_country": "country"}
SENDER_WHERE = "Shipping setup › Sender address"
CARRIER_WHERE = "Shipping setup › Default carrier"
ADAPTER_WHERE = "Shipping setup › Carrier adapter"
ACCOUNT_WHERE = "Fulfilment › Carrier accounts"


def shipping_setup_check(*, store: Store, carrier_code: str, booking: bool) -> None:
    """Everything the store must provide before an order of it can go Ready to Ship, or ShippingSetupMissing saying
    exactly what to fill in and where. ``booking``: the parcel is booked with the carrier adapter (no typed
    tracking number), so the adapter and the sender address are needed too."""
    if not carrier_code:
        raise ShippingSetupMissing(
            f"Store {store.name!r} has no default carrier: choose one in {CARRIER_WHERE} on the store page "
            "(or pick a carrier on the ship form).", store=store, missing=["default_carrier_code"],
            where=CARRIER_WHERE)
    if not booking:
        return
    if not store.carrier_adapter.strip():
        raise ShippingSetupMissing(
            f"Store {store.name!r}: no carrier adapter set for this store: choose one in {ADAPTER_WHERE} on the "
            "store page (or type the tracking number).", store=store, missing=["carrier_adapter"],
            where=ADAPTER_WHERE)
    try:
        adapter_for_store(store)
    except UnknownCarrier as exc:
        raise ShippingSetupMissing(
            f"Store {store.name!r}: carrier adapter {store.carrier_adapter!r} cannot book: choose another in "
            f"{ADAPTER_WHERE} on the store page ({exc}).", store=store, missing=["carrier_adapter"],
            where=ADAPTER_WHERE) from exc
    except CarrierError as exc:  # an account without its credentials
        raise ShippingSetupMissing(
            f"Store {store.name!r}: its {store.carrier_adapter} carrier account cannot book: {exc.message}; fix it "
            f"in {ACCOUNT_WHERE}.", store=store, missing=["carrier_account"], where=ACCOUNT_WHERE) from exc
    missing = [f for f in SENDER_FIELDS if not (getattr(store, f) or "").strip()]
    if missing:
        words = ", ".join(SENDER_FIELDS[f] for f in missing)
        raise ShippingSetupMissing(
            f"Store {store.name!r} has no sender address ({words} missing): fill in {SENDER_WHERE} on the store "
            "page.", store=store, missing=missing, where=SENDER_WHERE)


def shipping_mode_of(order: Order) -> str:
    return order.shipping_mode or order.store.shipping_mode


# ================================================================ release to the warehouse
def order_release_to_warehouse(*, order: Order, user=None, source: str = Source.USER) -> Order:
    """New -> RFP (ready for pick/pack). Raises IllegalTransition (409) from any other status."""
    order = Order.objects.select_related("store").get(pk=order.pk)
    if order.status != S.NEW:
        raise IllegalTransition(f"Order {order.marketplace_order_id} is {choice_label(S, order.status)}: only a New "
                                "order (paid, stock reserved) can be released to the warehouse.",
                                details={"order": order.pk, "from": order.status, "to": S.RFP})
    with transaction.atomic():
        order_transition(order=order, to_status=S.RFP, source=source, user=user, note="Released to the warehouse")
        wms_delivery_create(store=order.store, kind=WmsDelivery.Kind.RELEASED, key=f"order:{order.pk}:released",
                            payload=order_payload(order), order=order)
    return order


# ================================================================ planning (pure checks, nothing written)
@dataclasses.dataclass
class ShipPlan:
    order: Order
    lines: list[OrderLine]
    mode: str
    carrier_code: str
    tracking_number: str  # typed by the seller; "" to book with the carrier adapter


def _live_line_ids(order: Order) -> set[int]:
    return set(ShipmentLine.objects.filter(order_line__order=order, cancelled=False)
               .values_list("order_line_id", flat=True))


def carrier_for_fnac(*, store: Store, mode: str, code: str, free_text: bool = False) -> str:
    """What goes in FNAC's ``tracking_company``: a code of the store's loaded FNAC list (as FNAC spells it), or,
    only when the seller says so (``free_text``) and ships himself, the carrier's name as typed. FNAC accepts any
    text, so without this check a typo would reach the buyer; with FNAC's label (channel) only its codes make
    sense."""
    if not free_text:
        return carrier_code_validate(store=store, code=code)
    if mode == Store.ShippingMode.CHANNEL:
        raise InvalidInput("A free-text carrier is for parcels the seller ships himself: with FNAC's carrier label "
                           "(shipped by the sales channel) pick one of FNAC's carrier codes.",
                           details={"carrier_free_text": ["not allowed in channel mode"]})
    return carrier_free_text_validate(store=store, text=code)


def ship_plan(*, order: Order, lines: Sequence[int] | None = None, tracking_number: str = "",
              carrier_code: str = "", carrier_free_text: bool = False) -> ShipPlan:
    """What would be shipped, or a clear InvalidInput/Conflict. ``lines`` are order_detail_ids (None: every
    line not shipped yet). ``carrier_free_text``: ``carrier_code`` is a carrier name typed on purpose, sent to
    FNAC as typed (self ship only)."""
    order = Order.objects.select_related("store").get(pk=order.pk)
    store = order.store
    ref = order.marketplace_order_id
    if order.status not in SHIPPABLE_STATUSES:
        raise Conflict(f"Order {ref} is {choice_label(S, order.status)}: only New, RFP, Picked, Packed or Ready to "
                       "Ship orders can be shipped.", details={"order": order.pk, "status": order.status})
    if order.fnac_state != "ToShip":
        raise Conflict(f"Order {ref} is {order.fnac_state} on FNAC: FNAC takes shipments only for paid orders "
                       "(ToShip). Sync the order first.", details={"order": order.pk, "fnac_state": order.fnac_state})
    all_lines = list(order.lines.all())
    live = _live_line_ids(order)
    by_detail = {line.order_detail_id: line for line in all_lines}
    if lines:
        wanted = list(dict.fromkeys(int(i) for i in lines))
        unknown = [i for i in wanted if i not in by_detail]
        if unknown:
            raise InvalidInput(f"Order {ref} has no line(s) {unknown}; its lines are {sorted(by_detail)}.",
                               details={"lines": [f"unknown order_detail_id {i}" for i in unknown]})
        already = [i for i in wanted if by_detail[i].pk in live or by_detail[i].state == "Shipped"]
        if already:
            raise Conflict(f"Order {ref}: line(s) {already} are already shipped.",
                           details={"lines": [f"{i} already shipped" for i in already]})
        not_open = [f"{i} ({by_detail[i].state})" for i in wanted if by_detail[i].state != SHIPPABLE_LINE_STATE]
        if not_open:
            raise Conflict(f"Order {ref}: line(s) {', '.join(not_open)} cannot be shipped (FNAC line state must "
                           "be ToShip).")
        selected = [by_detail[i] for i in wanted]
    else:
        selected = [line for line in all_lines if line.pk not in live and line.state == SHIPPABLE_LINE_STATE]
        if not selected:
            raise NothingToShip(f"Order {ref}: nothing left to ship (every line is shipped, refused or refunded).")
    mode = shipping_mode_of(order)
    tracking_number = (tracking_number or "").strip()
    account_code = ""
    if not tracking_number.strip() and not (carrier_code or "").strip():
        try:  # booking with a carrier account: FNAC must get that carrier's code
            account = carrier_account_for_store(store)
        except UnknownCarrier:
            account = None  # shipping_setup_check below says what is missing
        account_code = account.fnac_carrier_code if account is not None else ""
    code = (carrier_code or account_code or order.carrier_code or store.default_carrier_code or "").strip()
    if mode == Store.ShippingMode.CHANNEL and tracking_number:
        raise InvalidInput(f"Order {ref} is shipped by the sales channel: its tracking number comes from the "
                           "FNAC carrier label, it cannot be typed (switch the order to self ship to type one).",
                           details={"tracking_number": ["not allowed in channel mode"]})
    if carrier_free_text and not (carrier_code or "").strip():
        raise InvalidInput("Type the carrier's name to send it as free text.",
                           details={"carrier_code": ["required with carrier_free_text"]})
    shipping_setup_check(store=store, carrier_code=code, booking=not tracking_number)
    code = carrier_for_fnac(store=store, mode=mode, code=code, free_text=carrier_free_text)
    if len(code) > 100:
        raise InvalidInput(f"Carrier code {code[:20]!r}... is longer than FNAC's 100 characters.")
    if tracking_number and len(tracking_number) > 32:
        raise InvalidInput(f"Tracking number {tracking_number!r} is longer than FNAC's 32 characters.",
                           details={"tracking_number": ["at most 32 characters"]})
    return ShipPlan(order=order, lines=selected, mode=mode, carrier_code=code, tracking_number=tracking_number)


# ================================================================ booking
def _recipient(order: Order) -> Party:
    a = order.shipping_address or {}
    name = " ".join(p for p in (a.get("firstname"), a.get("lastname")) if p) or \
        f"{order.customer_firstname} {order.customer_lastname}".strip()
    return Party(name=name, company=a.get("company", ""), address1=a.get("address1", ""),
                 address2=" ".join(p for p in (a.get("address2"), a.get("address3")) if p),
                 zipcode=a.get("zipcode", ""), city=a.get("city", ""), country=a.get("country", ""),
                 phone=a.get("mobile") or a.get("phone", ""), email=order.customer_email)


def _sender(store: Store) -> Party:
    return Party(name=store.sender_name or store.name, address1=store.sender_address1, zipcode=store.sender_zipcode,
                 city=store.sender_city, country=store.sender_country, phone=store.sender_phone)


def _weight(lines: Sequence[OrderLine], default: Decimal | None = None) -> Decimal:
    """The parcel's weight: each product's weight (its field, else its ``weight_kg`` attribute), else the carrier
    account's default weight, else settings.FULFILMENT_DEFAULT_WEIGHT_KG, times the quantity."""
    default = default or Decimal(str(getattr(settings, "FULFILMENT_DEFAULT_WEIGHT_KG", "0.5")))
    total = Decimal("0")
    for line in lines:
        unit = default
        if line.product is not None and line.product.weight_kg:
            total += line.product.weight_kg * line.quantity
            continue
        if line.product is not None:
            raw = (line.product.attributes or {}).get("weight_kg")
            try:
                unit = Decimal(str(raw)) if raw not in (None, "") else default
            except ArithmeticError:
                unit = default
        total += unit * line.quantity
    return total if total > 0 else default


def _dimensions(lines: Sequence[OrderLine]) -> dict:
    """The parcel's dimensions when it holds one unit of one product whose dimensions are known (several items:
    the packer's box is unknown, so the carrier account's default dimensions apply)."""
    if len(lines) != 1 or lines[0].quantity != 1 or lines[0].product is None:
        return {}
    product = lines[0].product
    if not (product.length_cm and product.width_cm and product.height_cm):
        return {}
    return {"length_cm": product.length_cm, "width_cm": product.width_cm, "height_cm": product.height_cm}


def request_to_json(request: ShipmentRequest) -> dict:
    return {"order_id": request.order_id, "sender": dataclasses.asdict(request.sender),
            "recipient": dataclasses.asdict(request.recipient), "weight_kg": str(request.weight_kg),
            "carrier_code": request.carrier_code, "lines": [list(line) for line in request.lines],
            "reference": request.reference, "service": request.service}  # no secrets: parties and parcel only


def request_from_json(data: dict) -> ShipmentRequest:
    return ShipmentRequest(order_id=data["order_id"], sender=Party(**data["sender"]),
                           recipient=Party(**data["recipient"]), weight_kg=Decimal(data["weight_kg"]),
                           carrier_code=data["carrier_code"], lines=[tuple(x) for x in data.get("lines", [])],
                           reference=data.get("reference", ""), service=data.get("service", ""))


def _record_problem(order: Order, message: str) -> None:
    Order.objects.filter(pk=order.pk).update(last_push_error=message[:4000], updated_at=timezone.now())
    order.last_push_error = message
    order_flag(order=order, reason=FLAG_PREFIX + message[:500])


def _clear_problem(order: Order) -> None:
    fresh = Order.objects.filter(pk=order.pk).values("flag_reason").first() or {"flag_reason": ""}
    reasons = [r for r in fresh["flag_reason"].split("\n") if r and not r.startswith(FLAG_PREFIX)]
    Order.objects.filter(pk=order.pk).update(last_push_error="", flagged=bool(reasons), flag_reason="\n".join(reasons),
                                             updated_at=timezone.now())
    order.last_push_error, order.flagged, order.flag_reason = "", bool(reasons), "\n".join(reasons)


def _to_ready_to_ship(order: Order, *, source: str, user=None, note: str = "") -> None:
    if order.status == S.READY_TO_SHIP:
        return
    order_transition(order=order, to_status=S.READY_TO_SHIP, source=source, user=user,
                     note=note or "Ready to Ship")


def shipment_book(*, plan: ShipPlan, user=None, source: str = Source.USER) -> Shipment:
    """Book the parcel with the store's carrier adapter (or keep the typed tracking number), record it and move
    the order to Ready to Ship, all in one transaction: when the booking fails, the order stays where it was.
    The order row is locked so two requests cannot ship the same lines; the WMS is told after commit.

    A carrier booking is recorded (``CarrierBooking``, committed on its own) before the carrier is called, and its
    outcome after: a booking that timed out stays *uncertain* and blocks booking the order again until it is
    looked up at the carrier or a person has checked (no double booking)."""
    order, store = plan.order, plan.order.store
    adapter = account = booking = None
    if not plan.tracking_number:
        try:
            account = carrier_account_for_store(store)
            adapter = adapter_for_store(store)
        except UnknownCarrier as exc:
            raise InvalidInput(f"Store {store.name!r}: {exc}") from exc
        except CarrierError as exc:
            raise InvalidInput(f"Store {store.name!r}: its carrier account cannot book: {exc.message}; fix it in "
                               f"{ACCOUNT_WHERE}.") from exc
        booking = _booking_start(order=order, store=store, account=account, adapter=adapter)
    try:
        shipment = _shipment_book(plan=plan, user=user, source=source, adapter=adapter, account=account,
                                  booking=booking)
    except BookingUnconfirmed as exc:
        _booking_end(booking, CarrierBooking.State.UNCERTAIN, error=str(exc))
        raise
    except BaseException as exc:
        if booking is not None:
            _booking_end(booking, CarrierBooking.State.FAILED, error=str(exc) or type(exc).__name__)
        raise
    if booking is not None:
        CarrierBooking.objects.filter(pk=booking.pk).update(state=CarrierBooking.State.BOOKED,
                                                            tracking_number=shipment.tracking_number,
                                                            updated_at=timezone.now())
    return shipment


def _shipment_book(*, plan: ShipPlan, user, source: str, adapter, account, booking) -> Shipment:
    order, store = plan.order, plan.order.store
    ref = order.marketplace_order_id
    with transaction.atomic():
        Order.objects.select_for_update().filter(pk=order.pk).values_list("pk").first()
        clash = sorted(line.order_detail_id for line in plan.lines if line.pk in _live_line_ids(order))
        if clash:
            raise AlreadyShipped(f"Order {ref}: line(s) {clash} were shipped meanwhile by another request.")
        lines = list(OrderLine.objects.filter(pk__in=[line.pk for line in plan.lines]).select_related("product")
                     .order_by("order_detail_id"))
        weight = _weight(lines, default=account.default_weight_kg if account is not None else None)
        shipment = Shipment(store=store, order=order, shipping_mode=plan.mode, carrier_code=plan.carrier_code,
                            weight_kg=weight, created_by=user if getattr(user, "is_authenticated", False) else None)
        booked = None
        if plan.tracking_number:
            shipment.source, shipment.tracking_number = Shipment.Source.MANUAL, plan.tracking_number
        else:
            request = ShipmentRequest(order_id=ref, sender=_sender(store), recipient=_recipient(order),
                                      weight_kg=weight, carrier_code=plan.carrier_code, reference=booking.reference,
                                      service=account.service_for(order.shipping_method) if account else "",
                                      lines=[(line.sku, line.product_name, line.quantity) for line in lines],
                                      **_dimensions(lines))
            try:
                booked = adapter.create_shipment(request)
            except BookingUncertain as exc:
                raise BookingUnconfirmed(
                    f"Order {ref}: {exc.message}. Nothing was recorded and it will not be booked again "
                    f"automatically: check the carrier's site for reference {booking.reference}; if the parcel "
                    "exists, type its tracking number on the ship form, else mark the booking 'not booked' in "
                    "Fulfilment › Carrier bookings, then ship again.",
                    details={"booking": booking.pk, "reference": booking.reference}) from exc
            except AddressError as exc:
                raise InvalidInput(f"Order {ref}: the carrier cannot ship it: {exc.message}",
                                   details={exc.party: {exc.field: exc.message}}) from exc
            except CredentialsRefused as exc:
                raise CarrierFailure(f"Order {ref}: {exc.message}. Fix the credentials in {ACCOUNT_WHERE} "
                                     "(then 'Test connection').") from exc
            except CarrierError as exc:
                retry = " (temporary, try again later)" if exc.retryable else ""
                raise CarrierFailure(f"Order {ref}: the carrier refused the shipment{retry}: {exc}") from exc
            shipment.source, shipment.adapter = Shipment.Source.CARRIER, adapter.name or store.carrier_adapter
            shipment.carrier_account = account
            shipment.awb, shipment.tracking_number = booked.awb, booked.tracking_number
            shipment.tracking_url, shipment.label_pdf = booked.tracking_url, booked.label_pdf
            shipment.label_format = booked.label_format or "PDF"
            shipment.carrier_code = plan.carrier_code
            shipment.label_data = request_to_json(request)
        try:
            shipment.save()
            _to_ready_to_ship(order, source=source, user=user)
            Order.objects.filter(pk=order.pk).update(tracking_number=shipment.tracking_number,
                                                     updated_at=timezone.now())
            ShipmentLine.objects.bulk_create([ShipmentLine(shipment=shipment, order_line=line, quantity=line.quantity)
                                              for line in lines])
            wms_delivery_create(store=store, kind=WmsDelivery.Kind.SHIPMENT, key=f"shipment:{shipment.pk}",
                                payload=shipment_payload(shipment), order=order, shipment=shipment)
        except Exception:
            if booked is not None:
                _cancel_booking(adapter, booked.awb, store)
            raise
    return shipment


class BookingUnconfirmed(Conflict):
    """A carrier booking of this order timed out (or is in progress): it may exist at the carrier."""

    code = "booking_unconfirmed"


def _booking_start(*, order: Order, store: Store, account, adapter) -> CarrierBooking:
    """Look for an earlier booking of the order that may exist at the carrier, then record this one (the intent)
    before the carrier is called. A timed-out booking is looked up by its reference where the adapter can;
    otherwise nothing is booked again until a person has checked."""
    # a booking still "started" long after the carrier's timeout was cut short (the process died): uncertain too.
    # One started just now is another request in flight: the order lock and the line check keep it single.
    stale = timezone.now() - dt.timedelta(minutes=STALE_BOOKING_MINUTES)
    for earlier in CarrierBooking.objects.filter(
            Q(state=CarrierBooking.State.UNCERTAIN) | Q(state=CarrierBooking.State.STARTED, created_at__lt=stale),
            order=order):
        found = None
        if "lookup" in adapter.capabilities and earlier.adapter == (adapter.name or store.carrier_adapter):
            try:
                found = adapter.find_shipment(earlier.reference)
            except CarrierError as exc:
                log.info("looking up booking %s failed: %s", earlier.reference, exc.code or "error")
                found = False
            if found is None:  # the carrier says: no such booking
                _booking_end(earlier, CarrierBooking.State.RESOLVED,
                             note="looked up at the carrier before booking again: not booked")
                continue
        when = timezone.localtime(earlier.created_at).strftime("%Y-%m-%d %H:%M")
        seen = " The carrier has it: its tracking number is " + found.tracking_number + "." if found else ""
        raise BookingUnconfirmed(
            f"Order {order.marketplace_order_id}: a booking with {earlier.adapter} started at {when} (reference "
            f"{earlier.reference}) got no answer, so the parcel may exist at the carrier.{seen} Check the "
            "carrier's site; if it exists, type its tracking number on the ship form; if not, mark the booking "
            "'not booked' in Fulfilment › Carrier bookings, then ship again.",
            details={"booking": earlier.pk, "reference": earlier.reference})
    booking = CarrierBooking.objects.create(store=store, order=order, carrier_account=account,
                                            adapter=adapter.name or store.carrier_adapter,
                                            reference=f"P{order.pk}-{timezone.now():%y%m%d%H%M%S%f}"[:35])
    return booking


def _booking_end(booking: CarrierBooking, state: str, *, error: str = "", note: str = "") -> None:
    fields = {"state": state, "updated_at": timezone.now()}
    if error:
        fields["error"] = error[:2000]
    if note:
        fields["note"] = note[:2000]
    CarrierBooking.objects.filter(pk=booking.pk).update(**fields)


def carrier_booking_resolve(*, booking: CarrierBooking, note: str, user=None) -> CarrierBooking:
    """A person checked the carrier's site: the uncertain booking does not exist, the order may be booked again."""
    note = (note or "").strip()
    if not note:
        raise InvalidInput("Say what you checked on the carrier's site (a reason is required).",
                           details={"note": ["required"]})
    if booking.state not in (CarrierBooking.State.UNCERTAIN, CarrierBooking.State.STARTED):
        raise Conflict(f"Booking {booking.reference} is {booking.get_state_display()}: only an unconfirmed "
                       "booking can be marked 'not booked'.")
    who = getattr(user, "username", "") or "someone"
    _booking_end(booking, CarrierBooking.State.RESOLVED, note=f"{who}: {note}")
    booking.refresh_from_db()
    return booking


def _cancel_booking(adapter, awb: str, store: Store) -> None:
    if "cancel" not in adapter.capabilities:
        log.warning("booking %s of store %s cannot be voided with the carrier (no cancel); not handed over",
                    awb, store.pk)
        return
    try:
        adapter.cancel_shipment(awb)
    except CarrierError:
        log.warning("could not cancel booking %s of store %s after a failed save", awb, store.pk)


def shipment_void(*, shipment: Shipment, reason: str, user=None) -> Shipment:
    """Cancel a parcel FNAC has not confirmed (refused, failed, or waiting): void it with the carrier where the
    carrier allows (its capabilities say), then free its lines so they can be shipped again. A parcel FNAC shows
    Shipped cannot be voided here."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("A reason is required to cancel a shipment.", details={"reason": ["required"]})
    shipment = Shipment.objects.select_related("store", "carrier_account", "order").get(pk=shipment.pk)
    if shipment.state == Shipment.State.CANCELLED:
        raise Conflict(f"Shipment {shipment.tracking_number} is already cancelled.")
    if shipment.state == Shipment.State.CONFIRMED or shipment.lines.filter(fnac_status="OK").exists():
        raise Conflict(f"Shipment {shipment.tracking_number} is confirmed to FNAC (Shipped): it cannot be "
                       "cancelled here.")
    voided = ""
    if shipment.source == Shipment.Source.CARRIER and shipment.awb:
        try:
            adapter = adapter_for_shipment(shipment)
        except (UnknownCarrier, CarrierError) as exc:
            raise CarrierFailure(f"Shipment {shipment.tracking_number}: its carrier cannot be reached to void it "
                                 f"({exc}); nothing was changed.") from exc
        if "cancel" in adapter.capabilities:
            try:
                adapter.cancel_shipment(shipment.awb)
            except CarrierError as exc:
                raise CarrierFailure(f"Shipment {shipment.tracking_number}: the carrier refused to void it: {exc}; "
                                     "nothing was changed.") from exc
            voided = " Voided with the carrier."
        else:
            voided = " The carrier offers no void: do not hand the parcel over (an unused label is not billed)."
    with transaction.atomic():
        ShipmentLine.objects.filter(shipment=shipment).update(cancelled=True)
        Shipment.objects.filter(pk=shipment.pk).update(
            state=Shipment.State.CANCELLED, updated_at=timezone.now(),
            last_error=f"Cancelled by {getattr(user, 'username', '') or 'the seller'}: {reason}.{voided}"[:4000])
    shipment.refresh_from_db()
    return shipment


# ================================================================ the door-facing use cases
@dataclasses.dataclass
class ShipOutcome:
    order: Order
    shipment: Shipment | None = None
    error: str = ""
    exception: ServiceError | None = None

    @property
    def ok(self) -> bool:
        return self.shipment is not None and self.shipment.state == Shipment.State.CONFIRMED


def orders_ready_to_ship(*, orders: Sequence[Order], user=None, source: str = Source.USER,
                         lines: Sequence[int] | None = None, tracking_number: str = "", carrier_code: str = "",
                         carrier_free_text: bool = False, trigger: str = "") -> list[ShipOutcome]:
    """Ready to Ship for each order, then one confirmation to FNAC for all of them (25 per call).

    Bad input, a missing shipping setup or a booking the carrier refuses leaves the order untouched (status, flag,
    history) and is reported in its outcome (``exception`` typed); nothing is sent to FNAC for it."""
    outcomes: list[ShipOutcome] = []
    booked: list[Shipment] = []
    for order in orders:
        outcome = ShipOutcome(order=order)
        outcomes.append(outcome)
        try:
            plan = ship_plan(order=order, lines=lines, tracking_number=tracking_number, carrier_code=carrier_code,
                             carrier_free_text=carrier_free_text)
        except ServiceError as exc:
            outcome.error, outcome.exception = str(exc), exc
            continue
        try:
            outcome.shipment = shipment_book(plan=plan, user=user, source=source)
        except ServiceError as exc:
            outcome.error, outcome.exception = str(exc), exc
            continue
        booked.append(outcome.shipment)
    per_store: dict[int, list[Shipment]] = defaultdict(list)
    for shipment in booked:
        per_store[shipment.store_id].append(shipment)
    for shipments in per_store.values():
        shipments_confirm(store=shipments[0].store, shipments=shipments, trigger=trigger or source)
    for outcome in outcomes:
        outcome.order.refresh_from_db()
        if outcome.shipment is not None:
            outcome.shipment.refresh_from_db()
            if outcome.shipment.state != Shipment.State.CONFIRMED:
                outcome.error = outcome.shipment.last_error
    return outcomes


def order_ready_to_ship(*, order: Order, user=None, source: str = Source.USER, lines: Sequence[int] | None = None,
                        tracking_number: str = "", carrier_code: str = "", carrier_free_text: bool = False,
                        trigger: str = "") -> ShipOutcome:
    """The single-order door: raises the ServiceError when the order cannot be shipped as asked."""
    plan = ship_plan(order=order, lines=lines, tracking_number=tracking_number, carrier_code=carrier_code,
                     carrier_free_text=carrier_free_text)
    outcome = orders_ready_to_ship(orders=[plan.order], user=user, source=source, lines=lines,
                                   tracking_number=tracking_number, carrier_code=carrier_code,
                                   carrier_free_text=carrier_free_text, trigger=trigger)[0]
    if outcome.shipment is None:
        raise outcome.exception or Conflict(outcome.error or "Nothing was shipped.")
    return outcome


# ================================================================ confirmation to FNAC
def _errors_text(errors) -> str:
    return "; ".join(f"{e.code}: {e.message}" if e.code else e.message for e in errors)


def shipments_confirm(*, store: Store, shipments: Sequence[Shipment], trigger: str = "", client=None) -> SyncRun:
    """Tell FNAC the lines are Shipped (one ``update`` per order, every live line of the given shipments not yet
    confirmed, each with its own tracking) and apply its answer per order and per line."""
    ids = [s.pk for s in shipments]
    by_order: dict[int, list[ShipmentLine]] = defaultdict(list)
    for sl in (ShipmentLine.objects.filter(shipment_id__in=ids, cancelled=False).exclude(fnac_status="OK")
               .select_related("shipment", "order_line", "shipment__order").order_by("shipment_id", "id")):
        by_order[sl.shipment.order_id].append(sl)
    with sync_run(store=store, kind=SyncRun.Kind.ORDERS_UPDATE, trigger=trigger,
                  params={"shipments": ids[:200]}) as rec:
        rec.set_total(len(by_order))
        order_ids = list(by_order)
        orders = {o.pk: o for o in Order.objects.filter(pk__in=order_ids).select_related("store")}
        updates = [fnac.OrderUpdate(order_id=orders[oid].marketplace_order_id, action="update", lines=[
            fnac.LineUpdate(action="Shipped", order_detail_id=sl.order_line.order_detail_id,
                            tracking_number=sl.shipment.tracking_number, tracking_company=sl.shipment.carrier_code)
            for sl in by_order[oid]]) for oid in order_ids]
        Shipment.objects.filter(pk__in=ids).exclude(
            state__in=[Shipment.State.CONFIRMED, Shipment.State.CANCELLED]).update(state=Shipment.State.PENDING)
        results = orders_push_updates(store=store, updates=updates, client=client) if updates else []
        for oid, result in zip(order_ids, results, strict=True):
            order = orders[oid]
            ok = _apply_confirmation(order, by_order[oid], result, describe_result(result))
            rec.count("confirmed_orders" if ok else "refused_orders")
            if not ok:
                rec.issue("shipment_refused", f"Order {order.marketplace_order_id}: {order.last_push_error}",
                          reference=order.marketplace_order_id,
                          details=result.failure.as_details() if result.failure else None)
        rec.advance(len(order_ids))
    return rec.run


def _apply_confirmation(order: Order, shipment_lines: list[ShipmentLine], result: PushResult,
                        description: str) -> bool:
    now = timezone.now()
    # FNAC could not be asked (or did not answer about the order): the confirmation is sent again later
    transient = result.failure is not None and result.failure.transient and not result.lines
    line_results = {lr.order_detail_id: lr for lr in result.lines}
    order_level_ok = result.status in ("OK", "WARNING") and not result.errors
    with transaction.atomic():
        confirmed_lines: list[ShipmentLine] = []
        per_shipment: dict[int, list[bool]] = defaultdict(list)
        for sl in shipment_lines:
            lr = line_results.get(sl.order_line.order_detail_id)
            if lr is not None:
                ok = lr.status == "OK" and not lr.errors
                error = _errors_text(lr.errors) or ("" if ok else f"line status {lr.status}")
            else:
                ok = order_level_ok and result.status == "OK"
                error = "" if ok else (_errors_text(result.errors) or f"order status {result.status}")
            sl.fnac_status, sl.fnac_error = ("OK" if ok else "ERROR"), error[:2000]
            per_shipment[sl.shipment_id].append(ok)
            if ok:
                confirmed_lines.append(sl)
        ShipmentLine.objects.bulk_update(shipment_lines, ["fnac_status", "fnac_error"], batch_size=500)
        for sl in confirmed_lines:
            OrderLine.objects.filter(pk=sl.order_line_id).update(
                state="Shipped", tracking_number=sl.shipment.tracking_number,
                tracking_company=sl.shipment.carrier_code, shipped_at=now)
        if confirmed_lines:
            order_consume(order=order, lines=[sl.order_line_id for sl in confirmed_lines])
        for shipment_id, oks in per_shipment.items():
            fields = {"attempts": F("attempts") + 1, "fnac_state": result.state or "", "updated_at": now}
            if all(oks):
                fields.update(state=Shipment.State.CONFIRMED, confirmed_at=now, last_error="")
            else:
                fields.update(state=Shipment.State.FAILED if transient else Shipment.State.REFUSED,
                              last_error=description[:4000] or "FNAC refused the confirmation")
            Shipment.objects.filter(pk=shipment_id).update(**fields)
        all_ok = all(ok for oks in per_shipment.values() for ok in oks)
        if result.state:
            Order.objects.filter(pk=order.pk).update(fnac_state=result.state)
            order.fnac_state = result.state
        if all_ok:
            _clear_problem(order)
        elif transient:
            Order.objects.filter(pk=order.pk).update(last_push_error=description[:4000], updated_at=now)
            order.last_push_error = description
        else:
            _record_problem(order, f"FNAC refused the shipment confirmation: {description}")
        if result.state == "Shipped" or (all_ok and not _open_lines_left(order)):
            current = Order.objects.filter(pk=order.pk).values_list("status", flat=True).first()
            if current in (S.READY_TO_SHIP, S.PACKED, S.PICKED, S.RFP, S.NEW):
                order_transition(order=order, to_status=S.IN_TRANSIT, source=Source.MARKETPLACE,
                                 note="FNAC confirmed the shipment (Shipped)")
    return all_ok


def _open_lines_left(order: Order) -> bool:
    return OrderLine.objects.filter(order=order, state=SHIPPABLE_LINE_STATE).exists()


# ================================================================ retrying
def _landed(store: Store, order: Order, client) -> dict[int, tuple[str, str]]:
    """FNAC's current line states and tracking numbers for the order ({} when it cannot be read now)."""
    try:
        page = client.orders_query_page(order_ids=[order.marketplace_order_id], page_size=1, sort=None)
    except MarketplaceError as exc:
        log.info("re-reading order %s before a retry failed: %s", order.marketplace_order_id, exc)
        return {}
    for item in page.orders:
        if isinstance(item, fnac.Order) and item.order_id == order.marketplace_order_id:
            return {line.order_detail_id: (line.state, line.tracking_number) for line in item.lines}
    return {}


def order_shipments_retry(*, order: Order, carrier_code: str = "", carrier_free_text: bool = False, user=None,
                          trigger: str = "", client=None) -> list[Shipment]:
    """Send again the confirmations of the order's refused or failed shipments, optionally with a corrected
    FNAC carrier code (or, ``carrier_free_text``, a carrier name typed on purpose). Lines FNAC already shows
    Shipped with the same tracking number count as confirmed."""
    order = Order.objects.select_related("store").get(pk=order.pk)
    store = order.store
    shipments = list(order.shipments.filter(state__in=[Shipment.State.REFUSED, Shipment.State.FAILED]))
    if not shipments:
        raise Conflict(f"Order {order.marketplace_order_id} has no refused or failed shipment confirmation to retry.")
    code = (carrier_code or "").strip()
    if carrier_free_text and not code:
        raise InvalidInput("Type the carrier's name to send it as free text.",
                           details={"carrier_code": ["required with carrier_free_text"]})
    if code:
        code = carrier_for_fnac(store=store, mode=shipping_mode_of(order), code=code, free_text=carrier_free_text)
        if len(code) > 100:
            raise InvalidInput("carrier_code is longer than FNAC's 100 characters.")
        Shipment.objects.filter(pk__in=[s.pk for s in shipments]).update(carrier_code=code)
        for s in shipments:
            s.carrier_code = code
    client = client or fnac_client_for(store)
    landed = _landed(store, order, client)
    if landed:
        now = timezone.now()
        for s in shipments:
            for sl in s.lines.filter(cancelled=False).exclude(fnac_status="OK").select_related("order_line"):
                state, number = landed.get(sl.order_line.order_detail_id, ("", ""))
                if state in ("Shipped", "Received", "NotReceived") and number == s.tracking_number:
                    ShipmentLine.objects.filter(pk=sl.pk).update(fnac_status="OK", fnac_error="")
                    OrderLine.objects.filter(pk=sl.order_line_id).update(
                        state=state, tracking_number=s.tracking_number, tracking_company=s.carrier_code,
                        shipped_at=now)
            if not s.lines.filter(cancelled=False).exclude(fnac_status="OK").exists():
                Shipment.objects.filter(pk=s.pk).update(state=Shipment.State.CONFIRMED, confirmed_at=now,
                                                        last_error="")
    remaining = [s for s in shipments
                 if Shipment.objects.filter(pk=s.pk).values_list("state", flat=True).first() != "confirmed"]
    if remaining:
        shipments_confirm(store=store, shipments=remaining, trigger=trigger or "retry", client=client)
    else:
        with transaction.atomic():
            _clear_problem(order)
            order_consume(order=order, lines=list(ShipmentLine.objects.filter(
                shipment__in=shipments, cancelled=False).values_list("order_line_id", flat=True)))
            if not _open_lines_left(order) and order.status in SHIPPABLE_STATUSES:
                order_transition(order=order, to_status=S.IN_TRANSIT, source=Source.MARKETPLACE,
                                 note="FNAC already shows the shipment")
    for s in shipments:
        s.refresh_from_db()
    return shipments


def stores_with_failed_confirmations() -> list[int]:
    """Connected stores holding a shipment confirmation that could not reach FNAC (one query)."""
    return sorted(set(Shipment.objects.filter(state=Shipment.State.FAILED, store__status=Store.Status.CONNECTED)
                      .values_list("store_id", flat=True).distinct()))


def shipments_retry_failed(*, store: Store, trigger: str = "schedule", limit: int = 200) -> int:
    """The periodic safety net: confirmations that could not reach FNAC are sent again (refusals wait for a
    person to fix them). Returns how many orders were retried."""
    order_ids = list(Shipment.objects.filter(store=store, state=Shipment.State.FAILED)
                     .values_list("order_id", flat=True).distinct()[:limit])
    for order in Order.objects.filter(pk__in=order_ids).select_related("store"):
        try:
            order_shipments_retry(order=order, trigger=trigger)
        except ServiceError as exc:
            log.info("retrying the shipment confirmation of order %s failed: %s", order.pk, exc)
    return len(order_ids)


# ================================================================ the warehouse door
def order_ship_on_wms_event(*, order_id: int, lines: Sequence[int] | None = None, event_pk: int | None = None) -> str:
    """A WMS event asked for Ready to Ship: the shipping steps. A problem is kept on the order and the event
    (the warehouse cannot see an exception). Returns what happened, in words."""
    order = Order.objects.filter(pk=order_id).select_related("store").first()
    if order is None:
        return "order gone"
    outcome = orders_ready_to_ship(orders=[order], lines=lines or None, source=Source.WAREHOUSE, trigger="wms")[0]
    if outcome.error:
        if outcome.shipment is None and isinstance(outcome.exception, NothingToShip):
            return "nothing left to ship"  # a repeated task: the first one shipped everything
        if outcome.shipment is None:  # flag reasons are not repeated, so a booking problem is kept once
            _record_problem(outcome.order, outcome.error)
        if event_pk:
            WmsEvent.objects.filter(pk=event_pk).update(note=f"Shipping failed: {outcome.error}"[:4000])
        return outcome.error
    return f"shipped {outcome.shipment.tracking_number}"
