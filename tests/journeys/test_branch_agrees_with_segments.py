"""A journey's branch decides with the one condition evaluator, on what the journeys phase
loads for the person (their profile and the events the condition names): on random
condition trees, profiles and event histories it takes the path the SQL compiler's segment
membership says, on SQLite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from conftest import START
from factories import track
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pertinent.journeys.caps import SendPolicy
from pertinent.journeys.model import Instance, JourneyDefinition
from pertinent.journeys.timing import UTC_ZONE
from pertinent.journeys.versions import JourneySet
from pertinent.processor.journeys_io import JourneyLoader
from pertinent.profiles.state import ProfileState
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.language import Condition, SegmentDefinition
from pertinent.storage.ports import Storage
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage

PEOPLE = ["p0", "p1", "p2", "p3"]
ACTIONS = ["Viewed", "Ordered", "Clicked"]

values = st.sampled_from([0, 1, 5, 20, "a", "b", True])
traits = st.fixed_dictionaries({}, optional={"plan": values, "age": values, "x": values})
ops = st.sampled_from(["eq", "ne", "gt", "lte", "exists", "not_exists", "in"])


@st.composite
def comparison(draw: st.DrawFn, field: str, name: str) -> dict[str, Any]:
    op = draw(ops)
    found: dict[str, Any] = {field: name, "op": op}
    if op == "in":
        found["value"] = draw(st.lists(values, min_size=1, max_size=3))
    elif op not in ("exists", "not_exists"):
        found["value"] = draw(
            values.filter(lambda v: op == "eq" or op == "ne" or not isinstance(v, bool))
        )
    return found


@st.composite
def leaf(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["trait", "performed", "not_performed"]))
    if kind == "trait":
        return {
            "type": "trait",
            **draw(comparison("trait", draw(st.sampled_from(["plan", "age", "x"])))),
        }
    node: dict[str, Any] = {"type": kind, "event": draw(st.sampled_from(ACTIONS))}
    if draw(st.booleans()):
        node["within"] = draw(st.sampled_from(["1h", "1d", "7d"]))
    if draw(st.booleans()):
        node["where"] = [draw(comparison("property", "x"))]
    if kind == "performed" and draw(st.booleans()):
        node["at_least"] = draw(st.integers(1, 3))
    return node


trees = st.recursive(
    leaf(),
    lambda children: st.one_of(
        st.builds(
            lambda c: {"type": "all", "conditions": c}, st.lists(children, min_size=1, max_size=3)
        ),
        st.builds(
            lambda c: {"type": "any", "conditions": c}, st.lists(children, min_size=1, max_size=3)
        ),
        st.builds(lambda c: {"type": "not", "condition": c}, children),
    ),
    max_leaves=5,
)
histories = st.lists(
    st.tuples(
        st.sampled_from(PEOPLE),
        st.sampled_from(ACTIONS),
        st.integers(0, 60 * 24 * 9),  # minutes before now
        st.fixed_dictionaries({}, optional={"x": values}),
    ),
    max_size=12,
)


def _journey(condition: dict[str, Any]) -> JourneyDefinition:
    return JourneyDefinition.model_validate(
        {
            "key": "j",
            "trigger": {"type": "event", "event": "Start"},
            "steps": [
                {
                    "id": "check",
                    "type": "branch",
                    "branches": [{"condition": condition, "next": "yes"}],
                    "else": "no",
                },
                {"id": "yes", "type": "wait", "duration": "1d", "next": "exit"},
                {"id": "no", "type": "wait", "duration": "2d"},
            ],
        }
    )


def _store(storage: Storage, people: list[dict[str, Any]], history: list[Any]) -> None:
    now = START + timedelta(days=10)
    with storage.transaction() as tx:
        tx.profiles.save(
            [ProfileState(pid, traits=t) for pid, t in zip(PEOPLE, people, strict=True)]
        )
        events = [
            track(a, now - timedelta(minutes=m), user=p, **props) for p, a, m, props in history
        ]
        tx.log.append(events)
        logged = tx.log.read_after(tx.log.last_seq() - len(events), len(events) + 1)
        tx.profiles.record(
            [
                (e.seq, e.event.user_id or "", e.event.name, e.event.timestamp, e.event.properties)
                for e in logged
            ]
        )


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(trees, st.lists(traits, min_size=4, max_size=4), histories)
def test_a_branch_takes_the_path_segment_membership_says(
    tmp_path_factory: Any,
    condition: dict[str, Any],
    people: list[dict[str, Any]],
    history: list[Any],
) -> None:
    folder: Path = tmp_path_factory.mktemp("agree")
    storage = SqlStorage(Database(f"sqlite:///{folder / 'db.sqlite'}"))
    try:
        _store(storage, people, history)
        now = START + timedelta(days=10)
        journey = _journey(condition)
        cond: Condition = journey.steps[0].branches[0].condition  # type: ignore[union-attr]
        segments = SegmentSet([SegmentDefinition(key="s", condition=cond)])
        policy = SendPolicy((), None, UTC_ZONE, lambda _t: "marketing")
        loader = JourneyLoader(JourneySet.of([journey]), policy, segments)
        due = [
            Instance(f"i{p}", "j", p, "check", "waiting", START, wake_at=now, step_at=now)
            for p in PEOPLE
        ]
        with storage.snapshot() as tx:
            holds = tx.segments.matching(segments.conditions, {"s": None}, now)["s"]
            profiles = tx.profiles.load(PEOPLE)
            advanced = loader.on_wake(tx, due, profiles, now)
        took_yes = {i.profile_id for i in advanced.instances if i.step == "yes"}
        assert took_yes == holds & set(PEOPLE)
    finally:
        storage.close()
