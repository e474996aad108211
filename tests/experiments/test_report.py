"""The report a marketer reads: verdicts only when the numbers allow one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from pertinent.analytics.metrics import ExperimentLog, Recipient
from pertinent.experiments.report import build_report
from pertinent.experiments.settings import ExperimentSettings

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
SETTINGS = ExperimentSettings()


def _log(
    rates: dict[str, float],
    n: dict[str, int],
    seed: int = 1,
    weights: dict[str, float] | None = None,
    control: str | None = None,
) -> ExperimentLog:
    rng = np.random.default_rng(seed)
    log = ExperimentLog("subject", controls=[control] if control else [])
    for variant, rate in rates.items():
        for i in range(n[variant]):
            at = T0 + timedelta(minutes=i)
            clicked = bool(rng.random() < rate)
            log.recipients[f"{variant}-{i}"] = Recipient(
                f"{variant}-{i}",
                variant,
                at,
                sends=[at],
                messages=[f"m-{variant}-{i}"],
                weights=weights,
                variants_seen={variant},
                delivered=True,
                opened=clicked or bool(rng.random() < 0.2),
                clicked=clicked,
                converted=clicked and bool(rng.random() < 0.3),
                revenue=float(rng.lognormal(3.5, 0.5)) if clicked else 0.0,
            )
    return log


def test_a_clear_lift_is_a_winner() -> None:
    log = _log(
        {"control": 0.04, "b": 0.08}, {"control": 4000, "b": 4000}, weights={"control": 1, "b": 1}
    )
    report = build_report(log, SETTINGS)
    assert (report.verdict, report.winner) == ("winner", "b")
    b = next(v for v in report.variants if v.name == "b")
    click = b.metrics["click"]
    assert click.vs_control is not None and click.vs_control.verdict == "better"
    assert click.vs_control.always_valid_p_value >= click.vs_control.p_value
    assert click.low is not None and click.high is not None and click.low < click.value < click.high
    assert report.sample_ratio.p_value is not None and not report.sample_ratio.mismatch
    assert report.recipients == 8000 and report.control == "control"


def test_no_verdict_before_the_minimum_sample() -> None:
    log = _log({"control": 0.02, "b": 0.6}, {"control": 60, "b": 60})
    report = build_report(log, SETTINGS)
    assert report.verdict == "collecting" and report.winner is None
    b = next(v for v in report.variants if v.name == "b")
    assert b.metrics["click"].vs_control is not None
    assert b.metrics["click"].vs_control.verdict == "collecting"


def test_a_sample_ratio_mismatch_overrides_any_winner() -> None:
    log = _log(
        {"control": 0.04, "b": 0.08}, {"control": 4000, "b": 3500}, weights={"control": 1, "b": 1}
    )
    report = build_report(log, SETTINGS)
    assert report.sample_ratio.mismatch and report.verdict == "sample_ratio_mismatch"
    assert report.winner is None


def test_no_difference_is_inconclusive_and_holm_adjusts_three_variants() -> None:
    log = _log(
        {"plain": 0.05, "b": 0.05, "c": 0.05},
        {"plain": 2000, "b": 2000, "c": 2000},
        control="plain",
    )
    report = build_report(log, SETTINGS)
    assert report.verdict == "inconclusive" and report.control == "plain"
    assert report.variants[0].control and report.variants[0].metrics["click"].vs_control is None
    assert report.sample_ratio.p_value is None, "no weights on the emails, no SRM check"


def test_the_control_wins_when_every_treatment_is_worse() -> None:
    log = _log({"control": 0.10, "b": 0.04}, {"control": 3000, "b": 3000})
    assert build_report(log, SETTINGS).winner == "control"


def test_the_primary_metric_is_a_setting() -> None:
    log = _log({"control": 0.04, "b": 0.08}, {"control": 4000, "b": 4000})
    report = build_report(log, ExperimentSettings(metric="revenue"))
    assert report.metric == "revenue" and report.winner == "b"
    b = next(v for v in report.variants if v.name == "b")
    assert b.metrics["revenue"].value is not None and b.metrics["revenue"].value > 0


def test_segments_break_the_metrics_down() -> None:
    log = _log({"control": 0.04, "b": 0.08}, {"control": 300, "b": 300})
    spans = {
        "control-1": [(T0, None)],
        "b-2": [(T0, T0 + timedelta(minutes=1))],
        "b-3": [(T0, None)],
    }
    report = build_report(log, SETTINGS, {"vip": spans})
    (vip,) = report.segments
    assert {v.name: v.recipients for v in vip.variants} == {"control": 1, "b": 1}
