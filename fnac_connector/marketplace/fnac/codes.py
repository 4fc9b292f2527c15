"""FNAC XML API error codes the connector reacts to.

Only codes seen in public material are named here; everything else surfaces as ``Rejected`` with the
code and message FNAC gave.
"""

# Authentication failed or the token is no longer valid: re-authenticate once, then give up.
AUTH_ERROR_CODES = frozenset({"ERR_097"})
# offers_update for an EAN FNAC does not know: the product must be created through Mirakl (P41).
PRODUCT_NOT_FOUND = "ERR_026"
