"""Mirakl Catalog Manager API (FNAC Darty operator): client and result types."""

from .client import MiraklClient
from .types import Account, Attribute, ErrorReportLine, Hierarchy, ImportStatus, Value, ValuesList

__all__ = ["Account", "Attribute", "ErrorReportLine", "Hierarchy", "ImportStatus", "MiraklClient", "Value",
           "ValuesList"]
