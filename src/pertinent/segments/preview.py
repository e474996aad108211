"""A condition tried on everyone without saving it: how many people it holds, and who."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pertinent.errors import InputError
from pertinent.segments.definitions import SegmentSet
from pertinent.segments.derived import lower
from pertinent.segments.language import Condition, referenced_segments
from pertinent.storage.ports import Storage

_KEY = "\x00preview"  # a key no segment can have


@dataclass(frozen=True)
class Preview:
    size: int
    sample: list[dict[str, Any]]  # {"profile_id", "traits"} of the first people, by id


def preview(
    storage: Storage, segments: SegmentSet, condition: Condition, now: datetime, sample: int = 20
) -> Preview:
    """The people `condition` holds for at `now` (an `in_segment` means the workspace's
    segment), counted, and the first `sample` of them with their traits."""
    unknown = referenced_segments(condition) - set(segments.conditions)
    if unknown:
        raise InputError(f"refers to unknown segment(s) {sorted(unknown)}", where="condition")
    conditions = {**segments.conditions, _KEY: lower(condition, segments.profiles)}
    with storage.snapshot() as tx:
        found = tx.segments.matching(conditions, {_KEY: None}, now)[_KEY]
        first = sorted(found)[:sample]
        states = tx.profiles.load(first)
    return Preview(
        len(found),
        [{"profile_id": pid, "traits": states[pid].traits} for pid in first if pid in states],
    )
