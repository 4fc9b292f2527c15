"""Just enough PDF reading to test labels: pages, their MediaBox, and their decoded content."""

from __future__ import annotations

import base64
import re
import zlib
from dataclasses import dataclass

from reportlab.graphics.barcode.code128 import Code128

_OBJECT = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_STREAM = re.compile(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\n?endstream", re.S)
_NUMBER = rb"(-?\d+(?:\.\d+)?|-?\.\d+)"
# "x y w h re" followed by a fill, as reportlab writes a filled rectangle
_RECT = re.compile(rb"(?<![\d.])" + rb"\s+".join([_NUMBER] * 4) + rb"\s+re\s+f\*?")
_CM = re.compile(rb"(?<![\d.])" + rb"\s+".join([_NUMBER] * 6) + rb"\s+cm")


@dataclass
class Page:
    media_box: tuple[float, ...]
    content: bytes


def _objects(pdf: bytes) -> dict[int, bytes]:
    return {int(num): body for num, body in _OBJECT.findall(pdf)}


def _decode_stream(dictionary: bytes, data: bytes) -> bytes:
    if b"/ASCII85Decode" in dictionary:
        data = base64.a85decode(data.strip().removesuffix(b"~>"))
    if b"/FlateDecode" in dictionary:
        data = zlib.decompress(data)
    return data


def pages(pdf: bytes) -> list[Page]:
    """Pages in document order (reportlab writes one flat /Pages tree)."""
    objects = _objects(pdf)
    tree = next(body for body in objects.values() if re.search(rb"/Type\s*/Pages\b", body))
    kids = [int(n) for n in re.findall(rb"(\d+) 0 R", re.search(rb"/Kids\s*\[(.*?)\]", tree, re.S).group(1))]
    result = []
    for kid in kids:
        body = objects[kid]
        box = tuple(float(v) for v in re.search(rb"/MediaBox\s*\[(.*?)\]", body).group(1).split())
        contents = int(re.search(rb"/Contents\s+(\d+) 0 R", body).group(1))
        dictionary, data = _STREAM.search(objects[contents]).groups()
        result.append(Page(media_box=box, content=_decode_stream(dictionary, data)))
    return result


def count_page_objects(pdf: bytes) -> int:
    """Independent of ``pages``: count /Type /Page dictionaries (not /Pages)."""
    return len(re.findall(rb"/Type\s*/Page(?!s)\b", pdf))


def filled_rects(content: bytes) -> list[tuple[float, float, float, float]]:
    """Every filled rectangle in a content stream, in page coordinates. reportlab's drawOn moves
    the origin with ``cm`` inside q/Q, so translations are tracked (no rotation or scale used)."""
    stack: list[tuple[float, float]] = []
    origin = (0.0, 0.0)
    rects = []
    token = re.compile(rb"(?<![\w.])q(?!\w)|(?<![\w.])Q(?!\w)|" + _CM.pattern + rb"|" + _RECT.pattern)
    for match in token.finditer(content):
        text = match.group(0)
        if text == b"q":
            stack.append(origin)
        elif text == b"Q":
            origin = stack.pop()
        elif text.endswith(b"cm"):
            a, b, c, d, e, f = (float(v) for v in match.group(1, 2, 3, 4, 5, 6))
            assert (a, b, c, d) == (1, 0, 0, 1), "label drawing only translates"
            origin = (origin[0] + e, origin[1] + f)
        else:
            x, y, w, h = (float(v) for v in match.group(7, 8, 9, 10))
            rects.append((origin[0] + x, origin[1] + y, w, h))
    return rects


def bar_pattern(rects: list[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    """Bars as (start, width) in modules from the first bar. Every Code 128 symbol has a one-module
    bar (the stop pattern ends with one), so the narrowest bar is the module."""
    rects = sorted(rects)
    module = min(w for _, _, w, _ in rects)
    x0 = rects[0][0]
    return [(round((x - x0) / module), round(w / module)) for x, _, w, _ in rects]


def expected_bar_pattern(value: str) -> list[tuple[int, int]]:
    """The bars reportlab's Code128 draws for ``value``, as (start, width) in modules. Its
    ``decomposed`` string is run lengths: upper case = a bar of N modules, lower case = a space."""
    symbol = Code128(value, barWidth=1, quiet=0)
    symbol.validate()
    symbol.encode()
    symbol.decompose()
    pattern, position = [], 0
    for char in symbol.decomposed:
        if char.isupper():
            width = ord(char) - ord("A") + 1
            pattern.append((position, width))
        else:
            width = ord(char) - ord("a") + 1
        position += width
    return pattern


def barcode_patterns(content: bytes) -> list[list[tuple[int, int]]]:
    """The bar patterns found on a page: filled rectangles grouped by (bottom, height), keeping the
    groups that look like a linear barcode (many bars of one height)."""
    groups: dict[tuple[float, float], list] = {}
    for rect in filled_rects(content):
        groups.setdefault((round(rect[1], 2), round(rect[3], 2)), []).append(rect)
    return [bar_pattern(group) for group in groups.values() if len(group) >= 10]


def text_strings(content: bytes) -> list[str]:
    """The literal strings shown with Tj (reportlab writes one per drawString)."""
    return [pdf_string(s) for s in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content)]


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def pdf_string(literal: bytes) -> str:
    """Decode the inside of a PDF literal string: backslash escapes, octal codes, WinAnsi text
    (latin-1 is WinAnsi for the letters a French address uses)."""

    def unescape(match: re.Match) -> bytes:
        escaped = match.group(1)
        if escaped[:1].isdigit():
            return bytes([int(escaped, 8)])
        return _ESCAPES.get(escaped, escaped)

    return re.sub(rb"\\([0-7]{1,3}|.)", unescape, literal).decode("latin-1")
