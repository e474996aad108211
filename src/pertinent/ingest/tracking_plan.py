"""The tracking plan: an optional JSON Schema for the properties of each track event.

One file per event in the workspace's `tracking_plan/` folder (YAML or JSON):

    event: Order Completed
    mode: reject          # or flag (the default): accept the event, marked
    schema:               # JSON Schema (draft 2020-12 unless it says otherwise)
      type: object
      required: [order_id, revenue]
      properties:
        revenue: {type: number, minimum: 0}

An event that breaks its plan is rejected or accepted and flagged, each breach named by the
JSON pointer of the failing field (`/properties/revenue`). Once there is a plan, a track event
that no file names is flagged as unplanned. Properties are checked as normalized, so the
e-commerce spec's "12.50" is already the number a schema asks for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, Field
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from pertinent.config import validate_file
from pertinent.errors import ConfigError
from pertinent.events.model import Event, Flag

FOLDER = "tracking_plan"
# Breaches named per event at most: the answer and the event stay small whatever is sent.
MAX_BREACHES = 10
_MAX_REASON = 200
_BASE = "urn:pertinent:tracking-plan"


class PlanFile(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    event: str = Field(min_length=1, max_length=512)
    mode: Literal["reject", "flag"] = "flag"
    description: str = ""
    properties_schema: dict[str, Any] = Field(alias="schema")


@dataclass(frozen=True)
class EventPlan:
    event: str
    mode: Literal["reject", "flag"]
    validator: Validator
    source: Path


@dataclass(frozen=True)
class Verdict:
    """What the plan says of one event: its breaches, and whether they reject it."""

    breaches: tuple[Flag, ...] = ()
    reject: bool = False


ACCEPTED = Verdict()


def _pointer(path: Iterator[Any] | list[Any]) -> str:
    """An RFC 6901 JSON pointer into the event's properties."""
    parts = (str(p).replace("~", "~0").replace("/", "~1") for p in path)
    return "/properties" + "".join(f"/{p}" for p in parts)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _breaches(errors: Iterator[ValidationError]) -> list[Flag]:
    """One flag per failing field (a missing required property is its own field)."""
    found: dict[str, str] = {}
    for error in errors:
        path = list(error.absolute_path)
        required = error.validator_value
        if error.validator == "required" and isinstance(error.instance, dict):
            assert isinstance(required, list)
            for name in required:
                if name not in error.instance:
                    found.setdefault(_pointer([*path, name]), "is required")
        else:
            found.setdefault(_pointer(path), _short(error.message))
    return [Flag("tracking_plan", pointer, reason) for pointer, reason in sorted(found.items())][
        :MAX_BREACHES
    ]


class TrackingPlan:
    """The plans by event name; empty when the workspace has none (then nothing is checked)."""

    def __init__(self, plans: dict[str, EventPlan]):
        self._plans = plans

    @property
    def events(self) -> dict[str, EventPlan]:
        return dict(self._plans)

    def check(self, event: Event) -> Verdict:
        """Check a normalized track event; every other call passes."""
        if not self._plans or event.type != "track" or event.name is None:
            return ACCEPTED
        plan = self._plans.get(event.name)
        if plan is None:
            reason = "no tracking plan names this event"
            return Verdict((Flag("unplanned_event", "/event", reason),))
        breaches = _breaches(plan.validator.iter_errors(event.properties))
        return Verdict(tuple(breaches), reject=plan.mode == "reject" and bool(breaches))


NO_PLAN = TrackingPlan({})


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", where=str(path)) from exc
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"{path}:{exc.lineno}:{exc.colno}"
            raise ConfigError(f"not valid JSON: {exc.msg}", where=where) from exc
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from exc


def _refs(schema: Any, path: list[Any]) -> Iterator[tuple[list[Any], str]]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key in ("$ref", "$dynamicRef") and isinstance(value, str):
                yield [*path, key], value
            else:
                yield from _refs(value, [*path, key])
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _refs(value, [*path, index])


def _where(path: list[Any]) -> str:
    return ".".join(["schema", *(str(p) for p in path)])


def _resolves(registry: Registry[Any], ref: str) -> bool:
    if not ref.startswith("#"):
        return False
    try:
        registry.resolver(_BASE).lookup(ref)
    except Unresolvable:
        return False
    return True


def _validator(schema: dict[str, Any], source: Path) -> Validator:
    """A validator for `schema`; a schema that is not valid, or refers to anything outside
    itself (nothing is fetched), is a ConfigError naming the key path in the file."""
    cls = validator_for(schema, default=Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as exc:
        raise ConfigError(
            f"{_where(list(exc.absolute_path))}: {_short(exc.message)}",
            where=str(source),
            hint="the schema must be valid JSON Schema",
        ) from None
    resource = Resource.from_contents(schema, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(_BASE, resource)
    for path, ref in _refs(schema, []):
        if not _resolves(registry, ref):
            raise ConfigError(
                f"{_where(path)}: {ref!r} does not point inside this schema",
                where=str(source),
                hint="a tracking plan is self-contained; define shared parts under $defs",
            )
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def load_tracking_plan(root: Path) -> TrackingPlan:
    """The plans in `root/tracking_plan/` (none: an empty plan that checks nothing)."""
    folder = root / FOLDER
    if not folder.is_dir():
        return NO_PLAN
    plans: dict[str, EventPlan] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml", ".json")):
        spec = validate_file(PlanFile, _read(path), path)
        if (same := plans.get(spec.event)) is not None:
            raise ConfigError(
                f"event {spec.event!r} already has a plan in {same.source.name}",
                where=str(path),
                hint="one file per event name",
            )
        validator = _validator(spec.properties_schema, path)
        plans[spec.event] = EventPlan(spec.event, spec.mode, validator, path)
    return TrackingPlan(plans)
