"""Typed results of the Mirakl Catalog Manager API (FNAC Darty operator)."""

from __future__ import annotations

from dataclasses import dataclass, field

IMPORT_FINAL_STATUSES = ("COMPLETE", "FAILED", "CANCELLED")


@dataclass(frozen=True)
class Account:
    shop_id: str
    shop_name: str
    shop_state: str  # OPEN | CLOSE | SUSPENDED


@dataclass(frozen=True)
class Hierarchy:
    code: str
    label: str
    level: int
    parent_code: str = ""


@dataclass(frozen=True)
class Attribute:
    code: str
    label: str
    type: str  # TEXT, LONG_TEXT, INTEGER, DECIMAL, LIST, MEDIA, DATE, ...
    hierarchy_code: str = ""  # "" = applies to every category
    required: bool = False
    values_list: str = ""  # code of a VL11 list when type is LIST
    variant: bool = False
    description: str = ""


@dataclass(frozen=True)
class Value:
    code: str
    label: str


@dataclass
class ValuesList:
    code: str
    label: str
    values: list[Value] = field(default_factory=list)


@dataclass
class ImportStatus:
    import_id: str
    status: str  # WAITING RUNNING SENT COMPLETE FAILED CANCELLED TRANSFORMATION_* ...
    has_error_report: bool = False
    lines_read: int | None = None
    lines_in_error: int | None = None
    lines_in_success: int | None = None
    reason_status: str = ""

    @property
    def is_final(self) -> bool:
        return self.status in IMPORT_FINAL_STATUSES


@dataclass
class ErrorReportLine:
    """One rejected line of a P44 error report: the original CSV columns plus the error message."""

    line_number: int | None
    values: dict[str, str]
    errors: list[str]
