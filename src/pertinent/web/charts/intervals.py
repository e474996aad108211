"""Estimates with their confidence intervals, one row each: an experiment's variants, and
each treatment's difference from the control.

A row can carry two intervals around its estimate: the fixed-horizon one, drawn as a thick
bar, and the always-valid one (wider: it stays valid however often it is looked at), drawn
as a thin line through it. A reference line (zero, for a difference) shows at a glance which
intervals exclude it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
)

ROW = 30
LABEL = 150
VALUE = 170
AXIS = 26


@dataclass(frozen=True)
class Estimate:
    label: str
    value: float | None  # None: not computable yet (no recipients, no variance)
    low: float | None
    high: float | None
    wide_low: float | None = None  # the always-valid interval, when there is one
    wide_high: float | None = None
    tone: str = "tone-main"


def tick_label(value: float, percent: bool) -> str:
    return f"{value * 100:.3g}%" if percent else short(value)


def interval_chart(
    rows: Sequence[Estimate], label: str, *, reference: float | None = None, percent: bool = False
) -> Markup:
    """One row per estimate on a shared axis; `percent` writes 0.05 as 5%."""
    drawn = [r for r in rows if r.value is not None]
    if not drawn:
        return empty(label, "Not enough data for an interval yet")
    ends = [
        v for r in drawn for v in (r.value, r.low, r.high, r.wide_low, r.wide_high) if v is not None
    ]
    if reference is not None:
        ends.append(reference)
    ticks = nice_ticks(min(ends), max(ends))
    xs = Linear(ticks[0], ticks[-1], LABEL, WIDTH - VALUE)
    height = len(rows) * ROW + AXIS + 8
    bottom = len(rows) * ROW + 4
    parts = []
    for tick in ticks:
        x = xs(tick)
        parts.append(line(x, 4, x, bottom, "grid"))
        parts.append(
            text(x, bottom + FONT + 4, tick_label(tick, percent), anchor="middle", tone="label")
        )
    if reference is not None:
        parts.append(line(xs(reference), 4, xs(reference), bottom, "reference"))
    for i, row in enumerate(rows):
        mid = 4 + i * ROW + ROW / 2
        parts.append(text(LABEL - 8, mid + FONT / 3, row.label, anchor="end"))
        if row.value is None:
            parts.append(text(LABEL, mid + FONT / 3, "not enough data yet", tone="label"))
            continue
        if row.wide_low is not None and row.wide_high is not None:
            parts.append(line(xs(row.wide_low), mid, xs(row.wide_high), mid, f"{row.tone} wide"))
        if row.low is not None and row.high is not None:
            x1, x2 = xs(row.low), xs(row.high)
            parts.append(
                f'<rect x="{x1:.1f}" y="{mid - 4:.1f}" width="{max(x2 - x1, 1):.1f}" height="8" '
                f'class="{row.tone}"/>'
            )
        parts.append(f'<circle cx="{xs(row.value):.1f}" cy="{mid:.1f}" r="4" class="point"/>')
        between = (
            f" [{tick_label(row.low, percent)}, {tick_label(row.high, percent)}]"
            if row.low is not None and row.high is not None
            else ""
        )
        parts.append(
            text(
                WIDTH - VALUE + 8,
                mid + FONT / 3,
                tick_label(row.value, percent) + between,
                tone="label",
            )
        )
    return document(label, height, parts)
