"""The tracking plan: a JSON Schema per event in `tracking_plan/`, each plan rejecting or
flagging what breaks it, with the JSON pointer of the failing field; unplanned events
flagged; violations counted; a plan file that is wrong named with its path."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import START

from pertinent.clock import SimClock
from pertinent.errors import ConfigError
from pertinent.ingest.pipeline import Ingestor, Rules
from pertinent.ingest.tracking_plan import load_tracking_plan
from pertinent.storage.memory.storage import MemoryStorage

ORDER = """
event: Order Completed
mode: reject
schema:
  type: object
  required: [order_id, revenue]
  properties:
    order_id: {type: string}
    revenue: {type: number, minimum: 0}
    products: {type: array, items: {$ref: "#/$defs/product"}}
  $defs:
    product: {type: object, required: [product_id], properties: {price: {minimum: 0}}}
"""
VIEW = """{"event": "Product Viewed", "mode": "flag",
 "schema": {"type": "object", "properties": {"a/b~c": {"type": "string"}}}}"""


def _plan(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "tracking_plan"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_json", ".json").replace("_yaml", ".yaml")).write_text(text)
    return tmp_path


def _order(n: int, **props: object) -> dict[str, object]:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": "u1",
        "messageId": f"o{n}",
        "properties": props,
    }


@pytest.fixture
def memory() -> MemoryStorage:
    return MemoryStorage()


@pytest.fixture
def ingestor(tmp_path: Path, memory: MemoryStorage) -> Ingestor:
    root = _plan(tmp_path, order_yaml=ORDER, view_json=VIEW)
    return Ingestor(memory, SimClock(START), Rules(plan=load_tracking_plan(root)))


def test_a_plan_in_reject_mode_refuses_what_breaks_it_naming_each_field(
    ingestor: Ingestor,
) -> None:
    result = ingestor.ingest(
        [
            _order(0, order_id="A1", revenue="12.50"),  # "12.50" is the number 12.5 here
            _order(1, order_id="A2", revenue=-5),
            _order(2, revenue=3, products=[{"product_id": "p"}, {"price": -1}]),
        ]
    )
    assert result.accepted == 1
    assert [(r.index, r.field, r.reason) for r in result.rejections] == [
        (1, "/properties/revenue", "breaks the tracking plan: -5 is less than the minimum of 0"),
        (2, "/properties/order_id", "breaks the tracking plan: is required (and 2 more)"),
    ]


def test_a_plan_in_flag_mode_accepts_and_marks_and_unplanned_events_are_flagged(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    view = {"type": "track", "event": "Product Viewed", "userId": "u1", "messageId": "v"}
    result = ingestor.ingest(
        [
            {**view, "properties": {"a/b~c": 7}},
            {**view, "messageId": "v2", "properties": {"a/b~c": "fine"}},
            {"type": "track", "event": "Wishlisted", "userId": "u1", "messageId": "w"},
            {"type": "identify", "userId": "u1", "traits": {"plan": "pro"}},  # not a track
        ]
    )
    assert (result.accepted, result.rejections) == (4, [])
    assert [(f.index, f.kind, f.field) for f in result.flagged] == [
        (0, "tracking_plan", "/properties/a~1b~0c"),
        (2, "unplanned_event", "/event"),
    ]
    assert result.flag_counts() == {"tracking_plan": 1, "unplanned_event": 1}


def test_violations_are_counted_per_event_name_field_and_outcome(
    ingestor: Ingestor, memory: MemoryStorage
) -> None:
    ingestor.ingest([_order(0, order_id="A", revenue=-1), _order(1, order_id="B", revenue=-2)])
    ingestor.ingest([_order(2, revenue=1), {"type": "track", "event": "X", "userId": "u"}])
    counts = [(v.event, v.field, v.rejected, v.count) for v in memory.reads.violations()]
    assert counts == [
        ("Order Completed", "/properties/revenue", True, 2),
        ("Order Completed", "/properties/order_id", True, 1),
        ("X", "/event", False, 1),
    ]


def test_without_a_plan_nothing_is_checked(tmp_path: Path) -> None:
    plan = load_tracking_plan(tmp_path)
    assert plan.events == {}
    result = Ingestor(MemoryStorage(), SimClock(START), Rules(plan=plan)).ingest(
        [{"type": "track", "event": "Anything", "userId": "u1"}]
    )
    assert (result.accepted, result.flagged) == (1, [])


@pytest.mark.parametrize(
    ("files", "where", "message"),
    [
        (
            {"a_yaml": "event: E\nschema: {type: object, properties: {p: {type: numbr}}}"},
            "a.yaml",
            "schema.properties.p.type: 'numbr' is not valid under any of the given schemas",
        ),
        (
            {"a_yaml": "event: E\nschema: {properties: {p: {$ref: '#/$defs/nowhere'}}}"},
            "a.yaml",
            "schema.properties.p.$ref: '#/$defs/nowhere' does not point inside this schema",
        ),
        (
            {"a_yaml": "event: E\nschema: {$ref: 'https://example.com/s.json'}"},
            "a.yaml",
            "schema.$ref: 'https://example.com/s.json' does not point inside this schema",
        ),
        ({"a_yaml": "event: E\nmode: block\nschema: {}"}, "a.yaml", "mode: Input should be"),
        ({"a_yaml": "event: E\nschem: {}"}, "a.yaml", "schema: Field required"),
        ({"a_json": '{"event": "E", "schema": {}'}, "a.json:1:28", "not valid JSON"),
        ({"a_yaml": "event: E\nschema: [\n"}, "a.yaml:3:1", "not valid YAML"),
        (
            {"a_yaml": "event: E\nschema: {}", "b_yaml": "event: E\nschema: {}"},
            "b.yaml",
            "event 'E' already has a plan in a.yaml",
        ),
    ],
)
def test_a_wrong_plan_file_is_an_error_naming_the_file_and_the_path(
    tmp_path: Path, files: dict[str, str], where: str, message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_tracking_plan(_plan(tmp_path, **files))
    assert str(raised.value.where).endswith(where)
    assert message in raised.value.message
