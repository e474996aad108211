"""Reading events and people from files for `pertinent import`.

- events: JSON Lines (one Segment call per line) or CSV with columns `type`, `event`, `userId`,
  `anonymousId`, `timestamp`, `messageId`, `name`, `previousId`, `groupId`, and any
  `properties.X`, `traits.X`, `context.X` columns.
- people: CSV with a `userId` (or `user_id`, `id`) column; every other column is a trait.

Each record comes with its line number, so a rejection can say where the bad line is.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from pertinent.errors import InputError

RECORD = tuple[int, Any]
_TOP_LEVEL = {
    "type",
    "event",
    "userId",
    "anonymousId",
    "timestamp",
    "messageId",
    "name",
    "previousId",
    "groupId",
    "category",
}
_NESTED = ("properties", "traits", "context")


def _open(path: Path) -> IO[str]:
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8", newline="")
        return path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from exc


def _csv_value(text: str) -> Any:
    """CSV cells are text; numbers and booleans that look like it become so."""
    if text == "":
        return None
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _csv_event(row: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or cell == "":
            continue
        if column in _TOP_LEVEL:
            event[column] = cell
            continue
        head, _, rest = column.partition(".")
        if head in _NESTED and rest:
            event.setdefault(head, {})[rest] = _csv_value(cell)
        else:
            event.setdefault("properties", {})[column] = _csv_value(cell)
    return event


def _is_jsonl(path: Path) -> bool:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    return bool(suffixes) and suffixes[-1] in (".jsonl", ".ndjson", ".json")


def read_events(path: Path) -> Iterator[RECORD]:
    """(line number, raw event) per record; a line that is not JSON yields an InputError."""
    with _open(path) as handle:
        if _is_jsonl(path):
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield number, InputError(f"not JSON: {exc}", where=f"{path}:{number}")
            return
        for number, row in enumerate(csv.DictReader(handle), start=2):
            yield number, _csv_event(row)


def read_people(path: Path) -> Iterator[RECORD]:
    """(line number, identify call) per person row."""
    with _open(path) as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        id_column = next((c for c in ("userId", "user_id", "id") if c in columns), None)
        if id_column is None:
            raise InputError(
                "people CSV needs a userId column",
                where=f"{path}:1",
                hint=f"found columns: {', '.join(columns) or 'none'}",
            )
        for number, row in enumerate(reader, start=2):
            traits = {
                k: _csv_value(v)
                for k, v in row.items()
                if k and k != id_column and v not in (None, "")
            }
            yield (
                number,
                {"type": "identify", "userId": row.get(id_column) or None, "traits": traits},
            )


def count_lines(path: Path) -> int:
    """Lines in the file (for a progress bar's total)."""
    with _open(path) as handle:
        return sum(1 for _ in handle)
