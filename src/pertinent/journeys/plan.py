"""Configuration as code: what a workspace's definitions would change on a running system
(`plan`), and putting them live without a restart (`apply`).

The definitions are the files under `segments/`, `journeys/` and `templates/`; pertinent.yaml
stays the server's own (it holds storage, keys and secrets). A proposed set of files is
checked whole, as `serve` would load it (every error with its file and key path), and
compared with what runs:

- segments added, changed or removed, with their size now and after the change (the new
  condition evaluated over everyone, in a snapshot);
- journeys added, changed (a new version: how many running instances wait at which step,
  and which of those steps the new version no longer has or migrates) or removed (their
  running instances end);
- templates added, changed or removed, with what is wrong with them (Liquid that does not
  parse, a bad template.yaml).

Applying writes the files into the server's workspace, registers the new journey versions,
and publishes the files as the `workspace` artefact, which every process polls: each
writes them into its own workspace folder if they differ and reloads its definitions.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from pertinent.config import CONFIG_FILE, Workspace, load_workspace
from pertinent.content.templates import PARTIALS, TemplateLibrary
from pertinent.errors import InputError, PertinentError
from pertinent.journeys.references import check_references
from pertinent.journeys.versions import JourneySet
from pertinent.segments.definitions import SegmentSet
from pertinent.storage.ports import Storage

Change = Literal["added", "changed", "removed", "unchanged"]
FOLDERS = ("segments", "journeys", "templates")
MAX_FILES = 2000
MAX_BYTES = 512 * 1024  # per file


@dataclass
class SegmentPlan:
    key: str
    change: Change
    size_now: int
    size_after: int | None  # None: removed


@dataclass
class JourneyPlan:
    key: str
    change: Change
    version_now: int | None
    version_after: int | None
    running: dict[str, int] = field(default_factory=dict)  # step -> instances waiting there
    steps_gone: list[str] = field(default_factory=list)  # running at steps it no longer has
    migrated: dict[str, str] = field(default_factory=dict)


@dataclass
class TemplatePlan:
    name: str
    change: Change
    problems: list[str] = field(default_factory=list)


@dataclass
class Plan:
    segments: list[SegmentPlan]
    journeys: list[JourneyPlan]
    templates: list[TemplatePlan]

    @property
    def changes(self) -> int:
        parts: list[SegmentPlan | JourneyPlan | TemplatePlan] = [
            *self.segments,
            *self.journeys,
            *self.templates,
        ]
        return sum(1 for p in parts if p.change != "unchanged")


def workspace_files(root: Path) -> dict[str, str]:
    """The definition files of a workspace folder, by path relative to it."""
    found: dict[str, str] = {}
    for folder in FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                found[path.relative_to(root).as_posix()] = path.read_text("utf-8")
    return found


def _checked_paths(files: Mapping[str, str]) -> None:
    """Only definition files, inside the workspace, of a sane size."""
    if len(files) > MAX_FILES:
        raise InputError(f"{len(files)} files; at most {MAX_FILES}", where="files")
    for name, text in files.items():
        parts = Path(name).parts
        if not parts or parts[0] not in FOLDERS or ".." in parts or Path(name).is_absolute():
            raise InputError(
                f"{name!r} is not a definition file",
                where="files",
                hint="paths under segments/, journeys/ or templates/",
            )
        if len(text.encode()) > MAX_BYTES:
            raise InputError(f"{name}: over {MAX_BYTES // 1024} KB", where="files")


def write_files(root: Path, files: Mapping[str, str]) -> None:
    """Make the workspace's definition folders hold exactly `files`."""
    _checked_paths(files)
    for folder in FOLDERS:
        shutil.rmtree(root / folder, ignore_errors=True)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")


def proposed_workspace(live: Workspace, files: Mapping[str, str], folder: Path) -> Workspace:
    """The live workspace's settings with these definitions, written under `folder` and
    loaded as `serve` would load them (errors name the file and key path)."""
    _checked_paths(files)
    shutil.copy(live.root / CONFIG_FILE, folder / CONFIG_FILE)
    write_files(folder, files)
    proposed = load_workspace(folder)
    segments = SegmentSet(proposed.segments)
    templates = TemplateLibrary(proposed.templates_dir)
    check_references(
        proposed.journeys, [s.key for s in segments], templates, proposed.templates_dir
    )
    return proposed


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _change(now: str | None, after: str | None) -> Change:
    if now is None:
        return "added"
    if after is None:
        return "removed"
    return "unchanged" if now == after else "changed"


def make_plan(
    storage: Storage,
    live: Workspace,
    journeys: JourneySet,
    proposed: Workspace,
    now: datetime,
) -> Plan:
    """What `proposed` would change against what runs (`live`, `journeys`) at `now`."""
    return Plan(
        _segments(storage, live, proposed, now),
        _journeys(storage, journeys, proposed),
        _templates(live, proposed),
    )


def _segments(
    storage: Storage, live: Workspace, proposed: Workspace, now: datetime
) -> list[SegmentPlan]:
    before = {s.key: s.model_dump_json() for s in live.segments}
    after_set = SegmentSet(proposed.segments)
    after = {s.key: s.model_dump_json() for s in after_set}
    sizes = storage.reads.segment_sizes()
    keys = sorted(before.keys() | after.keys())
    evaluate = [k for k in keys if k in after and before.get(k) != after[k]]
    counted: dict[str, set[str]] = {}
    if evaluate:
        with storage.snapshot() as tx:
            counted = tx.segments.matching(after_set.conditions, dict.fromkeys(evaluate), now)
    return [
        SegmentPlan(
            key,
            _change(before.get(key), after.get(key)),
            sizes.get(key, 0),
            None
            if key not in after
            else len(counted.get(key, set()))
            if key in evaluate
            else sizes.get(key, 0),
        )
        for key in keys
    ]


def _journeys(storage: Storage, journeys: JourneySet, proposed: Workspace) -> list[JourneyPlan]:
    running: dict[str, dict[str, int]] = {}
    for n in storage.reads.journey_numbers():
        if n.metric == "waiting":
            steps = running.setdefault(n.journey_key, {})
            steps[n.step] = steps.get(n.step, 0) + n.n
    after = {j.key: j for j in proposed.journeys}
    plans: list[JourneyPlan] = []
    for key in sorted({v.key for v in journeys.live()} | after.keys()):
        latest = journeys.latest(key)
        definition = after.get(key)
        now_digest = latest.definition.digest() if latest else None
        change = _change(now_digest, definition.digest() if definition else None)
        waiting = running.get(key, {})
        plan = JourneyPlan(
            key,
            change,
            latest.number if latest else None,
            None
            if definition is None
            else (latest.number if latest else 0) + (change != "unchanged"),
            dict(waiting),
        )
        if definition is not None and change == "changed":
            ids = {s.id for s in definition.steps}
            plan.migrated = {a: b for a, b in definition.migrate.items() if a in waiting}
            plan.steps_gone = sorted(s for s in waiting if s not in ids and s not in plan.migrated)
        plans.append(plan)
    return plans


def _templates(live: Workspace, proposed: Workspace) -> list[TemplatePlan]:
    def contents(root: Path) -> dict[str, str]:
        by_name: dict[str, list[str]] = {}
        for name, text in workspace_files(root).items():
            parts = name.split("/")
            if parts[0] == "templates" and len(parts) > 2:
                by_name.setdefault(parts[1], []).append(f"{name}\x1f{text}")
        return {name: _digest("\x1e".join(sorted(v))) for name, v in by_name.items()}

    now, after = contents(live.root), contents(proposed.root)
    library = TemplateLibrary(proposed.templates_dir)
    plans = []
    for name in sorted((now.keys() | after.keys()) - {PARTIALS}):  # partials are no template
        plan = TemplatePlan(name, _change(now.get(name), after.get(name)))
        if name in after:
            try:
                library.get(name)  # its Liquid and its template.yaml
            except PertinentError as exc:
                plan.problems.append(str(exc))
        plans.append(plan)
    return plans


def plan_files(
    storage: Storage,
    live: Workspace,
    journeys: JourneySet,
    files: Mapping[str, str],
    now: datetime,
) -> Plan:
    """The plan for these definition files against what runs."""
    with tempfile.TemporaryDirectory() as tmp:
        proposed = proposed_workspace(live, files, Path(tmp))
        return make_plan(storage, live, journeys, proposed, now)
