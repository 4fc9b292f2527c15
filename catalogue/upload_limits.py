"""Limits of an uploaded spreadsheet, checked before anything parses it.

An .xlsx file is a zip of XML parts. A few hundred kilobytes can unpack to gigabytes (one 500 MB cell
compresses to 500 KB), and every parser, openpyxl's read-only mode included, holds a cell's text in memory.
So before parsing, from the zip's directory and one streamed pass over its XML parts (1 MB at a time):
- the file itself, the sum of its parts unpacked, the largest part and the compression ratio are bounded;
- no text run between two XML tags (a cell's text, a shared string) may be longer than a cell can be;
- no DTD (Excel never writes one; it is how entity-expansion bombs start).
zipfile never returns more than a part's declared size (a part that lies fails its CRC), so the declared
sizes are what is read. Each limit is a setting (``UPLOAD_MAX_*``); a refusal names the limit and the part.
"""

from __future__ import annotations

import io
import zipfile
import zlib

from django.conf import settings

from fnac_connector.errors import InvalidInput

MB = 2**20
_CHUNK = MB
# a cell of N characters takes at most 6N bytes of XML text (4 bytes of UTF-8, or an escape like &quot;)
_BYTES_PER_CHAR = 6
# the ratio applies to parts large enough for it to mean something (small XML parts compress very well)
_RATIO_MIN_BYTES = MB
_XML_SUFFIXES = (".xml", ".rels", ".vml")


def _mb(value: float) -> str:
    return f"{value:g} MB"


def _refuse(message: str, *, code: str = "file_too_large") -> InvalidInput:
    return InvalidInput(message, code=code, details={"file": [message]})


def max_file_bytes() -> int:
    return int(float(settings.UPLOAD_MAX_FILE_MB) * MB)


def max_cell_chars() -> int:
    return int(settings.UPLOAD_MAX_CELL_CHARS)


def max_rows() -> int:
    return int(settings.UPLOAD_MAX_ROWS)


def upload_size_check(size: int | None) -> None:
    """The uploaded file's own size, checked by the doors before they read it."""
    if size is not None and size > max_file_bytes():
        raise _refuse(f"The file is {size / MB:.1f} MB; uploads are limited to {_mb(settings.UPLOAD_MAX_FILE_MB)} "
                      "(UPLOAD_MAX_FILE_MB). Split it into several files.")


def xlsx_check(content: bytes) -> None:
    """Refuse a workbook whose unpacked size, compression ratio or cell lengths exceed the limits."""
    upload_size_check(len(content))
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise _refuse(f"The file is not a readable .xlsx workbook ({exc}).", code="invalid") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        _check_sizes(members, len(content))
        longest_run = max_cell_chars() * _BYTES_PER_CHAR + 1024  # the cell, plus its tag
        for member in members:
            if member.filename.lower().endswith(_XML_SUFFIXES):
                _scan_xml(archive, member, longest_run)


def _check_sizes(members: list[zipfile.ZipInfo], packed: int) -> None:
    total_limit = float(settings.UPLOAD_MAX_UNCOMPRESSED_MB) * MB
    member_limit = float(settings.UPLOAD_MAX_MEMBER_MB) * MB
    ratio_limit = float(settings.UPLOAD_MAX_COMPRESSION_RATIO)
    total = 0
    for m in members:
        total += m.file_size
        if m.file_size > member_limit:
            raise _refuse(f"The workbook part {m.filename} unpacks to {m.file_size / MB:.1f} MB, more than "
                          f"{_mb(settings.UPLOAD_MAX_MEMBER_MB)} (UPLOAD_MAX_MEMBER_MB); refused before reading.")
        if m.file_size >= _RATIO_MIN_BYTES and m.file_size > ratio_limit * max(m.compress_size, 1):
            raise _refuse(f"The workbook part {m.filename} is compressed {m.file_size / max(m.compress_size, 1):.0f} "
                          f"times, more than {ratio_limit:g} (UPLOAD_MAX_COMPRESSION_RATIO): a real sheet does not "
                          "compress that well; refused before reading.")
    if total > total_limit:
        raise _refuse(f"The workbook unpacks to {total / MB:.1f} MB, more than "
                      f"{_mb(settings.UPLOAD_MAX_UNCOMPRESSED_MB)} (UPLOAD_MAX_UNCOMPRESSED_MB); split it into "
                      "several files.")
    if total >= _RATIO_MIN_BYTES and total > ratio_limit * max(packed, 1):
        raise _refuse(f"The workbook is compressed {total / max(packed, 1):.0f} times, more than {ratio_limit:g} "
                      "(UPLOAD_MAX_COMPRESSION_RATIO); refused before reading.")


def _scan_xml(archive: zipfile.ZipFile, member: zipfile.ZipInfo, longest_run: int) -> None:
    """One streamed pass: the longest text between two tags, and no DTD. Memory stays at one chunk."""
    run = 0  # bytes since the last "<"
    tail = b""
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                window = tail + chunk
                if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                    raise _refuse(f"The workbook part {member.filename} declares a DTD; Excel never writes one "
                                  "(refused: it is how entity-expansion bombs start).", code="invalid")
                tail = chunk[-16:]
                parts = chunk.split(b"<")
                if len(parts) == 1:
                    worst = run = run + len(chunk)
                else:  # runs: the one going on, those complete in this chunk, the one left open
                    worst = max([run + len(parts[0]), *map(len, parts[1:-1])])
                    run = len(parts[-1])
                if max(worst, run) > longest_run:
                    raise _refuse(f"The workbook part {member.filename} holds a text of more than {longest_run:,} "
                                  f"bytes: a cell holds at most {max_cell_chars():,} characters "
                                  "(UPLOAD_MAX_CELL_CHARS); refused before reading.")
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError, zlib.error) as exc:
        raise _refuse(f"The workbook part {member.filename} cannot be read ({exc}).", code="invalid") from None
