"""The segments engine, without a database: which segments a batch can change, and what an
evaluation decides."""

from __future__ import annotations

from datetime import timedelta

from conftest import START
from factories import identify, track

from pertinent.processor.effects import EmitEvents, EnterSegment, ExitSegment, SetSegmentTimers
from pertinent.processor.segments import SegmentView, Work, evaluate, work_for
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.language import SegmentDefinition
from pertinent.segments.timing import EPSILON


def _segment(key: str, condition: dict[str, object]) -> SegmentDefinition:
    return SegmentDefinition.model_validate({"key": key, "condition": condition})


SEGMENTS = SegmentSet(
    [
        _segment("vip", {"type": "trait", "trait": "computed.revenue", "op": "gt", "value": 200}),
        _segment(
            "fans",
            {
                "type": "performed",
                "event": "Product Viewed",
                "at_least": 3,
                "within": "7d",
                "where": [{"property": "category", "value": "Electronics"}],
            },
        ),
        _segment("reachable", {"type": "trait", "trait": "email", "op": "exists"}),
        _segment(
            "reachable_fans",
            {
                "type": "all",
                "conditions": [
                    {"type": "in_segment", "segment": "reachable"},
                    {"type": "in_segment", "segment": "fans"},
                ],
            },
        ),
    ]
)


def test_a_batch_is_evaluated_only_for_the_segments_its_events_can_change() -> None:
    garden = track("Product Viewed", START, user="a", category="Garden")
    electronics = track("Product Viewed", START, user="b", category="Electronics")
    order = track("Order Completed", START, user="c", revenue=300)
    email = identify(START, user="d", email="d@example.com")

    assert not work_for(SEGMENTS, [("a", garden)], renewed=set())
    fans = work_for(SEGMENTS, [("a", garden), ("b", electronics)], renewed=set())
    assert (fans.keys, fans.among) == (["fans", "reachable_fans"], {"b"})
    assert work_for(SEGMENTS, [("c", order)], renewed=set()).keys == ["vip"]
    assert work_for(SEGMENTS, [("d", email)], renewed=set()).keys == ["reachable", "reachable_fans"]
    mixed = work_for(SEGMENTS, [("b", electronics), ("c", order)], renewed=set())
    assert mixed.people == {"vip": {"c"}, "fans": {"b"}, "reachable_fans": {"b"}}, (
        "each segment for the people whose events can change it, not for the whole batch"
    )
    everything = work_for(SEGMENTS, [("a", garden)], renewed={"e"})
    assert sorted(everything.keys) == sorted(s.key for s in SEGMENTS)
    assert everything.among == {"e"}, "a's garden view changes nothing for a"


def test_an_evaluation_enters_exits_and_times_the_next_edge() -> None:
    work = Work.of(["fans", "reachable_fans"], frozenset({"a", "b", "c"}))
    oldest_counted = START - timedelta(days=2)
    view = SegmentView(
        matching={"fans": {"a", "b", "outside-the-work"}, "reachable_fans": {"a"}},
        current={"fans": {"b", "c"}, "reachable_fans": set()},
        # clocks in order: fans' one windowed leaf, then reachable_fans' (the same, inlined)
        anchors=[(0, "a", oldest_counted), (0, "b", START), (1, "a", oldest_counted)],
    )
    effects = evaluate(SEGMENTS, work, view, START, origin="seq1-9")

    assert EnterSegment("fans", frozenset({"a"}), START) in effects
    assert ExitSegment("fans", frozenset({"c"}), START) in effects
    assert EnterSegment("reachable_fans", frozenset({"a"}), START) in effects
    timers = {e.key: e for e in effects if isinstance(e, SetSegmentTimers)}
    edge = oldest_counted + timedelta(days=7) + EPSILON
    assert timers["fans"].due == {"a": edge, "b": START + timedelta(days=7) + EPSILON}
    assert timers["fans"].clear == {"a", "b", "c"}, "c has nothing in the window: no timer"
    assert timers["reachable_fans"].due == {"a": edge}
    [events] = [e for e in effects if isinstance(e, EmitEvents)]
    assert [(e.name, e.user_id, e.properties["segment"]) for e in events.events] == [
        ("segment_entered", "a", "fans"),
        ("segment_exited", "c", "fans"),
        ("segment_entered", "a", "reachable_fans"),
    ]
    again = evaluate(SEGMENTS, work, view, START, origin="seq1-9")
    assert [e.message_id for e in again[-1].events] == [e.message_id for e in events.events], (  # type: ignore[attr-defined]
        "a replayed decision emits the same events, which the log then drops"
    )
