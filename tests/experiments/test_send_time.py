"""Send-time optimization: each person's reading hours, shrunk toward their group when thin;
the best instant in the next 24 h outside quiet hours; and, in the simulator, more human
opens than a fixed 10:00 send."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pertinent.experiments.send_time import (
    HOURS,
    Activity,
    QuietHours,
    best_send_time,
    fit_send_times,
    hour_counts,
    hour_of_week,
    reading_activity,
    zone,
)
from pertinent.sim import SimEmail, Simulation, email_rng

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
NIGHT = QuietHours(time(21), time(8))


def _opens(person: str, local_hour: int, days: int, tz: timezone = UTC) -> list[Activity]:
    return [
        Activity(person, datetime(2026, 1, 5, local_hour, 10, tzinfo=tz) + timedelta(days=d))
        for d in range(days)
    ]


def test_a_reader_of_many_evenings_is_sent_to_at_their_hour_in_their_zone() -> None:
    berlin = zone("Europe/Berlin")
    activity = _opens("ann", 19, 20, tz=berlin) + _opens("ben", 8, 20)
    counts = hour_counts(activity, {"ann": berlin})
    model = fit_send_times(counts)
    at = best_send_time(model.distribution("ann"), berlin, MONDAY + timedelta(hours=3), NIGHT)
    assert at.astimezone(berlin).hour == 19 and at.minute == 0
    assert MONDAY < at < MONDAY + timedelta(hours=27)


def test_thin_evidence_is_shrunk_toward_the_group_and_rich_evidence_is_kept() -> None:
    group = {f"p{i}": "evening" for i in range(40)}
    activity = [a for i in range(40) for a in _opens(f"p{i}", 20, 6)]
    activity += _opens("thin", 9, 1) + _opens("rich", 9, 40)
    group |= {"thin": "evening", "rich": "evening"}
    model = fit_send_times(hour_counts(activity, {}), group)
    thin, rich = model.distribution("thin"), model.distribution("rich")
    assert thin.argmax() % 24 == 20, "one open at 09:00 does not outweigh the group"
    assert rich.argmax() % 24 == 9, "forty opens at 09:00 do"
    assert thin[9] > model.groups["evening"][9], "but the one open still counts"
    assert model.distribution("nobody", "evening") is model.groups["evening"]
    assert (
        model.distribution("nobody").sum() == np.float64(1.0)
        or abs(model.workspace.sum() - 1) < 1e-9
    )


def test_quiet_hours_are_never_chosen() -> None:
    model = fit_send_times(hour_counts(_opens("owl", 23, 30), {}))
    noon = MONDAY + timedelta(hours=12)
    assert best_send_time(model.distribution("owl"), UTC, noon).hour == 23
    at = best_send_time(model.distribution("owl"), UTC, noon, NIGHT)
    assert not NIGHT.contains(at) and noon <= at < noon + timedelta(hours=24)


def test_a_time_zone_trait_that_is_not_one_means_utc() -> None:
    for hostile in ("../../etc/passwd", "Mars/Olympus", 42, None, "x" * 500, "America"):
        assert zone(hostile) == zone("UTC")
    assert str(zone("Australia/Sydney")) == "Australia/Sydney"


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(0, 10), min_size=HOURS, max_size=HOURS),
    minutes=st.integers(0, 7 * 24 * 60),
    name=st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata", "Australia/Sydney"]),
)
def test_the_choice_is_a_local_hour_start_within_a_day_and_outside_quiet_hours(
    weights: list[float], minutes: int, name: str
) -> None:
    tz = zone(name)
    now = MONDAY + timedelta(minutes=minutes)
    at = best_send_time(np.asarray(weights) + 1e-9, tz, now, NIGHT)
    assert now <= at < now + timedelta(hours=24)
    local = at.astimezone(tz)
    assert local.minute == 0 and not NIGHT.contains(local)


@pytest.mark.slow
def test_send_time_optimization_beats_a_fixed_ten_o_clock_send_in_the_simulator() -> None:
    """Eight weeks of emails at random hours teach the model when each person reads (from
    their human opens only, as the simulator's visits follow another habit); then everyone
    gets one more email, either at 10:00 their time or at the model's hour (quiet hours
    21:00–08:00), answering from the same random stream both times (a paired comparison)."""
    sim = Simulation(seed=8, n_people=3000, n_products=30, start=MONDAY)
    rng = np.random.default_rng(8)
    zones = {p.user_id: timezone(timedelta(hours=p.utc_offset_hours)) for p in sim.people}
    history: list[Activity] = []
    for person in sim.people:
        for week in range(8):
            at = MONDAY - timedelta(weeks=8 - week, hours=float(rng.uniform(0, 168)))
            email = SimEmail(f"h{week}", person.email, "News", "", ["l"], [])
            for answer in sim.respond(person, email, at, email_rng(8, f"{person.user_id}/{week}")):
                if answer.kind in ("open", "click"):
                    history.append(Activity(person.user_id, answer.at))
    model = fit_send_times(hour_counts(history, zones))
    opens = {"fixed 10:00": 0, "optimized": 0}
    for person in sim.people:
        tz = zones[person.user_id]
        now = MONDAY + timedelta(days=1, hours=float(rng.uniform(0, 24)))
        ten = now.astimezone(tz).replace(hour=10, minute=0, second=0, microsecond=0)
        fixed = ten if ten >= now else ten + timedelta(days=1)
        best = best_send_time(model.distribution(person.user_id), tz, now, NIGHT)
        email = SimEmail("next", person.email, "News", "", ["l"], [])
        for label, at in (("fixed 10:00", fixed), ("optimized", best)):
            answers = sim.respond(person, email, at, email_rng(8, f"{person.user_id}/next"))
            opens[label] += any(a.kind == "open" for a in answers)
    print(f"\nhuman opens of 3,000 people: {opens}")
    assert opens["optimized"] > 1.05 * opens["fixed 10:00"]


def test_reading_signals_are_human_opens_clicks_and_visits() -> None:
    rows = [
        ("ann", "email_opened", MONDAY, {"message_id": "m"}),
        ("ann", "email_opened", MONDAY, {"message_id": "m", "machine": True}),
        ("ann", "email_clicked", MONDAY, {}),
        ("ann", "Page Viewed", MONDAY, {"path": "/"}),
        ("ann", "Order Completed", MONDAY, {}),
    ]
    assert [a.weight for a in reading_activity(rows)] == [1.0, 1.0, 0.5]


def test_hour_of_week_starts_on_monday_midnight_local() -> None:
    assert hour_of_week(MONDAY, UTC) == 0
    assert hour_of_week(MONDAY - timedelta(minutes=1), UTC) == HOURS - 1
    assert hour_of_week(MONDAY, zone("America/New_York")) == HOURS - 5
