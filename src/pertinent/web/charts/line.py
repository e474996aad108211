"""A count over time as a line with the area under it: a segment's size over time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from markupsafe import Markup

from pertinent.web.charts.frame import (
    FONT,
    WIDTH,
    Linear,
    document,
    empty,
    line,
    nice_ticks,
    short,
    text,
    y_axis,
)

HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 56, WIDTH - 20, 14, HEIGHT - 30
_MARKED = 120  # points up to which each gets a dot with its value on hover
_LABELS = 6  # time labels along the bottom, at most


def when(at: datetime, span: timedelta) -> str:
    """A point's time as its axis label: with the hour when the chart spans two days or less."""
    return f"{at:%d %b %H:%M}" if span <= timedelta(days=2) else f"{at:%d %b}"


def line_chart(points: Sequence[tuple[datetime, float]], label: str) -> Markup:
    """`points` in time order, values from zero up; the y axis starts at zero."""
    if not points:
        return empty(label, "Nothing to show yet")
    start, end = points[0][0], points[-1][0]
    span = end - start
    ticks = nice_ticks(0, max(max(v for _, v in points), 1), whole=True)
    xs = Linear(start.timestamp(), end.timestamp(), LEFT, RIGHT)
    ys = Linear(0, ticks[-1], BOTTOM, TOP)
    at = [(xs(t.timestamp()), ys(v)) for t, v in points]
    parts = y_axis(ys, ticks, LEFT, RIGHT)
    outline = " ".join(f"{x:.1f},{y:.1f}" for x, y in at)
    area = f"{at[0][0]:.1f},{BOTTOM} {outline} {at[-1][0]:.1f},{BOTTOM}"
    parts.append(f'<polygon points="{area}" class="tone-area"/>')
    parts.append(f'<polyline points="{outline}" class="tone-line" fill="none"/>')
    if len(points) <= _MARKED:
        for (x, y), (t, v) in zip(at, points, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" class="tone-dot">'
                f"<title>{when(t, span)}: {short(v)}</title></circle>"
            )
    parts.append(line(LEFT, BOTTOM, RIGHT, BOTTOM))
    every = max(1, -(-len(points) // _LABELS))
    for i in range(0, len(points), every):
        x = at[i][0]
        anchor = "start" if x < LEFT + 40 else "end" if x > RIGHT - 40 else "middle"
        parts.append(text(x, BOTTOM + FONT + 6, when(points[i][0], span), anchor=anchor))
    return document(label, HEIGHT, parts)
