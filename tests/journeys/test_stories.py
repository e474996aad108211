"""Journeys as a marketer tells them: each story in `stories/*.yaml` is a list of moments
(`at` a time after the start) with what happens (events, an import of history, a broadcast,
an edit of the workspace, which restarts Pertinent as a deploy would) and what must be seen
by then: the emails received since the moment before (at a real SMTP server), segment
members, journey numbers. Every story runs on SQLite and on PostgreSQL, on the simulated
clock.

A story file:

    title: Cart abandonment
    settings: {journeys: {caps: [...]}}    # merged into pertinent.yaml (optional)
    files: {journeys/x.yaml: {...}, templates/t/subject.liquid: "..."}   # (optional)
    story:
      - at: 0m
        events: [{type: track, event: Product Added, userId: ann, ...}]
      - at: 61m
        emails: [{to: ann@example.com, subject: you left Blue Kettle}]
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import POSTGRES_URL, START

from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import SmtpSink
from pertinent.journeys.broadcasts import BroadcastRequest, create
from pertinent.processor.journeys import HISTORIC_CONTEXT
from pertinent.segments.language import parse_duration

STORIES = sorted((Path(__file__).parent / "stories").glob("*.yaml"))


def _offset(text: str | int) -> timedelta:
    return timedelta() if str(text).strip() in ("0", "0m", "0s") else parse_duration(text)


def _write(root: Path, files: dict[str, Any]) -> None:
    for name, content in files.items():
        path = root / name
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        text = content if isinstance(content, str) else yaml.safe_dump(content, sort_keys=False)
        path.write_text(text)


def _settle(system: System) -> None:
    # Segment entries feed journeys through the log, and sends come back as events: a few
    # rounds until nothing moves.
    for _ in range(4):
        system.run_until_idle()


class Story:
    def __init__(self, root: Path, sink: SmtpSink, backend: str, schema: str | None):
        self.root, self.sink = root, sink
        self.clock = SimClock(START)
        self.options: dict[str, Any] = (
            {"database_url": POSTGRES_URL, "schema": schema} if backend == "postgresql" else {}
        )
        self.seen = 0
        self.system = self._open()

    def _open(self) -> System:
        return build_system(load_workspace(self.root), clock=self.clock, **self.options)

    def restart(self) -> None:
        self.system.close()
        self.system = self._open()

    def moment(self, moment: dict[str, Any], where: str) -> None:
        self.clock.set(START + _offset(moment["at"]))
        if "edit" in moment:
            _write(self.root, moment["edit"])
            self.restart()
        if "events" in moment:
            result = self.system.ingestor.ingest(moment["events"])
            assert result.rejections == [], f"{where}: {result.rejections}"
        if "import" in moment:
            result = self.system.ingestor.ingest(
                moment["import"], context_defaults=HISTORIC_CONTEXT
            )
            assert result.rejections == [], f"{where}: {result.rejections}"
        if "unsubscribe" in moment:
            with self.system.storage.transaction() as tx:
                for address in moment["unsubscribe"]:
                    tx.suppressions.add(address, None, "unsubscribed", self.clock.now())
        if "broadcast" in moment:
            request = BroadcastRequest.model_validate(moment["broadcast"])
            segments = [s.key for s in self.system.segments]
            create(
                self.system.storage,
                request,
                segments,
                self.system.templates.names(),
                self.clock.now(),
            )
        _settle(self.system)
        if "emails" in moment:
            self.check_emails(moment["emails"], where)
        for key, members in moment.get("segments", {}).items():
            found = {m.profile_id for m in self.system.storage.reads.members(key, 1000, 0)}
            assert found == set(members), f"{where}: segment {key}"
        for journey, steps in moment.get("journeys", {}).items():
            numbers: dict[tuple[str, str], int] = {}
            for n in self.system.storage.reads.journey_numbers():
                if n.journey_key == journey:  # exits by reason, all together
                    metric = "exited" if n.metric.startswith("exit:") else n.metric
                    numbers[(n.step, metric)] = numbers.get((n.step, metric), 0) + n.n
            for step, metrics in steps.items():
                for metric, n in metrics.items():
                    got = sum(v for (s, m), v in numbers.items() if s == step and m == metric)
                    assert got == n, f"{where}: {journey}.{step}.{metric} is {got}, not {n}"

    def check_emails(self, expected: list[dict[str, str]], where: str) -> None:
        new = self.sink.messages[self.seen :]
        self.seen = len(self.sink.messages)
        got = sorted(
            (m.rcpt_tos[0], str(m.message["Subject"]), m.message.get_body(("html",)).get_content())
            for m in new
        )
        want = sorted(expected, key=lambda e: (e["to"], e.get("subject", "")))
        assert [g[0] for g in got] == [w["to"] for w in want], (
            f"{where}: emails to {[(g[0], g[1]) for g in got]}"
        )
        for (_to, subject, body), wanted in zip(got, want, strict=True):
            assert wanted.get("subject", "") in subject, f"{where}: subject {subject!r}"
            assert wanted.get("body", "") in body, f"{where}: body lacks {wanted['body']!r}"


@contextmanager
def _schema(request: pytest.FixtureRequest, backend: str) -> Iterator[str | None]:
    if backend == "postgresql":
        yield request.getfixturevalue("pg_schema")
    else:
        yield None


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("path", STORIES, ids=[p.stem for p in STORIES])
def test_story(
    path: Path, backend: str, workspace: Path, sink: SmtpSink, request: pytest.FixtureRequest
) -> None:
    spec = yaml.safe_load(path.read_text())
    if "settings" in spec:
        settings = yaml.safe_load((workspace / "pertinent.yaml").read_text())
        for section, values in spec["settings"].items():
            settings.setdefault(section, {}).update(values)
        (workspace / "pertinent.yaml").write_text(yaml.safe_dump(settings))
    _write(workspace, spec.get("files", {}))
    with _schema(request, backend) as schema:
        story = Story(workspace, sink, backend, schema)
        try:
            for index, moment in enumerate(spec["story"]):
                story.moment(moment, f"{path.name}: story.{index} (at {moment['at']})")
        finally:
            story.system.close()
