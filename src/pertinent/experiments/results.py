"""Experiments read off the store: the one place the report meets storage.

Everything comes from the log's email and goal events as attributed to profiles (merges
included) and from segment membership history; nothing keeps a tally of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from pertinent.analytics.metrics import EMAIL_ACTIONS, in_segment_at, read_experiments
from pertinent.errors import NotFoundError
from pertinent.experiments.report import ExperimentReport, build_report
from pertinent.experiments.settings import ExperimentSettings
from pertinent.storage.ports import Storage


def experiment_reports(
    storage: Storage,
    settings: ExperimentSettings,
    segment_keys: Sequence[str] = (),
    key: str | None = None,
) -> list[ExperimentReport]:
    """Every experiment found on `email_sent` events (or only `key`), with a breakdown per
    segment of `segment_keys`; sorted by key."""
    window = timedelta(hours=settings.conversion_window_hours)
    with storage.snapshot() as tx:
        rows = tx.profiles.actions([*EMAIL_ACTIONS, settings.goal])
        readout = read_experiments(rows, settings.goal, window, key)
        spans = {s: in_segment_at(tx.segments.history(s)) for s in segment_keys}
    return [
        build_report(readout.experiments[k], settings, spans, readout.skipped)
        for k in sorted(readout.experiments)
    ]


def experiment_report(
    storage: Storage, settings: ExperimentSettings, key: str, segment_keys: Sequence[str] = ()
) -> ExperimentReport:
    found = experiment_reports(storage, settings, segment_keys, key)
    if not found:
        raise NotFoundError(
            f"no experiment {key!r} in the log",
            where="key",
            hint="an experiment appears once an email_sent event carries it "
            "(properties experiment and variant)",
        )
    return found[0]
