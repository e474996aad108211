"""The compose engine over a real template library: each send request's outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import START

from pertinent.content.links import SystemUrls
from pertinent.content.render import Renderer
from pertinent.content.templates import TemplateLibrary
from pertinent.journeys.model import Instance
from pertinent.processor.compose import Composer
from pertinent.processor.effects import CountSteps, EmitEvents, EnqueueEmails
from pertinent.processor.journeys import SendRequest
from pertinent.profiles.state import ProfileState
from pertinent.tracking.tokens import TrackingTokens


@pytest.fixture
def composer(tmp_path: Path) -> Composer:
    hello = tmp_path / "hello"
    hello.mkdir()
    (hello / "subject.liquid").write_text("Hi {{ profile.first_name | default: 'there' }}")
    (hello / "body.html").write_text("<html><body><p>{{ profile.first_name }}</p></body></html>")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "subject.liquid").write_text("Hi")
    (broken / "body.html").write_text("{% if %}")
    library = TemplateLibrary(tmp_path)
    return Composer(
        Renderer(library, SystemUrls("http://shop", TrackingTokens("k" * 16))), "k" * 16
    )


def _request(pid: str, template: str = "hello", category: str = "marketing") -> SendRequest:
    inst = Instance(f"key-{pid}", "welcome", pid, "step1", "waiting", START)
    return SendRequest(
        inst, "step1", template, "transactional" if category != "marketing" else "marketing"
    )


def test_each_request_is_enqueued_skipped_or_failed_with_its_reason(composer: Composer) -> None:
    profiles = {
        "ann": ProfileState("ann", traits={"email": "ann@example.com", "first_name": "Ann"}),
        "nomail": ProfileState("nomail"),
        "list": ProfileState("list", traits={"email": "a@example.com, b@example.com"}),
        "gone": ProfileState("gone", traits={"email": "gone@example.com"}),
        "bob": ProfileState("bob", traits={"email": "bob@example.com"}),
    }
    timeline = [
        _request("ann"),
        _request("nomail"),
        _request("list"),
        _request("gone"),
        _request("bob", "broken"),
    ]
    suppressed = {"gone@example.com": "unsubscribed"}
    enqueue, emitted, counted = composer.compose(timeline, profiles, suppressed, START)

    assert isinstance(enqueue, EnqueueEmails) and isinstance(emitted, EmitEvents)
    assert isinstance(counted, CountSteps)
    assert counted.counts == {
        ("welcome", 1, "step1", "sent"): 1,
        ("welcome", 1, "step1", "failed"): 2,
        ("welcome", 1, "step1", "not sent"): 2,
    }
    outcomes = [e.properties["outcome"] for e in emitted.events]
    assert outcomes[:2] == ["enqueued", "no email address"]
    assert outcomes[2].startswith("bad address: not a single plain address")
    assert outcomes[3] == "suppressed"
    assert outcomes[4].startswith("template error:")
    by_person = {item.profile_id: item for item in enqueue.items}
    assert set(by_person) == {"ann", "list", "bob"}
    assert by_person["ann"].error is None and by_person["ann"].subject == "Hi Ann"
    assert by_person["list"].error == outcomes[2], "failed rows carry their reason"
    assert by_person["bob"].error == outcomes[4]
    assert by_person["ann"].message_id == composer.message_id(timeline[0].idempotency_key)
    assert by_person["ann"].message_id != by_person["bob"].message_id
    assert by_person["ann"].meta == {"step": "step1", "version": 1, "category": "marketing"}


def test_a_transactional_email_ignores_an_unsubscribe_but_never_a_hard_bounce(
    composer: Composer,
) -> None:
    profiles = {
        "left": ProfileState("left", traits={"email": "left@example.com"}),
        "gone": ProfileState("gone", traits={"email": "gone@example.com"}),
    }
    suppressed = {"left@example.com": "unsubscribed", "gone@example.com": "bounced"}
    timeline = [
        _request("left", category="transactional"),
        _request("gone", category="transactional"),
        _request("left"),
    ]
    _enqueue, emitted, _counted = composer.compose(timeline, profiles, suppressed, START)
    outcomes = [e.properties["outcome"] for e in emitted.events]
    assert outcomes == ["enqueued", "suppressed", "suppressed"]
