"""Carrier accounts: create/update with checked settings, secrets encrypted and never shown or logged whole, and
"Test connection" (a cheap authenticated call to the carrier, recorded on the account).

Which call each carrier's test makes is in ``fnac_connector.carriers.karrio_adapter.CARRIERS[...].test_connection``.
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from fnac_connector.carriers import CarrierError
from fnac_connector.carriers.karrio_adapter import CARRIERS, LABEL_FORMATS
from fnac_connector.errors import Conflict, InvalidInput
from fulfilment.adapters import adapter_for_account
from fulfilment.carriers import carrier_code_validate
from fulfilment.models import CarrierAccount
from stores.models import Store

log = logging.getLogger(__name__)

DECIMAL_FIELDS = ("default_weight_kg", "default_length_cm", "default_width_cm", "default_height_cm")
PLAIN_FIELDS = ("name", "active", "test_mode", "service", "services_by_method", "fnac_carrier_code", "label_format")


def carrier_fields(carrier: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(secret fields, plain setting fields) a carrier's account takes."""
    spec = CARRIERS.get(carrier)
    return (spec.credential_fields, spec.setting_fields) if spec else ((), ())


def _split_values(carrier: str, values: dict) -> tuple[dict, dict, dict]:
    """``values`` (one flat dict, as the command's key=value pairs or the API body give them) into the account's
    own fields, its non-secret settings and its secrets; an unknown key is an error naming the known ones."""
    secret_keys, setting_keys = carrier_fields(carrier)
    own, settings, secrets, unknown = {}, {}, {}, []
    for key, value in values.items():
        if key in PLAIN_FIELDS or key in DECIMAL_FIELDS:
            own[key] = value
        elif key in secret_keys:
            secrets[key] = "" if value is None else str(value).strip()
        elif key in setting_keys:
            settings[key] = "" if value is None else str(value).strip()
        else:
            unknown.append(key)
    if unknown:
        known = sorted({*PLAIN_FIELDS, *DECIMAL_FIELDS, *secret_keys, *setting_keys})
        raise InvalidInput(f"Unknown setting(s) {', '.join(sorted(unknown))} for a {carrier} account; known: "
                           f"{', '.join(known)}.", details={k: ["unknown setting"] for k in unknown})
    return own, settings, secrets


def _apply(account: CarrierAccount, own: dict, settings: dict, secrets: dict) -> None:
    errors: dict[str, list[str]] = {}
    for key in PLAIN_FIELDS:
        if key in own:
            setattr(account, key, own[key])
    for key in DECIMAL_FIELDS:
        if key in own:
            raw = own[key]
            try:
                value = None if raw in (None, "") else Decimal(str(raw))
            except InvalidOperation:
                errors[key] = [f"not a number: {raw!r}"]
                continue
            if value is not None and value <= 0:
                errors[key] = ["must be positive"]
                continue
            setattr(account, key, value)
    account.settings = {**(account.settings or {}), **settings}
    if secrets:
        merged = {**account.secret_values(), **{k: v for k, v in secrets.items()}}
        account.secrets = json.dumps({k: v for k, v in merged.items() if v}, sort_keys=True)
    spec = CARRIERS.get(account.carrier)
    if account.label_format not in LABEL_FORMATS:
        errors["label_format"] = [f"one of {', '.join(LABEL_FORMATS)}"]
    if not isinstance(account.services_by_method, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in (account.services_by_method or {}).items()):
        errors["services_by_method"] = ['an object of FNAC shipping method -> carrier service, e.g. {"21": "..."}']
    if spec is not None:
        known_services = set(spec.services)
        for service in [account.service, *(account.services_by_method or {}).values()]:
            if service and service not in known_services:
                errors.setdefault("service", []).append(
                    f"{service!r} is not a {spec.label} service; known: {', '.join(sorted(known_services))}")
        present = {**(account.settings or {}), **account.secret_values()}
        missing = [f for f in spec.required if not str(present.get(f) or "").strip()]
        if missing:
            errors["settings"] = [f"{spec.label} needs {', '.join(missing)}"]
    if not (account.name or "").strip():
        errors["name"] = ["required"]
    if errors:
        raise InvalidInput("The carrier account is not valid: " + "; ".join(
            f"{k}: {', '.join(v)}" for k, v in errors.items()), details=errors)
    if account.fnac_carrier_code:
        account.fnac_carrier_code = carrier_code_validate(store=account.store, code=account.fnac_carrier_code)


def carrier_account_prepare(*, account: CarrierAccount, values: dict) -> CarrierAccount:
    """Set ``values`` on ``account`` (new or not, not saved) and check them all, or InvalidInput naming each bad
    one. A new account of a real carrier gets the store's FNAC code for that carrier unless one is given."""
    carrier = (account.carrier or "").strip().lower()
    valid = [c.value for c in CarrierAccount.CarrierName]
    if carrier not in valid:
        raise InvalidInput(f"Unknown carrier {carrier!r}; choose one of: {', '.join(valid)}.",
                           details={"carrier": ["unknown carrier"]})
    if getattr(account, "store", None) is None:
        raise InvalidInput("A carrier account needs its store.", details={"store": ["required"]})
    account.carrier = carrier
    own, settings, secrets = _split_values(carrier, values)
    if account.pk is None and carrier in CARRIERS and not own.get("fnac_carrier_code"):
        own["fnac_carrier_code"] = _default_fnac_code(account.store, carrier)
    _apply(account, own, settings, secrets)
    return account


def carrier_account_create(*, store: Store, carrier: str, values: dict) -> CarrierAccount:
    account = CarrierAccount(store=store, carrier=(carrier or "").strip().lower())
    carrier_account_prepare(account=account, values=values)
    return carrier_account_save(account=account)


def carrier_account_update(*, account: CarrierAccount, values: dict) -> CarrierAccount:
    account = CarrierAccount.objects.select_related("store").get(pk=account.pk)
    carrier_account_prepare(account=account, values=values)
    return carrier_account_save(account=account)


def carrier_account_save(*, account: CarrierAccount) -> CarrierAccount:
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as exc:
        raise Conflict(f"Store {account.store.name!r} already has an account named {account.name!r} or an active "
                       f"{account.get_carrier_display()} account: deactivate the other one first.") from exc
    return account


def _default_fnac_code(store: Store, carrier: str) -> str:
    """The store's FNAC carrier code for this carrier, when its FNAC list has it ("" otherwise)."""
    listed = {code.upper(): code for code in store.carriers.filter(active=True).values_list("code", flat=True)}
    for wanted in CARRIERS[carrier].fnac_codes or (CARRIERS[carrier].fnac_code,):
        if wanted.upper() in listed:
            return listed[wanted.upper()]
    return ""


def carrier_account_test(*, account: CarrierAccount) -> CarrierAccount:
    """Test connection: one cheap authenticated call; the outcome is kept on the account (never the secrets)."""
    account = CarrierAccount.objects.select_related("store").get(pk=account.pk)
    try:
        adapter = adapter_for_account(account)
        if account.carrier in CARRIERS:
            message, ok = adapter.test_connection(), True
        else:
            message, ok = "The sandbox carrier books nothing: there is nothing to connect to.", True
    except CarrierError as exc:
        kind = "temporary" if exc.retryable else "refused"
        message, ok = f"Connection test failed ({kind}): {exc}", False
        log.info("carrier account %s test failed: %s", account.pk, exc.code or "error")
    CarrierAccount.objects.filter(pk=account.pk).update(last_test_at=timezone.now(), last_test_ok=ok,
                                                        last_test_message=message[:2000])
    account.refresh_from_db()
    return account
