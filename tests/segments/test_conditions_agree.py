"""One condition language, two evaluators: the SQL compiler (`storage/sql/conditions.py`)
must give the Python reference (`segments/evaluate.py`) answers for any condition and any
person, on SQLite and on PostgreSQL; and `segments/dependencies.can_change` must never say
"cannot change" of an event that does change a segment's truth.

Generated values stay where JSON survives a round trip through orjson and both databases:
floats are finite with |x| < 1e12, strings are printable text (letters, marks, digits,
punctuation, symbols, spaces; non-ASCII included) without surrogates or control characters.
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, assert_never

import pytest
from conftest import POSTGRES_URL
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from pertinent.events.model import Event, EventType
from pertinent.profiles.fold import apply_event
from pertinent.profiles.state import ProfileState
from pertinent.segments.dates import DAY, day_range, stored_path
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.dependencies import can_change
from pertinent.segments.evaluate import Person, PersonEvent, anchor, holds
from pertinent.segments.language import (
    AggregateCondition,
    AllCondition,
    AnniversaryCondition,
    AnyCondition,
    Comparison,
    Condition,
    DaysSinceCondition,
    InSegmentCondition,
    NotCondition,
    NotPerformedCondition,
    PerformedCondition,
    SegmentDefinition,
    SequenceCondition,
    TraitCondition,
)
from pertinent.segments.timing import Clock
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage, SqlTransaction

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
WINDOWS = [timedelta(hours=1), timedelta(days=1), timedelta(days=7)]
GAPS = [timedelta(minutes=30), timedelta(hours=1), timedelta(days=1)]
ACTIONS = ["Viewed", "Logged In", "Order Completed", "Page Viewed"]
# Keys of generated JSON objects: the first keys of every path, and the keys inside objects
# ("0", so that a path `a.0` meets lists on its way as well as objects).
HEADS = ["x", "y", "a", "é"]
KEYS = ["x", "a", "b", "0"]
TRAIT_PATHS = ["x", "é", "a.b", "a.0", "traits.x", "traits.a.b", "computed.y", "computed.a.b"]
PROPERTY_PATHS = ["x", "a", "a.b", "a.0"]
# Computed properties that folding events really changes, for the `can_change` property.
FOLDED_PATHS = [
    "computed.orders",
    "computed.revenue",
    "computed.event_counts.Viewed",
    "computed.event_counts.Order Completed",
    "computed.category_counts.Books",
    "computed.favourite_category",
    "computed.last_visit_at",
    "computed.last_order_at",
]
# Dates: computed times, and date traits (read from their canonical copies).
DATE_PATHS = ["computed.d", "computed.a.d", "signed_up_at", "traits.birthday"]
DAY_OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "between", "exists", "not_exists"]
OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "exists", "not_exists", "contains"]
CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)

# --- values ---------------------------------------------------------------------------------

_printable = st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Zs"])
texts = st.sampled_from(["", "5", "a", "ab", "b", "NYC", "é", "Ω", "日本", "Books"]) | st.text(
    _printable, max_size=4
)
ints = st.sampled_from([0, 1, 5, -3, 10]) | st.integers(-(10**12) + 1, 10**12 - 1)
floats = st.sampled_from([0.0, -0.0, 0.5, 5.0, -2.5, 0.1, 1e-7]) | st.floats(
    -1e12, 1e12, allow_nan=False, allow_infinity=False, exclude_min=True, exclude_max=True
)
numbers = ints | floats
# A third each (a plain `|` would flatten to one branch in seven for booleans).
scalars = st.sampled_from([numbers, texts, st.booleans()]).flatmap(lambda kind: kind)


def _json(scalar: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """JSON two levels deep (without `st.recursive`, whose retries cost more than the
    databases), with `scalar` at the leaves."""
    flat = st.none() | scalar
    shallow = flat | st.lists(flat, max_size=3) | st.dictionaries(st.sampled_from(KEYS), flat)
    return (
        shallow
        | st.lists(shallow, max_size=2)
        | st.dictionaries(st.sampled_from(KEYS), shallow, max_size=3)
    )


def _bags(scalar: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Each key a path starts with present about half the time (`st.dictionaries` mostly
    draws tiny ones)."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(HEADS, _json(scalar)))


# Around `NOW`: exactly at a window's start, a microsecond either side, or anywhere.
times = (
    st.tuples(st.sampled_from(WINDOWS), st.sampled_from([-1, 0, 1])).map(
        lambda w: NOW - w[0] + w[1] * MICROSECOND
    )
    | st.integers(-8 * 86400, 3600).map(lambda s: NOW + timedelta(seconds=s))
    | st.just(NOW)
)


# --- conditions -----------------------------------------------------------------------------


@st.composite
def _comparison(draw: st.DrawFn, field: str, paths: Sequence[str]) -> dict[str, Any]:
    op = draw(st.sampled_from(OPS))
    out: dict[str, Any] = {field: draw(st.sampled_from(paths)), "op": op}
    if op in ("eq", "ne"):
        out["value"] = draw(scalars)
    elif op in ("gt", "gte", "lt", "lte"):
        out["value"] = draw(numbers | texts)
    elif op == "between":
        bounds = draw(st.tuples(numbers, numbers) | st.tuples(texts, texts))
        out["value"] = sorted(bounds) if draw(st.booleans()) else list(bounds)
    elif op == "in":
        out["value"] = draw(st.lists(scalars, max_size=3))
    elif op == "contains":
        out["value"] = draw(texts)
    return out


_filters = st.lists(_comparison("property", PROPERTY_PATHS), max_size=2)


@st.composite
def _event_leaf(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    leaf: dict[str, Any] = {"type": kind, "event": draw(st.sampled_from(ACTIONS))}
    if kind == "performed":
        leaf["at_least"] = draw(st.integers(1, 3))
    within = draw(st.none() | st.sampled_from(WINDOWS))
    if within is not None:
        leaf["within"] = within
    leaf["where"] = draw(_filters)
    return leaf


def _step(draw: st.DrawFn) -> dict[str, Any]:
    return {"event": draw(st.sampled_from(ACTIONS)), "where": draw(_filters)}


@st.composite
def _sequence_leaf(draw: st.DrawFn) -> dict[str, Any]:
    first = _step(draw)
    if draw(st.booleans()):
        first["within"] = draw(st.sampled_from(WINDOWS))
    second = "then_not" if draw(st.booleans()) else "then"
    return {
        "type": "sequence",
        "first": first,
        second: _step(draw),
        "within": draw(st.sampled_from(GAPS)),
    }


# Condition amounts: below a billion; events may carry any number (a billion and more is not
# counted).
amounts = st.sampled_from([0, 1, 5, 0.5, 2.5, -3, 0.1, 0.3, 1e-7, 999_999_999]) | st.floats(
    -1e9, 1e9, allow_nan=False, exclude_min=True, exclude_max=True
)


@st.composite
def _aggregate_leaf(draw: st.DrawFn) -> dict[str, Any]:
    function = draw(st.sampled_from(["count", "sum", "avg", "min", "max", "last"]))
    leaf: dict[str, Any] = {
        "type": "aggregate",
        "event": draw(st.sampled_from(ACTIONS)),
        "function": function,
        "where": draw(_filters),
    }
    if (within := draw(st.none() | st.sampled_from(WINDOWS))) is not None:
        leaf["within"] = within
    if function != "count":
        leaf["property"] = draw(st.sampled_from(PROPERTY_PATHS))
    if function == "last":
        compared = draw(_comparison("property", PROPERTY_PATHS))
        return {**leaf, "op": compared["op"], "value": compared.get("value")}
    op = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "between"]))
    value = draw(st.lists(amounts, min_size=2, max_size=2) if op == "between" else amounts)
    return {**leaf, "op": op, "value": value}


days = st.sampled_from([0, 1, 7, 30, -1, 2.5]) | st.integers(-40, 40)


@st.composite
def _days_leaf(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(DAY_OPS))
    leaf: dict[str, Any] = {
        "type": "days_since",
        "date": draw(st.sampled_from(DATE_PATHS)),
        "op": op,
    }
    if op == "between":
        leaf["value"] = draw(st.lists(days, min_size=2, max_size=2))
    elif op not in ("exists", "not_exists"):
        leaf["value"] = draw(days)
    return leaf


_anniversary_leaf = st.builds(
    lambda date, n: {"type": "anniversary", "date": date, "in_next_days": n},
    st.sampled_from(DATE_PATHS),
    st.sampled_from([1, 2, 7, 30, 365, 366]) | st.integers(1, 366),
)


@functools.cache  # built once per paths: a fresh strategy per draw is slow
def _leaves(paths: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    trait = _comparison("trait", paths).map(lambda c: {"type": "trait", **c})
    return (
        trait
        | trait
        | _event_leaf("performed")
        | _event_leaf("not_performed")
        | _sequence_leaf()
        | _aggregate_leaf()
        | _days_leaf()
        | _anniversary_leaf
    )


@functools.cache
def _conditions(refs: tuple[str, ...], paths: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    leaves = _leaves(paths)
    if refs:
        leaves |= st.sampled_from(refs).map(lambda k: {"type": "in_segment", "segment": k})

    def branches(inner: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
        children = st.lists(inner, min_size=1, max_size=3)
        groups = children.map(lambda cs: {"type": "all", "conditions": cs}) | children.map(
            lambda cs: {"type": "any", "conditions": cs}
        )
        # No `not` of a `not`: chains of them would crowd out the leaves.
        return groups | (leaves | groups).map(lambda c: {"type": "not", "condition": c})

    return st.recursive(leaves, branches, max_leaves=6)


@st.composite
def segment_sets(draw: st.DrawFn, paths: Sequence[str] = TRAIT_PATHS) -> SegmentSet:
    """One to three trees (each may refer to the ones before it, so never in a cycle), and a
    few single leaves besides: the trees test how nodes combine, the leaves what leaves mean
    (cheaply and densely: trees spend most of their size on branches)."""
    trees = [f"s{i}" for i in range(draw(st.integers(1, 3)))]
    drawn = [draw(_conditions(tuple(trees[:i]), tuple(paths))) for i in range(len(trees))]
    drawn += draw(st.lists(_leaves(tuple(paths)), max_size=6))
    keys = trees + [f"p{i}" for i in range(len(drawn) - len(trees))]
    return SegmentSet(
        [
            SegmentDefinition(key=key, condition=CONDITION.validate_python(tree))
            for key, tree in zip(keys, drawn, strict=True)
        ]
    )


# --- people ---------------------------------------------------------------------------------


def _operands(cmp: Comparison) -> list[Any]:
    if cmp.value is None:
        return []
    if isinstance(cmp.value, list):
        return list(cmp.value)
    if isinstance(cmp, AggregateCondition) and cmp.function in ("sum", "avg"):
        return [cmp.value, cmp.value / 2]  # two events that add up to it
    return [cmp.value, f"«{cmp.value}»"] if cmp.op == "contains" else [cmp.value]


def _date_strings(cond: DaysSinceCondition | AnniversaryCondition) -> list[Any]:
    """Stored date strings at the edges of a date condition (first: exactly at them), in the
    forms a date can take, and a few that are no date at all."""
    if isinstance(cond, DaysSinceCondition):
        if cond.op in ("exists", "not_exists"):
            return [NOW.isoformat(), "", 5]
        lo, hi = day_range(cond.op, cond.value, NOW)
        exact = [b for b in (lo, hi) if b is not None]
        bounds = cond.value if isinstance(cond.value, list) else [cond.value]
        ks = {int(b) + d for b in bounds for d in (-1, 0, 1, 2)}
        instants = [NOW - k * DAY + e * MICROSECOND for k in ks for e in (-1, 0, 1)]
    else:
        ks = {-1, 0, 1, cond.in_next_days - 1, cond.in_next_days}
        instants = [(NOW + k * DAY).replace(year=y) for k in ks for y in (1990, 2026, 2031)]
        instants.append(datetime(1992, 2, 29, tzinfo=UTC))
        exact = [instants[0].isoformat()]
    shapes = [i.isoformat() for i in instants] + [i.date().isoformat() for i in instants]
    return [*exact, *exact, *shapes, "", "2026-13-01", "soon", 5]


def _dates(cond: Condition) -> Iterator[tuple[str, list[Any]]]:
    """For every date condition in a tree: the paths its date is at (the stored copy, and the
    trait itself, which an identify sets) with strings for them."""
    match cond:
        case DaysSinceCondition() | AnniversaryCondition():
            strings = _date_strings(cond)
            yield stored_path(cond.date), strings
            yield cond.date.removeprefix("traits.").removeprefix("computed."), strings
        case AllCondition() | AnyCondition():
            for child in cond.conditions:
                yield from _dates(child)
        case NotCondition():
            yield from _dates(cond.condition)
        case _:
            return


def _read(cond: Condition) -> Iterator[tuple[str, Comparison]]:
    """Every comparison in a tree, with the path it reads in its bag (traits, computed
    properties or event properties)."""
    match cond:
        case TraitCondition():
            yield cond.trait.removeprefix("computed.").removeprefix("traits."), cond
        case PerformedCondition() | NotPerformedCondition():
            yield from ((f.property, f) for f in cond.where)
        case SequenceCondition():
            yield from ((f.property, f) for s in (cond.first, cond.second) for f in s.where)
        case AggregateCondition():
            yield from ((f.property, f) for f in cond.where)
            if cond.property is not None:
                yield cond.property, cond
        case AllCondition() | AnyCondition():
            for child in cond.conditions:
                yield from _read(child)
        case NotCondition():
            yield from _read(cond.condition)
        case InSegmentCondition() | DaysSinceCondition() | AnniversaryCondition():
            return
        case _:
            assert_never(cond)


def _placed(path: str, leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A bag with a value at `path`; on the way, where a key is a digit, an object or a list
    (which a path must not index: `a.0` of `{"a": [5]}` is missing)."""
    head, *rest = path.split(".")
    value = leaf
    for key in reversed(rest):
        inside = value.map(functools.partial(_keyed, key))
        value = inside | value.map(lambda v: [v]) if key.isdigit() else inside
    return value.map(functools.partial(_keyed, head))


def _keyed(key: str, value: Any) -> dict[str, Any]:
    return {key: value}


def _bags_near(segments: SegmentSet) -> st.SearchStrategy[dict[str, Any]]:
    """Bags for people, often holding the very values the segments compare with (so
    equalities and edges are hit exactly, not by luck), often at the very paths they read."""
    read = [r for cond in segments.conditions.values() for r in _read(cond)]
    pool = [v for _, cmp in read for v in _operands(cmp)]
    scalar = st.sampled_from(pool) | scalars if pool else scalars
    bags = _bags(scalar)
    spots = [(path, [None, *_operands(cmp)]) for path, cmp in read]
    dates = [d for cond in segments.conditions.values() for d in _dates(cond)]
    if not spots and not dates:
        return bags
    # A comparison's own path, holding one of its own operands (or anything); and the
    # dates, mostly exactly at their edges.
    placed = (
        st.sampled_from(spots).flatmap(lambda r: _placed(r[0], st.sampled_from(r[1]) | scalar))
        if spots
        else st.nothing()
    )
    dated = (
        st.sampled_from(dates).flatmap(
            lambda r: _placed(r[0], st.sampled_from(r[1][:2]) | st.sampled_from(r[1]))
        )
        if dates
        else st.nothing()
    )
    return st.builds(
        lambda bag, extra: {**bag, **{k: v for p in extra for k, v in p.items()}},
        bags,
        st.lists(placed | dated, max_size=3),
    )


def _people(bags: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Person]:
    events = st.builds(
        PersonEvent, action=st.sampled_from([*ACTIONS, None]), timestamp=times, properties=bags
    )
    return st.builds(Person, traits=bags, computed=bags, events=st.lists(events, max_size=5))


# --- SQL agrees with the evaluator ----------------------------------------------------------

_messages = itertools.count(1)
_runs = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStorage]:
    """One real database per test function; examples keep apart by their profile ids."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'agree.db'}")
    else:
        db = Database(POSTGRES_URL, schema=request.getfixturevalue("pg_schema"))
    store = SqlStorage(db)
    yield store
    store.close()


def _store(tx: SqlTransaction, crowd: dict[str, Person]) -> None:
    """The people as profiles, their events appended to the log and attributed to them."""
    tx.profiles.save(
        [
            ProfileState(pid, traits=dict(p.traits), computed=dict(p.computed))
            for pid, p in crowd.items()
        ]
    )
    attributed = [(pid, e) for pid, p in crowd.items() for e in p.events]
    if not attributed:
        return
    last = tx.log.last_seq()
    tx.log.append(
        [
            Event(
                f"agree-{next(_messages)}",
                "track" if e.action is not None else "identify",
                e.timestamp,
                NOW,
                user_id=pid,
                name=e.action,
                properties=dict(e.properties),
            )
            for pid, e in attributed
        ]
    )
    logged = tx.log.read_after(last, len(attributed))
    tx.profiles.record(
        [
            (entry.seq, pid, e.action, e.timestamp, dict(e.properties))
            for entry, (pid, e) in zip(logged, attributed, strict=True)
        ]
    )


def _nodes(cond: Condition) -> Iterator[Condition]:
    """A condition and all its parts (a referenced segment is checked as itself)."""
    yield cond
    if isinstance(cond, AllCondition | AnyCondition):
        for child in cond.conditions:
            yield from _nodes(child)
    elif isinstance(cond, NotCondition):
        yield from _nodes(cond.condition)


def _every_part(segments: SegmentSet) -> dict[str, Condition]:
    """Each segment and, under keys of their own, every node of its tree: a disagreement
    deep inside an `all` or `any` would otherwise hide behind its siblings."""
    out = dict(segments.conditions)
    for key, cond in segments.conditions.items():
        for i, node in enumerate(_nodes(cond)):
            if i:
                out[f"{key}/{i}"] = node
    return out


def _clocks(segments: SegmentSet) -> list[Clock]:
    return [clock for seg in segments for clock in segments.clocks(seg.key)]


def _agree(sql_storage: SqlStorage, segments: SegmentSet, data: st.DataObject) -> None:
    crowd = data.draw(
        st.lists(_people(_bags_near(segments)), min_size=1, max_size=6), label="crowd"
    )
    run = next(_runs)
    by_id = {f"r{run}-{i}": person for i, person in enumerate(crowd)}
    conditions = _every_part(segments)
    keys = list(conditions)
    clocks = _clocks(segments)
    with sql_storage.transaction() as tx:
        _store(tx, by_id)
        found = tx.segments.matching(conditions, dict.fromkeys(keys, frozenset(by_id)), NOW)
        edges = tx.segments.anchors([(c, set(by_id)) for c in clocks], NOW)
        # Over everyone (other examples' people too): the set-based shapes.
        everyone = tx.segments.matching(conditions, dict.fromkeys(keys), NOW)
    expected = {
        key: {pid for pid, p in by_id.items() if holds(conditions[key], p, NOW, conditions)}
        for key in keys
    }
    for key in segments.conditions:
        note(f"{key}: {conditions[key]!r}")
        event(f"members found: {bool(expected[key])}")
    wrong = {
        key: {"sql": found[key], "python": expected[key], "condition": conditions[key]}
        for key in keys
        if found[key] != expected[key]
    }
    assert not wrong, wrong
    wrong = {
        key: {"sql": everyone[key] & set(by_id), "python": expected[key]}
        for key in keys
        if everyone[key] & set(by_id) != expected[key]
    }
    assert not wrong, ("over everyone", wrong)
    expected_times = sorted(
        (index, pid, at)
        for index, clock in enumerate(clocks)
        for pid, p in by_id.items()
        if (at := anchor(clock, p, NOW)) is not None
    )
    assert sorted(edges) == expected_times


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segments=segment_sets(), data=st.data())
def test_sql_agrees_with_the_evaluator(
    sql_storage: SqlStorage, segments: SegmentSet, data: st.DataObject
) -> None:
    _agree(sql_storage, segments, data)


@st.composite
def _leaf_sets(draw: st.DrawFn, leaves: st.SearchStrategy[dict[str, Any]]) -> SegmentSet:
    drawn = draw(st.lists(leaves, min_size=1, max_size=6))
    return SegmentSet(
        [
            SegmentDefinition(key=f"p{i}", condition=CONDITION.validate_python(leaf))
            for i, leaf in enumerate(drawn)
        ]
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(segments=_leaf_sets(_days_leaf() | _anniversary_leaf | _aggregate_leaf()), data=st.data())
def test_sql_agrees_on_dates_and_amounts(
    sql_storage: SqlStorage, segments: SegmentSet, data: st.DataObject
) -> None:
    """Dates and amounts alone, densely: their edges (a date exactly T(k), a sum exactly the
    value) are where a backend would round or compare differently."""
    _agree(sql_storage, segments, data)


def test_sql_agrees_on_a_known_answer(sql_storage: SqlStorage) -> None:
    """A guard against the property passing because nothing ever matches."""
    segments = SegmentSet(
        [
            SegmentDefinition.model_validate(
                {
                    "key": "adults_who_viewed",
                    "condition": {
                        "type": "all",
                        "conditions": [
                            {"type": "trait", "trait": "age", "op": "gte", "value": 18},
                            {"type": "performed", "event": "Viewed", "within": "1d"},
                        ],
                    },
                }
            )
        ]
    )
    crowd = {
        "k-adult": Person({"age": 30}, {}, [PersonEvent("Viewed", NOW - timedelta(days=1), {})]),
        "k-text-age": Person({"age": "30"}, {}, [PersonEvent("Viewed", NOW, {})]),
        "k-late": Person({"age": 40}, {}, [PersonEvent("Viewed", NOW - timedelta(days=2), {})]),
    }
    with sql_storage.transaction() as tx:
        _store(tx, crowd)
        found = tx.segments.matching(segments.conditions, {"adults_who_viewed": set(crowd)}, NOW)
        edges = tx.segments.anchors([(c, set(crowd)) for c in _clocks(segments)], NOW)
    assert found == {"adults_who_viewed": {"k-adult"}}
    assert sorted(edges) == [(0, "k-adult", NOW - timedelta(days=1)), (0, "k-text-age", NOW)]
    conditions = segments.conditions
    assert {
        pid
        for pid, p in crowd.items()
        if holds(conditions["adults_who_viewed"], p, NOW, conditions)
    } == {"k-adult"}


# --- can_change is sound --------------------------------------------------------------------


_shop = st.fixed_dictionaries(
    {}, optional={"category": st.sampled_from(["Books", "Toys"]), "revenue": numbers}
)


@st.composite
def _events(draw: st.DrawFn, bags: st.SearchStrategy[dict[str, Any]]) -> Event:
    """An identify with traits, or a track / page / group call with properties."""
    kind: EventType = draw(st.sampled_from(["identify", "track", "page", "group"]))
    at = draw(times)
    if kind == "identify":
        return Event("m", "identify", at, at, user_id="u", traits=draw(bags))
    name = draw(st.sampled_from([*ACTIONS, "Product Viewed", "email_sent"]))
    return Event(
        "m",
        kind,
        at,
        at,
        user_id="u",
        name=name if kind == "track" else None,
        properties={**draw(bags), **draw(_shop)},
    )


def _person(state: ProfileState, history: Sequence[Event]) -> Person:
    return Person(
        traits=state.traits,
        computed=state.computed,
        events=[PersonEvent(e.action, e.timestamp, e.properties) for e in history if e.action],
    )


@settings(max_examples=300, deadline=None)
@given(segments=segment_sets(TRAIT_PATHS + FOLDED_PATHS), data=st.data())
def test_an_event_that_cannot_change_a_segment_does_not(
    segments: SegmentSet, data: st.DataObject
) -> None:
    """A person with a history (a new person is re-evaluated on every segment anyway) takes one
    more event (one of a few, each tried on its own); where `can_change` says no, the truth of
    every segment and every part of one must be what it was."""
    bags = _bags_near(segments)
    history = data.draw(st.lists(_events(bags), min_size=1, max_size=6), label="history")
    state = ProfileState("p")
    for e in history:
        apply_event(state, e)
    before = _person(state, history)
    conditions = _every_part(segments)
    for new in data.draw(st.lists(_events(bags), min_size=1, max_size=3), label="new events"):
        folded = copy.deepcopy(state)
        apply_event(folded, new)
        after = _person(folded, [*history, new])
        for key, cond in conditions.items():
            if can_change(cond, new, conditions):
                continue
            event("can_change said no")
            was, now = holds(cond, before, NOW, conditions), holds(cond, after, NOW, conditions)
            assert was == now, f"{new!r} changed {key}: {cond!r}"


def test_can_change_on_a_known_answer() -> None:
    """A guard against the property passing because `can_change` always says yes."""
    at = NOW - timedelta(hours=1)
    city = CONDITION.validate_python({"type": "trait", "trait": "city", "value": "NYC"})
    viewed = CONDITION.validate_python({"type": "performed", "event": "Viewed"})
    page = Event("m1", "page", at, at, user_id="u")
    move = Event("m2", "identify", at, at, user_id="u", traits={"city": "NYC"})
    assert not can_change(city, page, {})
    assert not can_change(viewed, move, {})
    assert can_change(city, move, {})
    state = ProfileState("p")
    apply_event(state, page)
    apply_event(state, move)
    assert holds(city, _person(state, [page, move]), NOW, {})
