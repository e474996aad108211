"""Configuration as code against a running server: `plan` shows what the folder would
change (segment sizes after the change, journey versions and the instances they touch,
templates and what is wrong with them); `apply` puts it live in every process without a
restart."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from apitools import ADMIN
from server import serving
from typer.testing import CliRunner

from pertinent.api.app import create_app
from pertinent.app import System, build_system
from pertinent.cli import app as cli
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.journeys.plan import workspace_files

WELCOME_V2 = {
    "key": "welcome",
    "trigger": {"type": "event", "event": "Signed Up"},
    "reentry": "never",
    "migrate": {"two_days": "one_day"},
    "steps": [
        {"id": "hello", "type": "send", "template": "welcome"},
        {"id": "one_day", "type": "wait", "duration": "1d"},
        {"id": "tips", "type": "send", "template": "welcome_tips"},
    ],
}


def _people(system: System) -> None:
    system.ingestor.ingest(
        [
            {"type": "identify", "userId": u, "traits": {"email": f"{u}@example.com", "vip": i < 2}}
            for i, u in enumerate(["ann", "bob", "cy"])
        ]
        + [{"type": "track", "event": "Signed Up", "userId": u} for u in ("ann", "bob")]
    )
    system.run_until_idle()


def _edited(root: Path) -> dict[str, str]:
    files = workspace_files(root)
    files["segments/vips.yaml"] = yaml.safe_dump(
        {"key": "vips", "condition": {"type": "trait", "trait": "vip", "value": True}}
    )
    files["journeys/welcome.yaml"] = yaml.safe_dump(WELCOME_V2)
    del files["journeys/win_back.yaml"]
    files["templates/promo/subject.liquid"] = "Hi {{ profile.first_name"
    files["templates/promo/body.html"] = "<p>x</p>"
    return files


def test_plan_shows_sizes_versions_running_instances_and_broken_templates(
    workspace: Path, clock: SimClock
) -> None:
    system = build_system(load_workspace(workspace), clock=clock)
    try:
        _people(system)
        with serving(create_app(system)) as base:
            answer = httpx.post(
                f"{base}/v1/workspace/plan", headers=ADMIN, json={"files": _edited(workspace)}
            )
        assert answer.status_code == 200, answer.text
        plan = answer.json()
    finally:
        system.close()
    segments = {s["key"]: s for s in plan["segments"]}
    assert segments["vips"] == {"key": "vips", "change": "added", "size_now": 0, "size_after": 2}
    assert segments["dormant"]["change"] == "unchanged"
    journeys = {j["key"]: j for j in plan["journeys"]}
    assert journeys["welcome"] | {"running": None} == {
        "key": "welcome",
        "change": "changed",
        "version_now": 1,
        "version_after": 2,
        "running": None,
        "steps_gone": [],
        "migrated": {"two_days": "one_day"},
    }
    assert journeys["welcome"]["running"] == {"two_days": 2}
    assert journeys["win_back"]["change"] == "removed"
    templates = {t["name"]: t for t in plan["templates"]}
    assert templates["promo"]["change"] == "added"
    assert "subject.liquid" in templates["promo"]["problems"][0]
    assert templates["welcome"] == {"name": "welcome", "change": "unchanged", "problems": []}


def test_apply_puts_definitions_live_in_every_process_without_a_restart(
    workspace: Path, clock: SimClock, tmp_path: Path
) -> None:
    api = build_system(load_workspace(workspace), clock=clock)
    other_root = tmp_path / "processor-host"
    shutil.copytree(workspace, other_root)
    shared = api.workspace.database_url()  # the other host's process, on the same database
    processor = build_system(load_workspace(other_root), clock=clock, database_url=shared)
    try:
        _people(api)
        files = _edited(workspace)
        with serving(create_app(api)) as base:
            refused = httpx.post(f"{base}/v1/workspace/apply", headers=ADMIN, json={"files": files})
            assert refused.status_code == 422 and "promo" in refused.json()["error"]
            del files["templates/promo/subject.liquid"], files["templates/promo/body.html"]
            broken: dict[str, Any] = dict(files)
            broken["journeys/oops.yaml"] = yaml.safe_dump(
                {
                    "key": "oops",
                    "trigger": {"type": "event", "event": "E"},
                    "steps": [{"type": "send", "template": "welcome", "next": "nowhere"}],
                }
            )
            bad = httpx.post(f"{base}/v1/workspace/apply", headers=ADMIN, json={"files": broken})
            assert bad.status_code == 422
            assert "oops.yaml" in bad.json()["where"] and "steps.0.next" in bad.json()["error"]
            applied = httpx.post(f"{base}/v1/workspace/apply", headers=ADMIN, json={"files": files})
            assert applied.status_code == 200, applied.text
        assert processor.follow_definitions(), "the other process takes the applied files"
        assert not processor.follow_definitions(), "once"
        assert (other_root / "segments" / "vips.yaml").is_file()
        assert not (other_root / "journeys" / "win_back.yaml").exists()
        live = processor.processor.pipeline.journeys
        assert live.latest("welcome").number == 2 and live.latest("win_back") is None
        processor.run_until_idle()
        members = {m.profile_id for m in processor.storage.reads.members("vips", 10, 0)}
        assert members == {"ann", "bob"}, "a new segment backfills at once"
        clock.advance(timedelta(days=1))
        processor.run_until_idle()
        numbers = {
            (n.version, n.step, n.metric): n.n for n in processor.storage.reads.journey_numbers()
        }
        assert numbers[(2, "tips", "sent")] == 2, "moved to one_day, a day was enough"
    finally:
        api.close()
        processor.close()


def test_the_cli_plans_and_applies_against_a_running_server(
    workspace: Path, clock: SimClock
) -> None:
    system = build_system(load_workspace(workspace), clock=clock)
    try:
        with serving(create_app(system)) as base:
            (workspace / "journeys" / "win_back.yaml").unlink()
            planned = CliRunner().invoke(
                cli, ["plan", "--workspace", str(workspace), "--server", base]
            )
            assert planned.exit_code == 0, planned.output
            assert "win_back" in planned.output and "removed" in planned.output
            assert system.processor.pipeline.journeys.latest("win_back") is not None
            applied = CliRunner().invoke(
                cli, ["apply", "--workspace", str(workspace), "--server", base]
            )
            assert applied.exit_code == 0, applied.output
        assert system.processor.pipeline.journeys.latest("win_back") is None
    finally:
        system.close()
