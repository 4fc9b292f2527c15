"""A small inline SVG line chart of a product's price history (no script, no external library)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.html import format_html, format_html_join

WIDTH, HEIGHT, PAD = 360, 110, 6
LOWEST, OURS = "#d93025", "#1a73e8"


def _points(values: list[Decimal | None], lo: Decimal, hi: Decimal) -> str:
    span = (hi - lo) or Decimal(1)
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)
    out = []
    for i, value in enumerate(values):
        if value is None:
            continue
        y = HEIGHT - PAD - float((value - lo) / span) * (HEIGHT - 2 * PAD)
        out.append(f"{PAD + i * step:.1f},{y:.1f}")
    return " ".join(out)


def history_svg(history: list) -> str:
    """Lowest competitor total (red) and our total (blue) over the last readings; '' when there is nothing."""
    lows = [Decimal(p[1]) if p[1] is not None else None for p in history]
    ours = [Decimal(p[2]) if len(p) > 2 and p[2] is not None else None for p in history]
    known = [v for v in lows + ours if v is not None]
    if len(history) < 1 or not known:
        return ""
    lo, hi = min(known), max(known)
    lines = [(colour, _points(values, lo, hi)) for colour, values in ((LOWEST, lows), (OURS, ours))]
    return format_html(
        '<svg width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="Price history" '
        'style="background:#fafafa;border:1px solid #ddd;border-radius:4px">{}'
        '<text x="{}" y="12" font-size="10" fill="#555">{} EUR</text>'
        '<text x="{}" y="{}" font-size="10" fill="#555">{} EUR</text></svg>'
        '<div style="font-size:11px"><span style="color:{}">&#9632; lowest competitor</span> '
        '<span style="color:{}">&#9632; our offer</span> (price + shipping, {} readings from {} to {})</div>',
        WIDTH, HEIGHT, WIDTH, HEIGHT,
        format_html_join("", '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>', lines),
        PAD, hi, PAD, HEIGHT - 2, lo, LOWEST, OURS, len(history), history[0][0][:16].replace("T", " "),
        history[-1][0][:16].replace("T", " "))
