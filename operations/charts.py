"""Charts drawn on the server as SVG: no JavaScript, nothing to load, nothing to break."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

# Distinguishable for the common colour-vision deficiencies (Okabe-Ito palette).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")


@dataclass
class Series:
    label: str
    points: list[int]
    color: str
    dashed: bool = False


def line_chart(
    *,
    title: str,
    minutes: list[datetime],
    series: list[Series],
    width: int = 960,
    height: int = 260,
) -> str:
    """Draw per-minute counts as lines over a shared time axis, with a legend."""
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(max(s.points, default=0) for s in series)])
    steps = max(1, len(minutes) - 1)

    def x(i: int) -> float:
        return left + plot_w * i / steps

    def y(v: int) -> float:
        return top + plot_h * (1 - v / peak)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height + 24 * len(series)}" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" '
        'fill="#fff" stroke="#dde1e8"/>',
    ]
    for tick in sorted({0, peak // 2, peak}):
        parts.append(
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#5b6474">{tick}</text>'
        )
    for i in range(0, len(minutes), 10):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle" font-size="11" '
            f'fill="#5b6474">{minutes[i]:%H:%M}</text>'
        )
    for n, s in enumerate(series):
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.points))
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        parts.append(
            f'<polyline class="series" fill="none" stroke="{s.color}" stroke-width="2"{dash} '
            f'points="{coords}"><title>{escape(s.label)}: {sum(s.points)}</title></polyline>'
        )
        ly = height + 16 + 24 * n
        parts.append(
            f'<line x1="{left}" y1="{ly - 4}" x2="{left + 28}" y2="{ly - 4}" stroke="{s.color}" '
            f'stroke-width="2"{dash}/><text x="{left + 36}" y="{ly}" font-size="12" '
            f'fill="#1d2330">{escape(s.label)} ({sum(s.points)})</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
