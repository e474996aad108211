"""Labelled horizontal bars on one scale, optionally under group headings: a journey's
numbers step by step (its funnel), and the recommendation models' leaderboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from pertinent.web.charts.frame import FONT, WIDTH, Linear, document, empty, rect, text

ROW = 22
HEADING = 24
LABEL = 200  # the width given to the labels left of the bars
VALUE = 110  # and to the value right of them
_CHARACTERS = 30  # of a label that fit left of the bars (the bar's hover text has it whole)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str  # the value as written right of the bar ("120 · 100%")
    tone: str = "tone-main"
    group: str = ""  # a heading above the first bar of each group


def hbar_chart(bars: Sequence[Bar], label: str, maximum: float | None = None) -> Markup:
    """Bars from zero to each value, on a scale to `maximum` (else the largest value)."""
    if not bars:
        return empty(label, "Nothing to show yet")
    top = maximum if maximum is not None else max(b.value for b in bars)
    xs = Linear(0, max(top, 1e-12), LABEL, WIDTH - VALUE)
    parts: list[str] = []
    y = 4.0
    group = None
    for bar in bars:
        if bar.group and bar.group != group:
            group = bar.group
            parts.append(text(4, y + HEADING - 8, bar.group, tone="heading"))
            y += HEADING
        name = bar.label if len(bar.label) <= _CHARACTERS else bar.label[: _CHARACTERS - 1] + "…"
        parts.append(text(LABEL - 8, y + ROW / 2 + FONT / 3, name, anchor="end"))
        width = xs(max(bar.value, 0)) - LABEL
        parts.append(rect(LABEL, y + 3, width, ROW - 6, bar.tone, f"{bar.label}: {bar.shown}"))
        parts.append(text(LABEL + width + 6, y + ROW / 2 + FONT / 3, bar.shown, tone="label"))
        y += ROW
    return document(label, y + 4, parts)
