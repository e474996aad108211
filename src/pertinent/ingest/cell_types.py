"""Types for CSV columns: a cell is text unless the import declares otherwise.

Guessing turns a zip code "007" into 7 and a phone number into a float, so `pertinent import`
keeps every cell a string, and `--types age=int,signed_up_at=datetime` says which columns are
something else. A cell that is not what its column declares rejects its row, naming the
column. (Events still get the e-commerce spec's numbers, as over HTTP: see
`events.normalize`.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args

from pertinent.errors import InputError
from pertinent.events.normalize import plain_number

CellType = Literal["string", "int", "float", "bool", "date", "datetime"]
TYPES: tuple[str, ...] = get_args(CellType)
_INT = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
_BOOLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class CellError(InputError):
    """A cell that is not of its column's declared type."""

    def __init__(self, column: str, message: str):
        super().__init__(message, where=column)
        self.column = column


def parse_types(spec: str | None, columns: Collection[str]) -> dict[str, CellType]:
    """`age=int,signed_up_at=datetime` as {column: type}; every column must be in the file."""
    types: dict[str, CellType] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        column, _, kind = part.partition("=")
        column, kind = column.strip(), kind.strip()
        if kind not in TYPES:
            raise InputError(
                f"{part.strip()!r}: the type must be one of {', '.join(TYPES)}", where="--types"
            )
        if column not in columns:
            raise InputError(
                f"{column!r} is not a column of the file",
                where="--types",
                hint=f"its columns: {', '.join(columns)}",
            )
        types[column] = kind  # type: ignore[assignment]  # checked against TYPES above
    return types


def _int(text: str) -> int:
    if not _INT.fullmatch(text) or not -(2**63) <= (value := int(text)) < 2**63:
        raise ValueError
    return value


def _float(text: str) -> float:
    number = plain_number(text)
    if number is None:
        raise ValueError
    return float(number)


def _bool(text: str) -> bool:
    return _BOOLS[text.strip().lower()]


def _date(text: str) -> str:
    return date.fromisoformat(text.strip()).isoformat()


def _datetime(text: str) -> str:
    """ISO 8601 in UTC; a time without a zone is UTC."""
    value = datetime.fromisoformat(text.strip())
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()


_CONVERT: dict[str, Callable[[str], Any]] = {
    "string": str,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "date": _date,
    "datetime": _datetime,
}
_EXAMPLES = {
    "int": "a whole number such as 42",
    "float": "a number such as 12.5",
    "bool": "true/false, yes/no or 1/0",
    "date": "a date such as 2024-05-01",
    "datetime": "a time such as 2024-05-01T09:30:00Z",
}


def cell_value(column: str, text: str, kind: CellType) -> Any:
    """The cell as its column's type; `CellError` when it is not one."""
    try:
        return _CONVERT[kind](text)
    except (ValueError, KeyError, OverflowError):
        raise CellError(
            column, f"{column}: {text[:80]!r} is not {_EXAMPLES[kind]} (--types says {kind})"
        ) from None
