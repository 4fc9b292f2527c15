import datetime as dt
import re
import threading
from decimal import Decimal

import pytest

from fnac_connector.carriers import (
    TRACKING_NUMBER_MAX_LENGTH,
    AddressError,
    CarrierAdapter,
    CarrierError,
    Shipment,
    ShipmentLine,
    UnknownCarrier,
    get_adapter,
    register,
    registry,
)
from fnac_connector.carriers.sandbox import SandboxCarrier
from fnac_connector.carriers.sandbox_tracking import stamp

from .factories import party, sender, shipment_request
from .pdfcheck import pages, text_strings

UPPER_ALNUM = re.compile(r"[A-Z0-9]+")


@pytest.fixture
def carrier():
    return SandboxCarrier(namespace="T1")


def test_create_shipment_returns_tracking_awb_and_label(carrier):
    shipment = carrier.create_shipment(shipment_request(carrier_code="CHRONOPOST"))

    assert shipment.carrier_code == "CHRONOPOST"
    # prefix, booking minute (base36), namespace, counter
    assert re.fullmatch(r"CP[0-9A-Z]{6}T10000001", shipment.tracking_number)
    assert shipment.awb == "SBXT10000001"
    assert shipment.tracking_url.endswith(f"/{shipment.tracking_number}")
    assert shipment.label_pdf.startswith(b"%PDF")
    [page] = pages(shipment.label_pdf)
    assert shipment.tracking_number in text_strings(page.content)


def test_numbers_are_unique_uppercase_alnum_and_fit_fnac_limit(carrier):
    shipments = [
        carrier.create_shipment(shipment_request(carrier_code=code))
        for code in ["LAPOSTE", "COLISSIMO", "CHRONOPOST", "UPS", "GLS", "DHL", "TNT", "some carrier"] * 5
    ]
    tracking = [s.tracking_number for s in shipments]
    awbs = [s.awb for s in shipments]

    assert len(set(tracking)) == len(tracking)
    assert len(set(awbs)) == len(awbs)
    for number in tracking + awbs:
        assert UPPER_ALNUM.fullmatch(number), number
        assert len(number) <= TRACKING_NUMBER_MAX_LENGTH
    assert shipments[3].tracking_number.startswith("1Z")  # UPS look-alike
    assert shipments[7].carrier_code == "SOME CARRIER"
    assert shipments[7].tracking_number.startswith("SO")


def test_numbers_are_deterministic_per_namespace_and_differ_across_instances():
    clock = lambda: dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)  # noqa: E731
    first = [SandboxCarrier(namespace="ab1", clock=clock).create_shipment(shipment_request()) for _ in range(2)]
    assert first[0].tracking_number == first[1].tracking_number == f"CO{stamp(clock())}AB10000001"

    a, b = SandboxCarrier(), SandboxCarrier()  # random namespaces, as in two worker processes
    assert a.namespace != b.namespace
    assert (
        a.create_shipment(shipment_request()).tracking_number
        != b.create_shipment(shipment_request()).tracking_number
    )


def test_longest_namespace_still_fits_fnac_limit():
    shipment = SandboxCarrier(namespace="Z" * 16).create_shipment(shipment_request(carrier_code="UPS"))
    assert len(shipment.tracking_number) == 2 + 6 + 16 + 7 <= TRACKING_NUMBER_MAX_LENGTH


def test_namespace_must_be_alnum():
    with pytest.raises(ValueError):
        SandboxCarrier(namespace="no-dash")


def test_concurrent_creates_get_distinct_numbers(carrier):
    results: list[Shipment] = []

    def book():
        for _ in range(5):
            results.append(carrier.create_shipment(shipment_request()))

    threads = [threading.Thread(target=book) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({s.tracking_number for s in results}) == 20
    assert len(carrier.shipments()) == 20


@pytest.mark.parametrize("field", ["name", "address1", "zipcode", "city", "country"])
def test_missing_recipient_field_is_named(carrier, field):
    with pytest.raises(AddressError) as caught:
        carrier.create_shipment(shipment_request(recipient=party(**{field: "  "})))

    assert caught.value.field == field
    assert caught.value.party == "recipient"
    assert field in str(caught.value)
    assert caught.value.retryable is False
    assert carrier.shipments() == []  # nothing booked


@pytest.mark.parametrize("zipcode", ["6900", "690011", "69OO1", "69 001"])
def test_french_zipcode_must_be_five_digits(carrier, zipcode):
    with pytest.raises(AddressError) as caught:
        carrier.create_shipment(shipment_request(recipient=party(zipcode=zipcode)))
    assert caught.value.field == "zipcode"
    assert zipcode in str(caught.value)


def test_french_overseas_zipcode_is_checked_too(carrier):
    with pytest.raises(AddressError):
        carrier.create_shipment(shipment_request(recipient=party(country="REU", zipcode="9740")))
    reunion = party(country="REU", zipcode="97400", city="Saint-Denis")
    assert carrier.create_shipment(shipment_request(recipient=reunion)).tracking_number


def test_foreign_zipcodes_are_not_held_to_french_rule(carrier):
    shipment = carrier.create_shipment(
        shipment_request(recipient=party(country="BEL", zipcode="1000", city="Bruxelles"))
    )
    assert shipment.tracking_number


@pytest.mark.parametrize("country", ["FR", "FRANCE", "F1A"])
def test_country_must_be_alpha3(carrier, country):
    with pytest.raises(AddressError) as caught:
        carrier.create_shipment(shipment_request(recipient=party(country=country)))
    assert caught.value.field == "country"


def test_lower_case_country_is_accepted(carrier):
    carrier.create_shipment(shipment_request(recipient=party(country="fra")))


def test_bad_sender_is_reported_as_sender(carrier):
    with pytest.raises(AddressError) as caught:
        carrier.create_shipment(shipment_request(sender=sender(city="")))
    assert (caught.value.party, caught.value.field) == ("sender", "city")


def test_address_error_is_a_carrier_error(carrier):
    with pytest.raises(CarrierError):
        carrier.create_shipment(shipment_request(recipient=party(name="")))


@pytest.mark.parametrize("weight", ["0", "-1"])
def test_weight_must_be_positive(carrier, weight):
    with pytest.raises(CarrierError) as caught:
        carrier.create_shipment(shipment_request(weight_kg=Decimal(weight)))
    assert caught.value.code == "BAD_WEIGHT"
    assert not caught.value.retryable


def test_carrier_code_is_required(carrier):
    with pytest.raises(CarrierError) as caught:
        carrier.create_shipment(shipment_request(carrier_code=" "))
    assert caught.value.code == "CARRIER_REQUIRED"


def test_cancel_marks_shipment_cancelled(carrier):
    shipment = carrier.create_shipment(shipment_request())
    other = carrier.create_shipment(shipment_request())

    carrier.cancel_shipment(shipment.awb)

    assert carrier.is_cancelled(shipment.awb)
    assert not carrier.is_cancelled(other.awb)


def test_cancel_unknown_awb_raises(carrier):
    carrier.create_shipment(shipment_request())
    with pytest.raises(CarrierError) as caught:
        carrier.cancel_shipment("SBXNOPE0000001")
    assert caught.value.code == "UNKNOWN_AWB"
    assert not caught.value.retryable


def test_cancel_by_tracking_number_is_unknown(carrier):
    # The AWB is the handle, not the tracking number; mixing them up must not pass silently.
    shipment = carrier.create_shipment(shipment_request())
    with pytest.raises(CarrierError):
        carrier.cancel_shipment(shipment.tracking_number)


def test_cancel_twice_raises(carrier):
    shipment = carrier.create_shipment(shipment_request())
    carrier.cancel_shipment(shipment.awb)
    with pytest.raises(CarrierError) as caught:
        carrier.cancel_shipment(shipment.awb)
    assert caught.value.code == "ALREADY_CANCELLED"


def test_other_instance_does_not_know_the_awb(carrier):
    shipment = carrier.create_shipment(shipment_request())
    with pytest.raises(CarrierError):
        SandboxCarrier(namespace="T1").cancel_shipment(shipment.awb)


def test_request_normalises_lines_and_weight():
    request = shipment_request(lines=[["SKU-9", "Thing", 3]], weight_kg=2)
    assert request.lines == (ShipmentLine(sku="SKU-9", name="Thing", quantity=3),)
    assert request.weight_kg == Decimal("2")
    with pytest.raises(ValueError):
        shipment_request(weight_kg="heavy")


def test_shipment_refuses_tracking_number_over_fnac_limit():
    with pytest.raises(ValueError):
        Shipment(awb="A", tracking_number="X" * 33, carrier_code="UPS", label_pdf=b"")


class TestRegistry:
    @pytest.fixture(autouse=True)
    def clean_registry(self):
        factories = dict(registry._factories)
        registry.reset()
        yield
        registry._factories.clear()
        registry._factories.update(factories)
        registry.reset()

    def test_sandbox_is_registered_and_cached_so_cancel_works_across_calls(self):
        adapter = get_adapter("sandbox")
        assert isinstance(adapter, SandboxCarrier)
        shipment = adapter.create_shipment(shipment_request())

        get_adapter(" Sandbox ").cancel_shipment(shipment.awb)

        assert adapter.is_cancelled(shipment.awb)

    def test_unknown_name_lists_known_ones(self):
        with pytest.raises(UnknownCarrier, match="sandbox"):
            get_adapter("colissimo")

    def test_register_a_real_carrier(self):
        class Fake(CarrierAdapter):
            def create_shipment(self, request):
                raise CarrierError("down", retryable=True)

            def cancel_shipment(self, awb):
                pass

        register("colissimo", Fake)
        assert isinstance(get_adapter("COLISSIMO"), Fake)
        assert "colissimo" in registry.registered()

    def test_registering_a_taken_name_needs_replace(self):
        with pytest.raises(ValueError):
            register("sandbox", SandboxCarrier)
        original = get_adapter("sandbox")
        register("sandbox", lambda: SandboxCarrier(namespace="NEW"), replace=True)
        assert get_adapter("sandbox") is not original
        assert get_adapter("sandbox").namespace == "NEW"

    def test_interface_is_abstract(self):
        with pytest.raises(TypeError):
            CarrierAdapter()
