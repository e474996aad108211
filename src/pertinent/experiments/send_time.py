"""Send-time optimization: when in the week each person reads, and the best instant to send.

The model. Each person's human opens, clicks and visits, placed in the hours of the week of
their own time zone (168 bins, Monday 00:00 first), are their evidence. A person with three
opens has not shown their week, so each person's distribution is a posterior mean that
shrinks their counts toward their group's distribution (a segment, or any grouping the caller
chooses), which itself shrinks toward the workspace's:

    p_person[h] = (c[h] + a · p_group[h]) / (n + a)

with `a` (how many observations the prior is worth) chosen by empirical Bayes: the value
that makes the people's observed (raw) counts most likely under a Dirichlet–multinomial with
that prior (Minka, "Estimating a Dirichlet distribution", 2000, §4; the same empirical-Bayes
argument as Efron & Morris, "Stein's estimation rule and its competitors", JASA 68, 1973).
A person with no data gets their group's distribution; a person with a long history keeps
their own.

Before that, each event is spread a little, because reading at 19:10 on a Tuesday says
something about 19:00 on a Wednesday and about 18:00 on Tuesday: half of it stays on its
hour of the week and half goes to the same hour of every day; of each half, a quarter goes to
the hour before and a quarter to the hour after.

Choosing the instant (`best_send_time`) is a pure function of the distribution, the person's
zone, `now` and the quiet hours: the start of the most likely local hour in the next 24 h
that is not quiet, the earliest on ties.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import gammaln

from pertinent.events.model import PAGE_ACTION, SCREEN_ACTION
from pertinent.experiments.stats import Array

HOURS = 168
_HOUR = timedelta(hours=1)
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")


def zone(name: object) -> ZoneInfo:
    """The IANA zone a `timezone` trait names; UTC for anything that is not one (the trait
    is the person's data, so it may be anything)."""
    if isinstance(name, str) and len(name) <= 64 and _ZONE_NAME.match(name):
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return ZoneInfo("UTC")


def hour_of_week(at: datetime, tz: tzinfo) -> int:
    local = at.astimezone(tz)
    return local.weekday() * 24 + local.hour


def spread(counts: Array) -> Array:
    """Each event spread over its neighbourhood (see the module docstring); rows are people."""
    c = np.asarray(counts, dtype=np.float64)
    week = c.reshape(*c.shape[:-1], 7, 24)
    daily = np.broadcast_to(week.sum(axis=-2, keepdims=True) / 7, week.shape)
    mixed = (0.5 * week + 0.5 * daily).reshape(c.shape)
    return 0.5 * mixed + 0.25 * np.roll(mixed, 1, axis=-1) + 0.25 * np.roll(mixed, -1, axis=-1)


def _log_evidence(log_a: float, counts: Array, prior: Array) -> float:
    """Minus the Dirichlet–multinomial log likelihood of every row of `counts` (the terms
    that depend on the concentration exp(log_a) only)."""
    a = float(np.exp(log_a))
    alpha = a * prior
    n = counts.sum(axis=-1)
    total = gammaln(a) - gammaln(n + a) + (gammaln(counts + alpha) - gammaln(alpha)).sum(axis=-1)
    return -float(total.sum())


def concentration(counts: Array, prior: Array) -> float:
    """The empirical-Bayes prior strength for these rows of counts and their prior means."""
    if counts.size == 0 or counts.sum() == 0:
        return 1.0
    found = minimize_scalar(
        _log_evidence, bounds=(np.log(0.5), np.log(1e5)), args=(counts, prior), method="bounded"
    )
    return float(np.exp(found.x))


def _shrink(counts: Array, prior: Array, a: float) -> Array:
    n = counts.sum(axis=-1, keepdims=True)
    shrunk: Array = (counts + a * prior) / (n + a)
    return shrunk


@dataclass(frozen=True)
class SendTimeModel:
    """Hour-of-week reading distributions: the workspace's, each group's, each person's
    (only for people with evidence; the rest read like their group)."""

    workspace: Array
    groups: dict[str, Array] = field(default_factory=dict)
    people: dict[str, Array] = field(default_factory=dict)
    person_strength: float = 1.0

    def distribution(self, profile_id: str, group: str | None = None) -> Array:
        found = self.people.get(profile_id)
        if found is not None:
            return found
        return self.groups.get(group, self.workspace) if group is not None else self.workspace


@dataclass(frozen=True)
class Activity:
    """A sign that the person was reading at `at`: a human open, a click, a visit."""

    profile_id: str
    at: datetime
    weight: float = 1.0


# How much each kind of event says about when a person reads mail: an open or a click is
# reading itself; a visit to the shop says they are online, not that they read mail.
READING_SIGNALS = {"email_opened": 1.0, "email_clicked": 1.0, PAGE_ACTION: 0.5, SCREEN_ACTION: 0.5}


def reading_activity(
    rows: Iterable[tuple[str, str, datetime, Mapping[str, Any]]],
) -> list[Activity]:
    """The reading signals among (profile, action, time, properties) rows, as
    `ProfileStore.actions(list(READING_SIGNALS))` answers them; opens and clicks flagged
    `machine` (privacy proxies, link scanners) are not a person reading."""
    return [
        Activity(pid, at, READING_SIGNALS[action])
        for pid, action, at, props in rows
        if action in READING_SIGNALS and props.get("machine") is not True
    ]


def hour_counts(activity: Iterable[Activity], zones: Mapping[str, tzinfo]) -> dict[str, np.ndarray]:
    """Each person's weighted activity per local hour of the week (UTC where no zone)."""
    counts: dict[str, np.ndarray] = {}
    for item in activity:
        row = counts.get(item.profile_id)
        if row is None:
            row = counts[item.profile_id] = np.zeros(HOURS)
        row[hour_of_week(item.at, zones.get(item.profile_id, UTC))] += item.weight
    return counts


def fit_send_times(
    counts: Mapping[str, np.ndarray], group_of: Mapping[str, str] | None = None
) -> SendTimeModel:
    """The model from per-person hour-of-week counts; `group_of` names each person's group
    (their segment, say); people without one shrink toward the workspace directly."""
    group_of = group_of or {}
    ids = list(counts)
    if not ids:
        return SendTimeModel(np.full(HOURS, 1 / HOURS))
    raw = np.stack([counts[i] for i in ids])
    smooth = spread(raw)
    # The workspace is everyone pooled, with one observation spread evenly so that no hour
    # is ever impossible.
    pooled = smooth.sum(axis=0) + 1 / HOURS
    workspace = pooled / pooled.sum()
    # Each prior strength is estimated on the raw counts, where the Dirichlet–multinomial
    # likelihood is one (spread counts are not independent events), and then applied to the
    # spread counts.
    names = sorted({g for i in ids if (g := group_of.get(i)) is not None})
    member = np.array([names.index(g) if (g := group_of.get(i)) is not None else -1 for i in ids])
    group_raw, group_smooth = np.zeros((len(names), HOURS)), np.zeros((len(names), HOURS))
    np.add.at(group_raw, member[member >= 0], raw[member >= 0])
    np.add.at(group_smooth, member[member >= 0], smooth[member >= 0])
    group_strength = concentration(group_raw, workspace[None, :])
    groups = {g: _shrink(group_smooth[k], workspace, group_strength) for k, g in enumerate(names)}
    priors = np.stack([groups[names[m]] if m >= 0 else workspace for m in member])
    strength = concentration(raw, priors)
    people = _shrink(smooth, priors, strength)
    return SendTimeModel(workspace, groups, dict(zip(ids, people, strict=True)), strength)


@dataclass(frozen=True)
class QuietHours:
    """Local hours when no marketing email may go: from `start` to `end`, wrapping past
    midnight when `start` is later than `end` (21:00–08:00)."""

    start: time
    end: time

    def contains(self, local: datetime) -> bool:
        t = local.time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


def best_send_time(
    distribution: Array,
    tz: tzinfo,
    now: datetime,
    quiet: QuietHours | None = None,
    horizon: timedelta = timedelta(hours=24),
) -> datetime:
    """The start of the person's most likely reading hour within `horizon` of `now` (UTC),
    outside quiet hours; `now` itself if nothing in the window is allowed to do better (the
    caller's quiet-hours rule then defers it as it would any send)."""
    local_now = now.astimezone(tz)
    first = local_now.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    if first < now:
        first += _HOUR
    best: datetime | None = None
    best_p = -1.0
    candidate = first
    while candidate < now + horizon:
        local = candidate.astimezone(tz)
        if quiet is None or not quiet.contains(local):
            p = float(distribution[local.weekday() * 24 + local.hour])
            if p > best_p:
                best, best_p = candidate, p
        candidate += _HOUR
    return best if best is not None else now
