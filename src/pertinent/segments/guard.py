"""The over-segmentation guard: a segment that a journey (or anything else that sends) uses
should hold enough people for what is learned from it to mean something; the seeds ask for at
least 100. `undersized` is what `plan`, the API and the processor's log report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SegmentSettings(BaseModel):
    """The `segments:` section of pertinent.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_size: int = Field(
        default=100, ge=0, description="warn when a segment in use has fewer people"
    )


@dataclass(frozen=True)
class SizeWarning:
    segment: str
    size: int
    min_size: int
    used_by: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"segment {self.segment!r} has {self.size} people, fewer than {self.min_size}; "
            f"used by {', '.join(self.used_by)}: results over so few people mean little"
        )


def _named(tree: Any) -> Iterable[str]:
    """Every segment a definition names (a trigger, a condition's `in_segment`, a step)."""
    if isinstance(tree, Mapping):
        if isinstance(tree.get("segment"), str):
            yield tree["segment"]
        for value in tree.values():
            yield from _named(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _named(value)


def segments_in_use(users: Iterable[tuple[str, BaseModel]]) -> dict[str, list[str]]:
    """segment -> the users (named like `journey welcome`) whose definitions name it."""
    found: dict[str, list[str]] = {}
    for name, definition in users:
        for segment in sorted(set(_named(definition.model_dump(mode="json")))):
            found.setdefault(segment, []).append(name)
    return found


def undersized(
    sizes: Mapping[str, int], in_use: Mapping[str, list[str]], min_size: int
) -> list[SizeWarning]:
    """A warning for each segment in use with fewer than `min_size` people."""
    return [
        SizeWarning(key, sizes.get(key, 0), min_size, tuple(users))
        for key, users in sorted(in_use.items())
        if sizes.get(key, 0) < min_size
    ]
