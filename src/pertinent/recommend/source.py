"""Interactions from the event log: what each person viewed, added and ordered.

Reads the per-profile projection of the log, so merged people are already one person and
erased people are already gone.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from pertinent.errors import InputError
from pertinent.recommend.catalogue import product_from_properties
from pertinent.recommend.interactions import EVENT_KINDS, Interaction, Kind

KINDS: dict[str, Kind] = {"viewed": "viewed", "added": "added", "ordered": "ordered"}
ActionRow = tuple[str, str, datetime, dict[str, Any]]


def interactions_from_actions(rows: Iterable[ActionRow]) -> list[Interaction]:
    """One interaction per product an e-commerce event names."""
    out: list[Interaction] = []
    for profile_id, action, at, props in rows:
        kind = EVENT_KINDS.get(action)
        if kind is None:
            continue
        bags = props.get("products")
        for bag in bags if isinstance(bags, list) else [props]:
            product = product_from_properties(bag, at) if isinstance(bag, dict) else None
            if product is not None:
                out.append(Interaction(profile_id, product.item_id, kind, at))
    return out


def read_interactions(path: Path) -> list[Interaction]:
    """Interactions from a CSV or JSON Lines file with `user_id`, `item_id`, and optionally
    `kind` (viewed/added/ordered, default ordered) and `timestamp` (ISO-8601)."""
    records: Iterable[tuple[int, dict[str, Any]]]
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix in (".jsonl", ".ndjson"):
            records = [(n, orjson.loads(line)) for n, line in enumerate(handle, 1) if line.strip()]
        else:
            records = list(enumerate(csv.DictReader(handle), 2))
    out = []
    for number, record in records:
        try:
            stamp = record.get("timestamp")
            at = datetime.fromisoformat(stamp) if stamp else datetime.fromtimestamp(0, UTC)
            kind = KINDS.get(record.get("kind") or "ordered")
            if kind is None:
                raise ValueError(f"kind must be viewed, added or ordered, not {record['kind']!r}")
            out.append(
                Interaction(
                    str(record["user_id"]),
                    str(record["item_id"]),
                    kind,
                    at if at.tzinfo else at.replace(tzinfo=UTC),
                )
            )
        except (KeyError, ValueError) as exc:
            raise InputError(
                f"bad interaction: {exc}",
                where=f"{path}:{number}",
                hint="columns: user_id, item_id, kind, timestamp",
            ) from exc
    return out
