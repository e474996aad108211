"""An experiment's result: per variant n, metrics with intervals, each treatment against the
control with fixed-horizon and always-valid p-values, the sample-ratio check and a verdict.

How to read it is docs/experiments.md. In short: a variant's verdict comes from the
always-valid test (valid however often you look), Holm-adjusted when more than one treatment
is compared with the control; no verdict before every variant has `min_sample` recipients;
no verdict at all while the sample ratio is off, because then the assignment or the
logging is broken and every number is suspect.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy.stats import norm

from pertinent.analytics.metrics import ExperimentLog, Recipient, was_member
from pertinent.experiments import sequential, stats
from pertinent.experiments.settings import ExperimentSettings, Metric
from pertinent.experiments.summary import METRICS, RATES, Summaries, summarize_recipients

ComparisonVerdict = Literal["collecting", "better", "worse", "inconclusive"]
Verdict = Literal["collecting", "sample_ratio_mismatch", "winner", "inconclusive"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


def _num(x: float) -> float | None:
    """JSON has no NaN: a number that cannot be computed yet is null."""
    return float(x) if math.isfinite(x) else None


class Comparison(_Out):
    """Treatment minus control. `p_value` and `always_valid_p_value` are Holm-adjusted over
    the treatments; the intervals are not."""

    difference: float | None
    relative: float | None
    low: float | None
    high: float | None
    p_value: float
    always_valid_p_value: float
    always_valid_low: float | None
    always_valid_high: float | None
    verdict: ComparisonVerdict


class MetricResult(_Out):
    value: float | None
    low: float | None
    high: float | None
    vs_control: Comparison | None = None


class VariantResult(_Out):
    name: str
    control: bool
    recipients: int
    share: float
    expected_share: float | None
    crossovers: int
    metrics: dict[Metric, MetricResult]


class SampleRatio(_Out):
    p_value: float | None
    mismatch: bool


class SegmentVariant(_Out):
    name: str
    recipients: int
    metrics: dict[Metric, float | None]


class SegmentBreakdown(_Out):
    segment: str
    variants: list[SegmentVariant]


class ExperimentReport(_Out):
    key: str
    control: str | None
    allocation: str
    metric: Metric
    alpha: float
    min_sample: int
    recipients: int
    first_sent: datetime | None
    last_sent: datetime | None
    verdict: Verdict
    winner: str | None
    sample_ratio: SampleRatio
    variants: list[VariantResult]
    segments: list[SegmentBreakdown]
    skipped_events: int = 0


def _value_interval(s: Summaries, metric: Metric, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    if metric in RATES:
        return stats.wilson(s.counts[metric], s.n, alpha)
    half = float(norm.isf(alpha / 2)) * np.sqrt(s.variance(metric) / s.n)
    return s.mean(metric) - half, s.mean(metric) + half


def _tests(
    s: Summaries, c: int, t: np.ndarray, metric: Metric, settings: ExperimentSettings
) -> tuple[stats.FixedResult, sequential.SequentialResult]:
    alpha, target = settings.alpha, settings.sequential_target
    if metric in RATES:
        x, n = s.counts[metric], s.n
        return (
            stats.two_proportions(x[c], n[c], x[t], n[t], alpha),
            sequential.proportions_test(x[c], n[c], x[t], n[t], target, alpha),
        )
    m, v, n = s.mean(metric), s.variance(metric), s.n
    return (
        stats.welch(m[c], v[c], n[c], m[t], v[t], n[t], alpha),
        sequential.means_test(m[c], v[c], n[c], m[t], v[t], n[t], target, alpha),
    )


def compare(
    s: Summaries, control: int, metric: Metric, settings: ExperimentSettings
) -> list[Comparison | None]:
    """Each variant against the control (None for the control itself)."""
    k = s.n.size
    treatments = np.array([i for i in range(k) if i != control], dtype=np.int64)
    out: list[Comparison | None] = [None] * k
    if treatments.size == 0:
        return out
    fixed, always = _tests(s, control, treatments, metric, settings)
    p_fixed, p_always = stats.holm(fixed.p_value), stats.holm(always.p_value)
    base = float(s.mean(metric)[control])
    enough = s.n >= settings.min_sample
    for j, i in enumerate(treatments):
        diff = float(fixed.difference[j])
        verdict: ComparisonVerdict = "inconclusive"
        if not (enough[i] and enough[control]):
            verdict = "collecting"
        elif p_always[j] <= settings.alpha:
            verdict = "better" if diff > 0 else "worse"
        out[i] = Comparison(
            difference=_num(diff),
            relative=_num(diff / base) if base else None,
            low=_num(float(fixed.low[j])),
            high=_num(float(fixed.high[j])),
            p_value=float(p_fixed[j]),
            always_valid_p_value=float(p_always[j]),
            always_valid_low=_num(float(always.low[j])),
            always_valid_high=_num(float(always.high[j])),
            verdict=verdict,
        )
    return out


def _expected_shares(recipients: Sequence[Recipient], names: Sequence[str]) -> np.ndarray | None:
    """Σ over recipients of the weights in force when each was assigned (so an edited split
    or a bandit's moving shares are still checked exactly); None if any email lacked them."""
    expected = np.zeros(len(names))
    for r in recipients:
        if r.weights is None:
            return None
        total = sum(r.weights.values())
        for i, name in enumerate(names):
            expected[i] += r.weights.get(name, 0.0) / total
    return expected if expected.sum() > 0 else None


def _winner(
    names: Sequence[str],
    control: int,
    s: Summaries,
    compared: list[Comparison | None],
    metric: Metric,
) -> str | None:
    better = [i for i, c in enumerate(compared) if c is not None and c.verdict == "better"]
    if better:
        means = s.mean(metric)
        return names[max(better, key=lambda i: float(means[i]))]
    others = [c for c in compared if c is not None]
    if others and all(c.verdict == "worse" for c in others):
        return names[control]
    return None


def build_report(
    log: ExperimentLog,
    settings: ExperimentSettings,
    segments: Mapping[str, Mapping[str, list[tuple[datetime, datetime | None]]]] | None = None,
    skipped_events: int = 0,
) -> ExperimentReport:
    """The experiment's result from its recipients; `segments` (membership spans by person,
    per segment) adds a per-segment breakdown of the metrics, without tests."""
    names = log.variants
    control_name = log.control
    if control_name is not None and control_name not in names:
        names = [control_name, *names]
    recipients = list(log.recipients.values())
    s = summarize_recipients(recipients, names)
    control = names.index(control_name) if control_name is not None else 0
    metrics: dict[Metric, list[Comparison | None]] = {
        m: compare(s, control, m, settings) for m in METRICS
    }
    expected = _expected_shares(recipients, names)
    srm_p = stats.sample_ratio_p_value(s.n, expected) if expected is not None else None
    mismatch = srm_p is not None and srm_p < settings.srm_threshold
    total = int(s.n.sum())
    variants = []
    for i, name in enumerate(names):
        results: dict[Metric, MetricResult] = {}
        for m in METRICS:
            low, high = _value_interval(s, m, settings.alpha)
            results[m] = MetricResult(
                value=_num(float(s.mean(m)[i])),
                low=_num(float(low[i])),
                high=_num(float(high[i])),
                vs_control=metrics[m][i],
            )
        variants.append(
            VariantResult(
                name=name,
                control=i == control,
                recipients=int(s.n[i]),
                share=float(s.n[i] / total) if total else 0.0,
                expected_share=float(expected[i] / expected.sum())
                if expected is not None
                else None,
                crossovers=sum(1 for r in recipients if r.variant == name and r.crossed_over),
                metrics=results,
            )
        )
    primary = metrics[settings.metric]
    verdict: Verdict
    winner = None
    if mismatch:
        verdict = "sample_ratio_mismatch"
    elif len(names) < 2 or any(c is not None and c.verdict == "collecting" for c in primary):
        verdict = "collecting"
    else:
        winner = _winner(names, control, s, primary, settings.metric)
        verdict = "winner" if winner is not None else "inconclusive"
    sends = [t for r in recipients for t in r.sends]
    return ExperimentReport(
        key=log.key,
        control=control_name,
        allocation=log.allocation,
        metric=settings.metric,
        alpha=settings.alpha,
        min_sample=settings.min_sample,
        recipients=total,
        first_sent=min(sends, default=None),
        last_sent=max(sends, default=None),
        verdict=verdict,
        winner=winner,
        sample_ratio=SampleRatio(p_value=srm_p, mismatch=mismatch),
        variants=variants,
        segments=[
            _segment(key, spans, recipients, names) for key, spans in (segments or {}).items()
        ],
        skipped_events=skipped_events,
    )


def _segment(
    key: str,
    spans: Mapping[str, list[tuple[datetime, datetime | None]]],
    recipients: Sequence[Recipient],
    names: Sequence[str],
) -> SegmentBreakdown:
    inside = [r for r in recipients if was_member(spans.get(r.profile_id, []), r.first_sent)]
    s = summarize_recipients(inside, names)
    return SegmentBreakdown(
        segment=key,
        variants=[
            SegmentVariant(
                name=name,
                recipients=int(s.n[i]),
                metrics={m: _num(float(s.mean(m)[i])) for m in METRICS},
            )
            for i, name in enumerate(names)
        ],
    )
