"""Reading events and people from files for `pertinent import`.

- events: JSON Lines (one Segment call per line) or CSV with columns `type`, `event`, `userId`,
  `anonymousId`, `timestamp`, `messageId`, `name`, `previousId`, `groupId`, and any
  `properties.X`, `traits.X`, `context.X` columns.
- people: CSV with a `userId` (or `user_id`, `id`) column; every other column is a trait.

Each record comes with its line number, so a rejection can say where the bad line is. A bad
record (not UTF-8, not JSON, a CSV cell over the csv module's 128 KB limit) is yielded as an
`InputError` in place of the record, so the good records around it are still imported; only
what spoils the whole file (an unreadable header, a truncated gzip) is raised.
"""

from __future__ import annotations

import csv
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from pertinent.errors import InputError
from pertinent.events.normalize import plain_number

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
_BOM = b"\xef\xbb\xbf"
_UTF8_HINT = "save the file as UTF-8 (in Excel: 'CSV UTF-8')"


def _open(path: Path) -> IO[bytes] | gzip.GzipFile:
    # Bytes, not text: a byte that is not UTF-8 then spoils one line, not the whole read.
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")
        return path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", where=str(path)) from exc


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line) for each line; a failed read raises an InputError at its line."""
    number = 0
    with _open(path) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                # Excel and Notepad start UTF-8 files with a byte order mark; it is not data.
                yield number, line.removeprefix(_BOM) if number == 1 else line
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(
                f"cannot read past line {number}: {exc}",
                where=f"{path}:{number + 1}",
                hint="the file is damaged or truncated; copy or download it again",
            ) from exc


def _not_utf8(path: Path, number: int, line: bytes, error: UnicodeDecodeError) -> InputError:
    return InputError(
        f"not UTF-8: byte 0x{line[error.start]:02X} at column {error.start + 1}",
        where=f"{path}:{number}",
        hint=_UTF8_HINT,
    )


def _json_line(path: Path, number: int, line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        # orjson's word for bad UTF-8 ("surrogates not allowed") does not say what to do.
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as bad:
            return _not_utf8(path, number, line, bad)
        return InputError(
            f"not JSON: {exc.msg} at column {exc.pos + 1}",
            where=f"{path}:{number}",
            hint="each line must be one JSON object",
        )


class _CsvSource:
    """Feeds csv.reader decoded lines and remembers what a rejection needs about the record
    being read: its first line, its first byte that is not UTF-8, and whether a quoted cell is
    still open (so after a csv.Error the rest of that cell is skipped, not read as records)."""

    def __init__(self, path: Path) -> None:
        self._lines = _lines(path)
        self.number = 0
        self.start = 1
        self.not_utf8: tuple[int, bytes, UnicodeDecodeError] | None = None
        self.open_quote = False

    def __iter__(self) -> _CsvSource:
        return self

    def __next__(self) -> str:
        self.number, raw = next(self._lines)
        if raw.count(b'"') % 2:
            self.open_quote = not self.open_quote
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            # Replacing the byte would import "Jos\ufffd" into a profile and an email; the record
            # is rejected instead (see `_csv_records`), and this text only keeps the parse going.
            if self.not_utf8 is None:
                self.not_utf8 = (self.number, raw, exc)
            return raw.decode("utf-8", errors="replace")

    def begin_record(self) -> None:
        self.start = self.number + 1
        self.not_utf8 = None
        self.open_quote = False

    def skip_open_cell(self) -> None:
        while self.open_quote:
            try:
                next(self)
            except StopIteration:
                return


def _csv_records(path: Path) -> Iterator[tuple[int, list[str] | InputError]]:
    """(first line, cells or the reason the record is rejected) per non-blank CSV record."""
    source = _CsvSource(path)
    reader = csv.reader(source)
    while True:
        source.begin_record()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            source.skip_open_cell()
            yield source.start, _csv_error(path, source.start, exc)
            continue
        if source.not_utf8 is not None:
            yield source.start, _not_utf8(path, *source.not_utf8)
        elif cells:
            yield source.start, cells


def _csv_error(path: Path, number: int, error: csv.Error) -> InputError:
    if "field limit" in str(error):
        return InputError(
            f"a cell is over the CSV limit of {csv.field_size_limit() // 1024} KB",
            where=f"{path}:{number}",
            hint="an event is at most 32 KB; shorten the cell or leave the column out",
        )
    return InputError(
        f"not CSV: {error}", where=f"{path}:{number}", hint="check the quoting of this record"
    )


def _csv_table(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, str] | InputError]]]:
    """The header and each record after it as {column: cell}; a header that cannot be read
    spoils every record, so that one is raised."""
    records = _csv_records(path)
    header = next(records, (1, []))[1]
    if isinstance(header, InputError):
        raise InputError(
            f"the header line cannot be read: {header.message}",
            where=header.where,
            hint=header.hint,
        )

    def rows() -> Iterator[tuple[int, dict[str, str] | InputError]]:
        for number, cells in records:
            # Like csv.DictReader: a short row lacks the last columns, extra cells are dropped.
            row = cells if isinstance(cells, InputError) else dict(zip(header, cells, strict=False))
            yield number, row

    return header, rows()


def _csv_value(text: str) -> Any:
    """CSV cells are text; booleans and plain decimal numbers that look like it become so."""
    if text == "":
        return None
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    number = plain_number(text)
    return text if number is None else number


def _csv_event(row: dict[str, str]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for column, cell in row.items():
        if cell == "":
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
    """(line number, raw event) per record; a line that cannot be read yields an InputError."""
    if _is_jsonl(path):
        for number, line in _lines(path):
            # Without its line break, so a column in the reason counts within the line.
            content = line.rstrip()
            if content:
                yield number, _json_line(path, number, content)
        return
    for number, row in _csv_table(path)[1]:
        yield number, row if isinstance(row, InputError) else _csv_event(row)


def read_people(path: Path) -> Iterator[RECORD]:
    """(line number, identify call) per person row; a row that cannot be read yields an
    InputError."""
    columns, rows = _csv_table(path)
    id_column = next((c for c in ("userId", "user_id", "id") if c in columns), None)
    if id_column is None:
        raise InputError(
            "people CSV needs a userId column",
            where=f"{path}:1",
            hint=f"found columns: {', '.join(columns) or 'none'}",
        )
    for number, row in rows:
        if isinstance(row, InputError):
            yield number, row
            continue
        traits = {k: _csv_value(v) for k, v in row.items() if k and k != id_column and v != ""}
        yield number, {"type": "identify", "userId": row.get(id_column) or None, "traits": traits}


def count_lines(path: Path) -> int:
    """Lines in the file (for a progress bar's total); reading it through first also means a
    damaged file is reported before anything is imported."""
    return sum(1 for _ in _lines(path))
