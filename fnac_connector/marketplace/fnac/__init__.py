"""FNAC Darty marketplace XML API: client, request/result types."""

from .client import FnacClient, InMemoryTokenStore, TokenStore
from .types import (
    Address,
    AuthToken,
    BatchStatus,
    Carrier,
    FnacErrorItem,
    LineUpdate,
    LineUpdateResult,
    MalformedOrder,
    Offer,
    OfferResult,
    OffersPage,
    OfferUpdate,
    Order,
    OrderLine,
    OrdersPage,
    OrderUpdate,
    OrderUpdateResult,
)

__all__ = [
    "Address", "AuthToken", "BatchStatus", "Carrier", "FnacClient", "FnacErrorItem", "InMemoryTokenStore",
    "LineUpdate", "LineUpdateResult", "MalformedOrder", "Offer", "OfferResult", "OfferUpdate", "OffersPage",
    "Order", "OrderLine", "OrderUpdate", "OrderUpdateResult", "OrdersPage", "TokenStore",
]
