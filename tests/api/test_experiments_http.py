"""A subject-line test read back over HTTP and on the command line.

The shop's people arrive through /v1/batch; each is sent one email of the experiment
`subject-test` (control or "question"), and some open, click and order. Until experiments
are wired into send steps, the `email_sent`, `email_opened` and `email_clicked` events are
appended as the sender and the tracking endpoints append them (`system_event` through the
ingestor), with the properties docs/experiments.md documents.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
from apitools import ADMIN, WRITE_KEY, settle
from conftest import START
from typer.testing import CliRunner

from pertinent.app import System
from pertinent.cli import app
from pertinent.events.system import system_event
from pertinent.experiments.assign import Allocation, assign

PEOPLE = 400
WEIGHTS = {"control": 1, "question": 1}


def _run_experiment(system: System, base_url: str) -> dict[str, str]:
    identifies = [
        {"type": "identify", "userId": f"p{i:03d}", "traits": {"email": f"p{i:03d}@example.com"}}
        for i in range(PEOPLE)
    ]
    for start in range(0, PEOPLE, 100):
        answer = httpx.post(
            f"{base_url}/v1/batch",
            json={"batch": identifies[start : start + 100]},
            auth=(WRITE_KEY, ""),
        )
        assert answer.status_code == 200, answer.text
    allocation = Allocation(list(WEIGHTS), list(WEIGHTS.values()))
    variants = {f"p{i:03d}": assign("subject-test", allocation, f"p{i:03d}") for i in range(PEOPLE)}
    events, orders = [], []
    for n, (person, variant) in enumerate(sorted(variants.items())):
        at = START + timedelta(minutes=n)
        props = {
            "message_id": f"<m{n}@pertinent>",
            "template": "welcome",
            "experiment": "subject-test",
            "variant": variant,
            "experiment_control": "control",
            "experiment_weights": WEIGHTS,
        }
        events.append(system_event("email_sent", person, props, at, cause=f"sent-{n}"))
        clicks = n % 10 < (4 if variant == "question" else 1)  # 40 % against 10 %
        if clicks or n % 10 == 9:
            opened = {"message_id": props["message_id"]}
            events.append(
                system_event("email_opened", person, opened, at + timedelta(hours=1), cause=f"o{n}")
            )
        if clicks:
            clicked = {"message_id": props["message_id"], "url": "https://shop.example/"}
            events.append(
                system_event(
                    "email_clicked", person, clicked, at + timedelta(hours=1), cause=f"c{n}"
                )
            )
            orders.append(
                {
                    "type": "track",
                    "userId": person,
                    "event": "Order Completed",
                    "timestamp": (at + timedelta(hours=2)).isoformat(),
                    "properties": {"order_id": f"o{n}", "revenue": 30},
                }
            )
    system.ingestor.append(events)
    answer = httpx.post(f"{base_url}/v1/batch", json={"batch": orders}, auth=(WRITE_KEY, ""))
    assert answer.status_code == 200, answer.text
    settle(system)
    return variants


def test_an_experiment_is_listed_and_read_with_its_verdict(system: System, base_url: str) -> None:
    variants = _run_experiment(system, base_url)
    listed = httpx.get(f"{base_url}/v1/experiments", headers=ADMIN)
    assert listed.status_code == 200, listed.text
    (item,) = listed.json()
    assert item["key"] == "subject-test" and item["recipients"] == PEOPLE
    assert (item["verdict"], item["winner"]) == ("winner", "question")
    assert {v["name"]: v["recipients"] for v in item["variants"]} == {
        name: sum(1 for v in variants.values() if v == name) for name in WEIGHTS
    }

    answer = httpx.get(f"{base_url}/v1/experiments/subject-test", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    by_name = {v["name"]: v for v in report["variants"]}
    question = by_name["question"]["metrics"]
    assert question["click"]["value"] > 0.3 > by_name["control"]["metrics"]["click"]["value"]
    comparison = question["click"]["vs_control"]
    assert comparison["verdict"] == "better"
    assert comparison["always_valid_p_value"] <= 0.05 and comparison["always_valid_low"] > 0
    assert question["conversion"]["value"] == question["click"]["value"]
    assert question["revenue"]["value"] == 30 * question["click"]["value"]
    assert (
        by_name["control"]["control"]
        and by_name["control"]["metrics"]["click"]["vs_control"] is None
    )
    assert report["sample_ratio"]["mismatch"] is False
    assert {s["segment"] for s in report["segments"]} == {s.key for s in system.segments}


def test_unknown_experiments_and_missing_keys_are_clear_errors(
    system: System, base_url: str
) -> None:
    missing = httpx.get(f"{base_url}/v1/experiments/nope", headers=ADMIN)
    assert missing.status_code == 404 and "no experiment 'nope'" in missing.json()["error"]
    assert httpx.get(f"{base_url}/v1/experiments").status_code == 401
    assert httpx.get(f"{base_url}/v1/experiments", headers=ADMIN).json() == []


def test_the_cli_shows_the_same_result(system: System, base_url: str) -> None:
    _run_experiment(system, base_url)
    root = str(system.workspace.root)
    shown = CliRunner().invoke(app, ["experiments", "show", "subject-test", "--workspace", root])
    assert shown.exit_code == 0, shown.output
    assert "question" in shown.output and "verdict: winner: question" in shown.output
    listed = CliRunner().invoke(app, ["experiments", "list", "--workspace", root])
    assert "subject-test" in listed.output and "winner" in listed.output
    unknown = CliRunner().invoke(app, ["experiments", "show", "nope", "--workspace", root])
    assert unknown.exit_code != 0 and "Traceback" not in unknown.output
