"""Typed results of the Mirakl Catalog Manager API (FNAC Darty operator)."""

from __future__ import annotations

from dataclasses import dataclass, field

# P42 statuses after which nothing changes any more. SENT (handed to the operator's catalogue) and COMPLETE are
# successes; TRANSFORMATION_FAILED (the file could not be transformed, P47 says why), FAILED (P44) and CANCELLED
# are not. Any other status (WAITING, RUNNING, TRANSFORMATION_WAITING/RUNNING, an unknown one) is followed on.
IMPORT_SUCCESS_STATUSES = ("COMPLETE", "SENT")
IMPORT_FINAL_STATUSES = (*IMPORT_SUCCESS_STATUSES, "FAILED", "CANCELLED", "TRANSFORMATION_FAILED")


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
    has_transformation_error_report: bool = False
    lines_read: int | None = None
    lines_in_error: int | None = None
    lines_in_success: int | None = None
    reason_status: str = ""

    @property
    def is_final(self) -> bool:
        return self.status in IMPORT_FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.status in IMPORT_SUCCESS_STATUSES


@dataclass
class ErrorReportLine:
    """One rejected line of a P44 error report: the original CSV columns plus the error message."""

    line_number: int | None
    values: dict[str, str]
    errors: list[str]
