"""The SVG charts: well-formed, named for assistive technology, drawn to scale, and safe
with any label."""

from __future__ import annotations

import itertools
import math
import xml.etree.ElementTree as ET
from datetime import timedelta

from conftest import START
from hypothesis import given
from hypothesis import strategies as st

from pertinent.web.charts.columns import column_chart
from pertinent.web.charts.frame import nice_ticks, short
from pertinent.web.charts.hbars import LABEL, Bar, hbar_chart
from pertinent.web.charts.intervals import Estimate, interval_chart
from pertinent.web.charts.line import BOTTOM, TOP, line_chart

NS = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    root = ET.fromstring(markup)
    assert root.tag == f"{NS}svg" and root.get("role") == "img"
    return root


def test_a_line_chart_puts_each_point_at_its_size() -> None:
    points = [(START + timedelta(hours=i), float(n)) for i, n in enumerate([0, 5, 10, 10, 2])]
    svg = parsed(line_chart(points, "Members of vip"))
    assert svg.get("aria-label") == "Members of vip"
    dots = svg.findall(f"{NS}circle")
    assert [d.find(f"{NS}title").text for d in dots] == [  # type: ignore[union-attr]
        f"02 Mar {9 + i:02d}:00: {n}" for i, n in enumerate([0, 5, 10, 10, 2])
    ]
    ys = [float(d.get("cy", "")) for d in dots]
    assert ys[0] == BOTTOM and ys[2] == ys[3] == TOP, "0 on the axis, the top tick at 10"
    assert abs((BOTTOM - ys[1]) - (BOTTOM - ys[2]) / 2) < 0.2, "5 is half of 10"
    xs = [float(d.get("cx", "")) for d in dots]
    assert xs == sorted(xs) and len(set(round(b - a, 1) for a, b in itertools.pairwise(xs))) == 1


def test_charts_without_data_say_so() -> None:
    for svg in (
        line_chart([], "x"),
        column_chart([], "x"),
        hbar_chart([], "x"),
        interval_chart([Estimate("a", None, None, None)], "x"),
    ):
        texts = [t.text for t in parsed(svg).iter(f"{NS}text")]
        assert texts and ("Nothing to show yet" in texts or "Not enough data" in texts[0])


def test_columns_are_as_tall_as_their_counts() -> None:
    svg = parsed(column_chart([("a", 2), ("b", 4), ("c", 0)], "per minute"))
    bars = svg.findall(f"{NS}rect")
    heights = [float(b.get("height", "")) for b in bars]
    assert heights[1] == 2 * heights[0] and heights[2] == 0
    assert [b.find(f"{NS}title").text for b in bars] == ["a: 2", "b: 4", "c: 0"]  # type: ignore[union-attr]


def test_horizontal_bars_share_one_scale_under_their_groups() -> None:
    bars = [
        Bar("entered", 200, "200", group="Entered"),
        Bar("sent", 150, "150", "tone-good", group="Step hello"),
        Bar("failed", 50, "50", "tone-bad", group="Step hello"),
    ]
    svg = parsed(hbar_chart(bars, "funnel"))
    widths = [float(r.get("width", "")) for r in svg.findall(f"{NS}rect")]
    assert widths[1] == 0.75 * widths[0] and widths[2] == 0.25 * widths[0]
    assert all(float(r.get("x", "")) == LABEL for r in svg.findall(f"{NS}rect"))
    headings = [t.text for t in svg.iter(f"{NS}text") if t.get("class") == "heading"]
    assert headings == ["Entered", "Step hello"], "one heading per group"


def test_intervals_are_drawn_around_their_estimates_with_the_zero_line() -> None:
    rows = [
        Estimate("question", 0.3, 0.2, 0.4, 0.05, 0.55),
        Estimate("shorter", -0.1, -0.2, 0.0),
        Estimate("new", None, None, None),
    ]
    svg = parsed(interval_chart(rows, "difference", reference=0.0, percent=True))
    zero = next(ln for ln in svg.iter(f"{NS}line") if ln.get("class") == "reference")
    at_zero = float(zero.get("x1", ""))
    bar = svg.findall(f"{NS}rect")[0]
    left, width = float(bar.get("x", "")), float(bar.get("width", ""))
    wide = next(ln for ln in svg.iter(f"{NS}line") if "wide" in (ln.get("class") or ""))
    assert float(wide.get("x1", "")) < left < left + width < float(wide.get("x2", ""))
    assert left > at_zero, "the question's interval is clear of zero"
    second = svg.findall(f"{NS}rect")[1]
    assert abs(float(second.get("x", "")) + float(second.get("width", "")) - at_zero) < 0.2
    texts = [t.text or "" for t in svg.iter(f"{NS}text")]
    assert "30% [20%, 40%]" in texts and "not enough data yet" in texts


def test_labels_from_data_are_text_never_markup() -> None:
    hostile = '</text><script>alert(1)</script>"'
    for markup in (
        hbar_chart([Bar(hostile, 1, hostile)], hostile),
        column_chart([(hostile, 1)], hostile),
        interval_chart([Estimate(hostile, 1, 0, 2)], hostile),
    ):
        svg = parsed(markup)
        assert not list(svg.iter(f"{NS}script"))
        assert "<script>" not in markup


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.integers(2, 10),
)
def test_ticks_are_round_even_and_cover_the_range(low: float, width: float, count: int) -> None:
    high = low + width
    ticks = nice_ticks(low, high, count)
    steps = [b - a for a, b in itertools.pairwise(ticks)]
    assert steps[0] > 0 and all(math.isclose(s, steps[0], rel_tol=1e-6) for s in steps), ticks
    slack = 1e-6 * steps[0]  # float noise, far below a pixel
    assert ticks[0] <= low + slack and ticks[-1] >= high - slack
    assert len(ticks) <= 2 * count + 2


def test_numbers_are_short_on_axes() -> None:
    assert [short(v) for v in (0, 950, 1200, 25_000, 3_400_000, 0.125, -2.5)] == [
        "0",
        "950",
        "1,200",
        "25k",
        "3.4M",
        "0.125",
        "-2.5",
    ]
    assert nice_ticks(0, 3, whole=True) == [0, 1, 2, 3]
