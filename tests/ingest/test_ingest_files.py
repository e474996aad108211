"""`pertinent import events|people FILE` on files with bad lines: the bad ones are named by
line and reason, the good ones around them are imported; a file that cannot be read at all is
one error line naming the file and line, and nothing is imported."""

from __future__ import annotations

import gzip
import json
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
ROW = re.compile(r"│\s*(\d+)\s*│\s*([^│]*?)\s*│\s*(.*?)\s*│")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    made = CliRunner().invoke(app, ["init", str(root)])
    assert made.exit_code == 0, made.output
    return root


def _run(workspace: Path, what: str, file: Path, *options: str) -> tuple[int, str]:
    """The command's exit code and output; fails on a traceback."""
    result = CliRunner().invoke(
        app,
        ["import", what, str(file), "--workspace", str(workspace), *options],
        env={"COLUMNS": "300"},
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{result.exception!r:.300}"
    )
    return result.exit_code, result.output


def _import(workspace: Path, what: str, file: Path) -> tuple[str, list[tuple[int, str]]]:
    """The output and (line, reason) rejections of an import that rejected some records:
    it exits 1 (the others imported)."""
    code, output = _run(workspace, what, file)
    assert code == 1, output
    assert "rejected (the others are imported)" in output
    return output, [(int(n), reason) for n, field, reason in ROW.findall(output)]


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
        (5, "a cell is over the CSV limit of 128 KB (lines 5–8)"),
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


def test_an_unclosed_quote_is_reported_where_it_opens_and_swallows_no_row(
    workspace: Path, tmp_path: Path
) -> None:
    file = tmp_path / "events.csv"
    file.write_text(
        "type,event,userId,properties.note\n"
        'track,A,u1,"a note\non two lines"\n'  # 2-3: a quoted cell may span lines
        'track,B,u1,"never closed\n'  # 4
        "track,C,u1,plain\n"
        "track,D,u1,plain\n"
        'track,E,u1,"quoted" then text\n'  # 7: its first quote would have closed line 4's
        "track,F,u1,plain\n"
        'track,G,u1,"open at the end\n'  # 9
        "track,H,u1,plain\n"
    )

    output, rejected = _import(workspace, "events", file)

    unclosed = "a quoted cell starts on this line and is never closed"
    assert rejected == [
        (4, unclosed),
        (7, "not CSV: ',' expected after '\"'"),
        (9, unclosed),
    ]
    assert "5 accepted" in output
    assert [(name, props) for _, name, props in _stored(workspace)] == [
        ("A", {"note": "a note\non two lines"}),
        ("C", {"note": "plain"}),
        ("D", {"note": "plain"}),
        ("F", {"note": "plain"}),
        ("H", {"note": "plain"}),
    ]


def test_csv_cells_stay_text_unless_a_type_is_declared(workspace: Path, tmp_path: Path) -> None:
    file = tmp_path / "people.csv"
    file.write_text(
        "userId,zip,age,vip,signed_up_at,birthday,score\n"
        "u1,007,31,yes,2024-05-01T09:30:00+02:00,1990-02-03,4.5\n"
        "u2,0100,thirty,no,2024-05-01,1990-02-30,1e3\n"
        "u3,12,40,true,2024-05-01 10:00,,\n"
    )
    types = "age=int,vip=bool,signed_up_at=datetime,birthday=date,score=float"

    code, output = _run(workspace, "people", file, "--types", types)

    assert code == 1
    assert [(n, field) for n, field, _ in ROW.findall(output)] == [(str(3), "age")]
    assert "age: 'thirty' is not a whole number such as 42 (--types says int)" in output
    assert [traits for _, _, traits in _stored(workspace)] == [
        {
            "zip": "007",
            "age": 31,
            "vip": True,
            "signed_up_at": "2024-05-01T07:30:00+00:00",
            "birthday": "1990-02-03",
            "score": 4.5,
        },
        {"zip": "12", "age": 40, "vip": True, "signed_up_at": "2024-05-01T10:00:00+00:00"},
    ]
    untyped = tmp_path / "untyped.csv"
    untyped.write_text("userId,zip,age,vip\nu9,007,31,true\n")
    assert _run(workspace, "people", untyped)[0] == 0
    assert _stored(workspace)[-1] == (
        "u9",
        None,
        {"zip": "007", "age": "31", "vip": "true"},
    )


def test_an_import_with_rejections_exits_1_unless_they_are_allowed(
    workspace: Path, tmp_path: Path
) -> None:
    file = tmp_path / "events.csv"
    file.write_text("type,event,userId\ntrack,A,u1\ntrack,,u1\n")

    failed, output = _run(workspace, "events", file)
    allowed, _ = _run(workspace, "events", file, "--allow-rejections")

    assert (failed, allowed) == (1, 0)
    assert "1 record was rejected (the others are imported)" in output
    assert [name for _, name, _ in _stored(workspace)] == ["A"]  # once: the retry is a duplicate


def test_types_must_name_columns_of_the_file(workspace: Path, tmp_path: Path) -> None:
    file = tmp_path / "people.csv"
    file.write_text("userId,age\nu1,31\n")
    done = _subprocess(workspace, "people", file, "--types", "agee=int")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        "error: --types: 'agee' is not a column of the file (its columns: age)"
    )
    assert _stored(workspace) == []


def _subprocess(
    workspace: Path, what: str, file: Path, *options: str
) -> subprocess.CompletedProcess[str]:
    command = Path(sys.executable).parent / "pertinent"
    return subprocess.run(
        [str(command), "import", what, str(file), "--workspace", str(workspace), *options],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "500"},
        timeout=60,
    )


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
    done = _subprocess(workspace, what, file)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith(f"error: {file}{expected}")
    assert _stored(workspace) == []


def test_hostile_lines_in_an_import_are_rejected_one_by_one(
    workspace: Path, tmp_path: Path
) -> None:
    deep: object = "x"
    for _ in range(300):
        deep = {"a": deep}
    file = tmp_path / "events.jsonl"
    file.write_text(
        "\n".join(
            json.dumps(record)
            for record in [
                {"type": "track", "event": "A", "userId": "u1"},
                {
                    "type": "track",
                    "event": "B",
                    "userId": "u1",
                    "timestamp": "9999-12-31T23:59:59-05:00",
                },
                {"type": "track", "event": "C", "userId": "u1", "properties": deep},
                {"type": "track", "event": "D", "userId": "u1", "properties": {"n": "a\x00b"}},
                {
                    "type": "track",
                    "event": "E",
                    "userId": "u1",
                    "sentAt": "0001-01-01T00:00:00Z",
                    "timestamp": "2026-01-01T00:00:00Z",
                },
                {"type": "track", "event": "F", "userId": "u1"},
            ]
        )
        + "\n"
    )

    code, output = _run(workspace, "events", file)

    assert code == 1
    assert [(int(n), field) for n, field, _ in ROW.findall(output)] == [
        (2, "timestamp"),
        (3, "properties"),
        (4, "properties.n"),
        (5, "sentAt"),
    ]
    assert [name for _, name, _ in _stored(workspace)] == ["A", "F"]
