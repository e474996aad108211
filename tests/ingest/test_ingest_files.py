"""`pertinent import events|people FILE` on files with bad lines: the bad ones are named by
line and reason, the good ones around them are imported; a file that cannot be read at all is
one error line naming the file and line, and nothing is imported."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from pertinent.app import open_system
from pertinent.cli import app

BIG = "x" * 200_000  # over the csv module's 128 KB cell limit
ROW = re.compile(r"│\s*(\d+)\s*│\s*\(line\)\s*│\s*(.*?)\s*│")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    made = CliRunner().invoke(app, ["init", str(root)])
    assert made.exit_code == 0, made.output
    return root


def _import(workspace: Path, what: str, file: Path) -> tuple[str, list[tuple[int, str]]]:
    """The command's output and its (line, reason) rejections; fails on a traceback."""
    result = CliRunner().invoke(app, ["import", what, str(file), "--workspace", str(workspace)])
    assert result.exception is None, f"{result.exception!r:.300}"
    return result.output, [(int(n), reason) for n, reason in ROW.findall(result.output)]


def _stored(workspace: Path) -> list[tuple[str | None, str | None, dict[str, object]]]:
    """(user, event name, properties or traits) of each event in the workspace's log."""
    system = open_system(workspace)
    try:
        with system.storage.snapshot() as tx:
            logged = [e.event for e in tx.log.read_after(0, 1000)]
    finally:
        system.close()
    return [(e.user_id, e.name, e.properties or e.traits) for e in logged]


def _track(name: str, **props: object) -> bytes:
    return orjson.dumps({"type": "track", "userId": "u1", "event": name, "properties": props})


def test_jsonl_lines_that_are_not_utf8_or_json_are_rejected_and_the_rest_imported(
    workspace: Path, tmp_path: Path
) -> None:
    file = tmp_path / "events.jsonl.gz"
    lines = [
        _track("A"),
        _track("B", note="Jos\u00e9").replace("\u00e9".encode(), b"\xe9"),  # Latin-1 byte
        b'{"type": "track",',
        _track("C"),
    ]
    file.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))

    output, rejected = _import(workspace, "events", file)

    assert "2 accepted" in output
    column = lines[1].index(b"\xe9") + 1
    assert rejected == [
        (2, f"not UTF-8: byte 0xE9 at column {column}"),
        (3, "not JSON: unexpected end of data at column 18"),
    ]
    assert "hint: save the file as UTF-8" in output
    assert [name for _, name, _ in _stored(workspace)] == ["A", "C"]


def test_csv_events_with_a_latin1_cell_and_oversized_cells_keep_the_good_rows(
    workspace: Path, tmp_path: Path
) -> None:
    file = tmp_path / "events.csv"
    file.write_bytes(
        b"type,event,userId,properties.note\n"
        b"track,A,u1,plain\n"
        + "track,B,u1,Jos\u00e9\n".encode("latin-1")
        + f"track,C,u1,{BIG}\n".encode()
        # A quoted cell over the limit that spans lines: its last lines are not records.
        + f'track,D,u1,"{BIG}\n{BIG}\ntrack,Injected,u1,x\n"\n'.encode()
        + b"track,E,u1,NaN\n"
    )

    output, rejected = _import(workspace, "events", file)

    assert "2 accepted" in output
    assert rejected == [
        (3, "not UTF-8: byte 0xE9 at column 15"),
        (4, "a cell is over the CSV limit of 128 KB"),
        (5, "a cell is over the CSV limit of 128 KB"),
    ]
    assert _stored(workspace) == [("u1", "A", {"note": "plain"}), ("u1", "E", {"note": "NaN"})]


def test_people_csv_bad_rows_are_rejected_by_line_and_good_people_imported(
    workspace: Path, tmp_path: Path
) -> None:
    file = tmp_path / "people.csv"
    file.write_bytes(
        b"userId,first_name,plan\n"
        b"u1,Ann,gold\n"
        + "u2,Ren\u00e9e,gold\n".encode("cp1252")
        + f"u3,Bob,{BIG}\n".encode()
        + b"u4,Cy,silver\n"
    )

    output, rejected = _import(workspace, "people", file)

    assert "2 accepted" in output
    assert [line for line, _ in rejected] == [3, 4]
    assert _stored(workspace) == [
        ("u1", None, {"first_name": "Ann", "plan": "gold"}),
        ("u4", None, {"first_name": "Cy", "plan": "silver"}),
    ]


@pytest.mark.parametrize(
    ("what", "name", "content", "expected"),
    [
        (
            "people",
            "people.csv",
            "userId,pr\u00e9nom\nu1,Ann\n".encode("latin-1"),
            ":1: the header line cannot be read: not UTF-8: byte 0xE9 at column 10 "
            "(save the file as UTF-8",
        ),
        (
            "events",
            "events.jsonl.gz",
            gzip.compress(_track("A") + b"\n" + _track("B") + b"\n")[:-12],
            ":2: cannot read past line 1: Compressed file ended before the end-of-stream "
            "marker was reached (the file is damaged or truncated",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_one_error_line_and_nothing_is_imported(
    workspace: Path, tmp_path: Path, what: str, name: str, content: bytes, expected: str
) -> None:
    file = tmp_path / name
    file.write_bytes(content)
    command = Path(sys.executable).parent / "pertinent"
    done = subprocess.run(
        [str(command), "import", what, str(file), "--workspace", str(workspace)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "500"},
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"error: {file}{expected}")
    assert _stored(workspace) == []
