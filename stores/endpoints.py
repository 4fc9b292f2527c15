"""Where a store's keys and secrets may be sent: the allowed hosts of each outbound URL.

A store's FNAC key travels in the body of FNAC's ``auth`` call (and the token it buys in every call after),
its Mirakl key in the ``Authorization`` header of every Mirakl call, and its WMS secret signs every message
to the WMS webhook. So each base URL may only point at a host meant for it:

- FNAC: FNAC's production and test hosts (``FNAC_HOSTS``), https, default port;
- Mirakl: a host under ``.mirakl.net``, https, default port;
- WMS webhook: any public host over https (never a loopback, private or link-local address);
- plus the hosts of ``settings.MARKETPLACE_EXTRA_HOSTS`` (``host`` or ``host:port``, http allowed), for the
  loopback sandbox of the demo and the tests, or an operator's own proxy.

Checked when a URL is saved (``stores.services``) and again right before any call that carries a key
(``stores.clients``, ``fulfilment.deliveries``), so a URL stored before these rules cannot leak a key either.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from fnac_connector.marketplace.errors import MarketplaceError

FNAC_HOSTS = ("vendeur.fnac.com", "partners-test.mp.fnacdarty.com")
MIRAKL_HOST_SUFFIX = ".mirakl.net"

FNAC, MIRAKL, WMS = "fnac", "mirakl", "wms"
# the URL field of each kind, and the secret that must never follow a URL change to a new host
URL_FIELDS = {FNAC: "fnac_base_url", MIRAKL: "mirakl_base_url", WMS: "wms_webhook_url"}
SECRET_OF_URL = {"fnac_base_url": "fnac_key", "mirakl_base_url": "mirakl_api_key", "wms_webhook_url": "wms_secret"}
LABELS = {FNAC: "FNAC API URL", MIRAKL: "Mirakl API URL", WMS: "WMS webhook URL"}
ALLOWED = {FNAC: " or ".join(FNAC_HOSTS), MIRAKL: f"a host under {MIRAKL_HOST_SUFFIX}", WMS: "a public host"}


class EndpointNotAllowed(MarketplaceError):
    """A store's URL points at a host its keys must not be sent to; nothing was sent. Not retryable: the URL
    must be changed (and the keys entered again)."""


def extra_hosts() -> list[tuple[str, int | None]]:
    """``settings.MARKETPLACE_EXTRA_HOSTS`` as (host, port or None for any port)."""
    out = []
    for entry in getattr(settings, "MARKETPLACE_EXTRA_HOSTS", ()) or ():
        entry = str(entry).strip().lower()
        if not entry:
            continue
        if entry.startswith("["):  # [::1]:8100
            host, _, rest = entry[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        else:
            host, port = entry, ""
        out.append((host.rstrip("."), int(port) if port.isdigit() else None))
    return out


def _is_extra(host: str, port: int | None) -> bool:
    return any(h == host and (p is None or p == port) for h, p in extra_hosts())


def _default_port(port: int | None, scheme: str) -> bool:
    return port is None or (scheme == "https" and port == 443)


def url_problem(url: str, *, kind: str) -> str | None:
    """Why ``url`` may not receive the keys of ``kind`` (``fnac``, ``mirakl``, ``wms``), or None when it may.
    An empty URL is a problem for FNAC and Mirakl only (a store without a WMS has no webhook URL)."""
    url = (url or "").strip()
    if not url:
        return None if kind == WMS else "is required"
    if any(c.isspace() or ord(c) < 32 or c == "\\" for c in url):
        return "must not contain spaces, control characters or backslashes"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an https:// URL with a host name"
    if "@" in parts.netloc:
        return "must not contain a user name or password"
    host = parts.hostname.rstrip(".")
    if _is_extra(host, port if port is not None else (443 if parts.scheme == "https" else 80)):
        return None
    hint = f"allowed: {ALLOWED[kind]}, or a host listed in MARKETPLACE_EXTRA_HOSTS"
    if kind == FNAC:
        if host not in FNAC_HOSTS:
            return f"host {host!r} is not an FNAC host ({hint})"
    elif kind == MIRAKL:
        if not (host.endswith(MIRAKL_HOST_SUFFIX) and len(host) > len(MIRAKL_HOST_SUFFIX)):
            return f"host {host!r} is not a Mirakl host ({hint})"
    elif _private_host(host):
        return f"host {host!r} is a loopback, private or local address ({hint})"
    if parts.scheme != "https":
        return f"must use https (not {parts.scheme}): keys and secrets never travel in clear"
    if kind != WMS and not _default_port(port, parts.scheme):
        return f"must use the default https port, not {port}"
    return None


def _private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost") or host.endswith(".local"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def resolved_problem(url: str, *, kind: str) -> str | None:
    """Why ``url``'s host, as DNS resolves it right now, may not receive a WMS message, or None. A public name
    that resolves to a loopback, private or link-local address (an internal service behind a public-looking name)
    is refused like the address itself. Checked right before each delivery (``fulfilment.deliveries``); a name
    that does not resolve is left to the call itself, which fails with its own error. What is not covered: a
    name whose answer changes between this check and the connection (DNS rebinding within seconds)."""
    if kind != WMS:
        return None  # FNAC's and Mirakl's hosts are fixed names, checked by name
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None  # url_problem says why
    host = (parts.hostname or "").rstrip(".")
    if not host or _is_extra(host, port):
        return None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None
    for info in infos:
        address = info[4][0]
        if _private_host(address.split("%")[0]):
            return f"host {host!r} resolves to {address}, a loopback, private or local address"
    return None


def store_url_problems(values: dict) -> dict[str, list[str]]:
    """Per-field errors of the URL fields present in ``values`` (field name -> [message])."""
    errors = {}
    for kind, field in URL_FIELDS.items():
        if field in values:
            problem = url_problem(values[field], kind=kind)
            if problem:
                errors[field] = [f"{LABELS[kind]}: {problem}."]
    return errors


def require_allowed(url: str, *, kind: str) -> None:
    """Raise EndpointNotAllowed (nothing sent) unless ``url`` may receive the keys of ``kind``."""
    problem = url_problem(url, kind=kind)
    if problem:
        raise EndpointNotAllowed(f"{LABELS[kind]} refused, nothing was sent: {problem}. Change the URL in the "
                                 "store settings and enter the keys again.")
