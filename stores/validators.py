"""What marketplace identifiers and keys may contain.

FNAC's Partner ID, Shop ID and key travel inside XML (``auth``) and the Mirakl key in an HTTP header
(``Authorization``). Both are UUID-like tokens; a control character, a space or a character outside ASCII
cannot be sent in a header or breaks the XML, so such a value is refused where it is entered, naming the field.
"""

from __future__ import annotations

import re

# printable ASCII without spaces, as every FNAC and Mirakl identifier and key is
_TOKEN = re.compile(r"[\x21-\x7e]+")
MAX_TOKEN_LENGTH = 256
CREDENTIAL_TEXT_FIELDS = ("partner_id", "shop_id", "fnac_key", "mirakl_api_key")


def token_problem(value: str | None) -> str | None:
    """Why ``value`` cannot be sent as a marketplace identifier or key, or None (empty is left to the caller)."""
    if not value:
        return None
    if len(value) > MAX_TOKEN_LENGTH:
        return f"at most {MAX_TOKEN_LENGTH} characters"
    if not _TOKEN.fullmatch(value):
        return ("only printable ASCII characters without spaces (it is sent in XML and HTTP headers): "
                "no control characters, spaces or accented letters")
    return None


def credential_problems(values: dict) -> dict[str, list[str]]:
    """{field: [message]} for the identifiers and keys among ``values`` that cannot be sent."""
    problems = {}
    for field in CREDENTIAL_TEXT_FIELDS:
        if field in values:
            problem = token_problem(values[field])
            if problem:
                problems[field] = [problem]
    return problems
