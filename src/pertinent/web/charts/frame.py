"""What every chart is drawn on: the SVG document, linear scales, round axis ticks, short
number labels and escaped text.

Coordinates are in the viewBox's units; the page's CSS scales the SVG to its column. Colours
are classes (`tone-*`) the dashboard's stylesheet fills, so the charts follow its palette and
no inline style is needed (the pages' Content-Security-Policy allows none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 720
FONT = 12


@dataclass(frozen=True)
class Linear:
    """Maps [low, high] onto [start, end] (a flat domain maps to the middle)."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        if self.high == self.low:
            return (self.start + self.end) / 2
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def nice_ticks(low: float, high: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """About `count` round values (1, 2 or 5 times a power of ten apart; with `whole`, at
    least 1 apart, for counts) covering [low, high]: the first at or below `low`, the last
    at or above `high`."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError(f"no ticks for [{low}, {high}]")
    # One value is drawn on a unit range; one narrower than float noise, on a small one.
    high = low + 1 if high == low else max(high, low + 1e-9 * max(1.0, abs(low), abs(high)))
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if whole:
        step = max(step, 1)
    first = math.floor(low / step + 1e-9)
    last = max(math.ceil(high / step - 1e-9), first + 1)
    digits = max(0, -math.floor(math.log10(step))) + 1
    return [round(i * step, digits) for i in range(first, last + 1)]


def short(value: float) -> str:
    """A number as an axis or bar label: 950, 1.2k, 3.4M; 0.125 -> 0.125; -2.5 -> -2.5."""
    size = abs(value)
    if size >= 1_000_000:
        return f"{value / 1_000_000:.3g}M"
    if size >= 10_000:
        return f"{value / 1000:.3g}k"
    if size >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"


def text(x: float, y: float, content: str, *, anchor: str = "start", tone: str = "") -> str:
    """A text element; the content is escaped, as every label comes from data."""
    cls = f' class="{tone}"' if tone else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}"{cls}>'
        f"{escape(content)}</text>"
    )


def line(x1: float, y1: float, x2: float, y2: float, tone: str = "axis") -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{tone}"/>'


def rect(x: float, y: float, width: float, height: float, tone: str, title: str = "") -> str:
    """A bar; `title` is what a pointer hovering it shows."""
    tip = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(width, 0):.1f}" '
        f'height="{max(height, 0):.1f}" class="{tone}">{tip}</rect>'
    )


def y_axis(scale: Linear, ticks: Sequence[float], left: float, right: float) -> list[str]:
    """Grid lines across the plot at each tick, labelled at the left."""
    out = []
    for tick in ticks:
        y = scale(tick)
        out.append(line(left, y, right, y, "grid"))
        out.append(text(left - 6, y + FONT / 3, short(tick), anchor="end", tone="label"))
    return out


def document(label: str, height: float, parts: Sequence[str]) -> Markup:
    """The SVG element: an image named by `label` for assistive technology and on hover."""
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(parts)}</svg>"
    )


def empty(label: str, message: str) -> Markup:
    """A chart with nothing to draw says why, in the same place."""
    return document(label, 60, [text(WIDTH / 2, 34, message, anchor="middle", tone="label")])
