"""Reading events and people from files for `pertinent import`.

- events: JSON Lines (one Segment call per line) or CSV with columns `type`, `event`, `userId`,
  `anonymousId`, `timestamp`, `messageId`, `name`, `previousId`, `groupId`, and any
  `properties.X`, `traits.X`, `context.X` columns.
- people: CSV with a `userId` (or `user_id`, `id`) column; every other column is a trait.

CSV cells stay text unless `--types` declares their column (`ingest.cell_types`).

Each record comes with its line number, so a rejection can say where the bad line is. A bad
record (not UTF-8, not JSON, a quote never closed, a CSV cell over the csv module's 128 KB
limit, a cell not of its declared type) is yielded as an `InputError` in place of the
record, so the good records around it are still imported; only what spoils the whole file (an
unreadable header, a truncated gzip, a `--types` naming no column) is raised.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import zlib
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from pertinent.errors import InputError
from pertinent.ingest.cell_types import CellError, CellType, cell_value, parse_types

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
    """Feeds csv.reader decoded lines, and keeps what a rejection needs about the record being
    read: its lines (to read them again), its first byte that is not UTF-8, and whether a
    quoted cell is still open."""

    def __init__(self, path: Path) -> None:
        self._lines = _lines(path)
        self._again: deque[tuple[int, bytes]] = deque()
        self.taken: list[tuple[int, bytes]] = []
        self.number = 0
        self.not_utf8: tuple[int, bytes, UnicodeDecodeError] | None = None
        self.open_quote = False

    @property
    def start(self) -> int:
        """The record's first line."""
        return self.taken[0][0] if self.taken else self.number + 1

    def __iter__(self) -> _CsvSource:
        return self

    def __next__(self) -> str:
        self.number, raw = self._again.popleft() if self._again else next(self._lines)
        self.taken.append((self.number, raw))
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
        self.taken = []
        self.not_utf8 = None
        self.open_quote = False

    def read_again_after_first(self) -> None:
        """Give back every line of the record but its first, to be read as records again."""
        self._again.extendleft(reversed(self.taken[1:]))
        del self.taken[1:]

    def skip_open_cell(self) -> None:
        while self.open_quote:
            try:
                next(self)
            except StopIteration:
                return


def _csv_records(path: Path) -> Iterator[tuple[int, list[str] | InputError]]:
    """(first line, cells or the reason the record is rejected) per non-blank CSV record.

    Strict CSV: a quoted cell may span lines, but a quote that never closes (the file ends, or
    the quote that would close it is followed by more text) is rejected on the line where it
    opens, and the lines after that one are read again as records: nothing is swallowed into
    the cell, and a later error is reported on its own line. A cell over the size limit is
    rejected with the lines it spans, and the rest of it skipped.
    """
    source = _CsvSource(path)
    reader = csv.reader(source, strict=True)
    while True:
        source.begin_record()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield source.start, _csv_error(path, source, exc)
            continue
        if source.not_utf8 is not None:
            yield source.start, _not_utf8(path, *source.not_utf8)
        elif cells:
            yield source.start, cells


def _csv_error(path: Path, source: _CsvSource, error: csv.Error) -> InputError:
    """The rejection of the record being read; leaves `source` at the next record."""
    start = source.start
    where = f"{path}:{start}"
    if "field limit" in str(error):
        source.skip_open_cell()
        span = f" (lines {start}–{source.number})" if source.number > start else ""
        return InputError(
            f"a cell is over the CSV limit of {csv.field_size_limit() // 1024} KB{span}",
            where=where,
            hint="an event is at most 32 KB; shorten the cell or leave the column out",
        )
    if "unexpected end of data" in str(error) or len(source.taken) > 1:
        source.read_again_after_first()
        return InputError(
            "a quoted cell starts on this line and is never closed",
            where=where,
            hint='close the quote; a quote inside a quoted cell is written twice ("")',
        )
    return InputError(f"not CSV: {error}", where=where, hint="check the quoting of this record")


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


def _cells(row: dict[str, str], types: dict[str, CellType]) -> dict[str, Any]:
    """The non-empty cells of a row, as text unless `types` declares their column."""
    return {
        column: cell_value(column, cell, types[column]) if column in types else cell
        for column, cell in row.items()
        if column and cell != ""
    }


def _csv_event(row: dict[str, str], types: dict[str, CellType]) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for column, value in _cells(row, types).items():
        if column in _TOP_LEVEL:
            event[column] = value
            continue
        head, _, rest = column.partition(".")
        if head in _NESTED and rest:
            event.setdefault(head, {})[rest] = value
        else:
            event.setdefault("properties", {})[column] = value
    return event


def _is_jsonl(path: Path) -> bool:
    suffixes = [s for s in path.suffixes if s != ".gz"]
    return bool(suffixes) and suffixes[-1] in (".jsonl", ".ndjson", ".json")


def _stable_ids(records: Iterator[RECORD]) -> Iterator[RECORD]:
    """Give each record without a messageId one derived from its content (and how many
    identical records came before it), so importing a file again, after fixing what it
    rejected, adds only what is new: the log drops the rest as duplicates."""
    seen: dict[bytes, int] = {}
    for number, record in records:
        if isinstance(record, dict) and record.get("messageId") in (None, ""):
            try:
                content = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
            except orjson.JSONEncodeError:  # left for validation to name
                yield number, record
                continue
            repeat = seen[content] = seen.get(content, -1) + 1
            digest = hashlib.blake2b(content + b"\x1f%d" % repeat, digest_size=16)
            record = {**record, "messageId": f"import-{digest.hexdigest()}"}
        yield number, record


def read_events(path: Path, types: str | None = None) -> Iterator[RECORD]:
    """(line number, raw event) per record; a line that cannot be read, or a cell not of the
    type `types` declares for its column (CSV only), yields an InputError. A record without
    a messageId gets one derived from its content."""
    return _stable_ids(_read_events(path, types))


def _read_events(path: Path, types: str | None) -> Iterator[RECORD]:
    """(line number, raw event) per record; a line that cannot be read, or a cell not of the
    type `types` declares for its column (CSV only), yields an InputError."""
    if _is_jsonl(path):
        if types:
            raise InputError(
                "--types is for CSV files; JSON already says its types", where=str(path)
            )
        for number, line in _lines(path):
            # Without its line break, so a column in the reason counts within the line.
            content = line.rstrip()
            if content:
                yield number, _json_line(path, number, content)
        return
    columns, rows = _csv_table(path)
    declared = parse_types(types, columns)
    for number, row in rows:
        if isinstance(row, InputError):
            yield number, row
            continue
        try:
            yield number, _csv_event(row, declared)
        except CellError as exc:
            yield number, exc


def read_people(path: Path, types: str | None = None) -> Iterator[RECORD]:
    """(line number, identify call) per person row; a row that cannot be read, or a cell not
    of the type `types` declares for its column, yields an InputError. Each call's messageId
    is derived from its content."""
    return _stable_ids(_read_people(path, types))


def _read_people(path: Path, types: str | None) -> Iterator[RECORD]:
    columns, rows = _csv_table(path)
    id_column = next((c for c in ("userId", "user_id", "id") if c in columns), None)
    if id_column is None:
        raise InputError(
            "people CSV needs a userId column",
            where=f"{path}:1",
            hint=f"found columns: {', '.join(columns) or 'none'}",
        )
    declared = parse_types(types, [c for c in columns if c != id_column])
    for number, row in rows:
        if isinstance(row, InputError):
            yield number, row
            continue
        user_id = row.pop(id_column, None) or None
        try:
            traits = _cells(row, declared)
        except CellError as exc:
            yield number, exc
            continue
        yield number, {"type": "identify", "userId": user_id, "traits": traits}


def count_lines(path: Path) -> int:
    """Lines in the file (for a progress bar's total); reading it through first also means a
    damaged file is reported before anything is imported."""
    return sum(1 for _ in _lines(path))
