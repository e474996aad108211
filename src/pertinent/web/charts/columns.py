"""Counts per interval as vertical bars: the events that arrived each minute."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

from pertinent.web.charts.frame import (
    FONT,
    WIDTH,
    Linear,
    document,
    empty,
    line,
    nice_ticks,
    rect,
    short,
    text,
    y_axis,
)

HEIGHT = 200
LEFT, RIGHT, TOP, BOTTOM = 56, WIDTH - 12, 12, HEIGHT - 28
_LABELS = 8  # interval labels along the bottom, at most


def column_chart(columns: Sequence[tuple[str, float]], label: str) -> Markup:
    """One bar per (interval label, count), left to right; the y axis starts at zero."""
    if not columns:
        return empty(label, "Nothing to show yet")
    ticks = nice_ticks(0, max(max(v for _, v in columns), 1), whole=True)
    ys = Linear(0, ticks[-1], BOTTOM, TOP)
    slot = (RIGHT - LEFT) / len(columns)
    parts = y_axis(ys, ticks, LEFT, RIGHT)
    every = max(1, -(-len(columns) // _LABELS))
    for i, (name, value) in enumerate(columns):
        x = LEFT + i * slot
        top = ys(value)
        parts.append(
            rect(
                x + slot * 0.1,
                top,
                slot * 0.8,
                BOTTOM - top,
                "tone-main",
                f"{name}: {short(value)}",
            )
        )
        if i % every == 0 or i == len(columns) - 1:
            parts.append(text(x + slot / 2, BOTTOM + FONT + 6, name, anchor="middle"))
    parts.append(line(LEFT, BOTTOM, RIGHT, BOTTOM))
    return document(label, HEIGHT, parts)
