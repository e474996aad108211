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
from pertinent.processor.effects import EmitEvents, EnqueueEmails
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


def _request(pid: str, template: str = "hello") -> SendRequest:
    inst = Instance(f"key-{pid}", "welcome", pid, 0, "waiting", START)
    return SendRequest(inst, 0, template)


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
    enqueue, emitted = composer.compose(timeline, profiles, {"gone@example.com"}, START)

    assert isinstance(enqueue, EnqueueEmails) and isinstance(emitted, EmitEvents)
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
    assert by_person["ann"].message_id == composer.message_id("key-ann:0")
    assert composer.message_id("key-ann:0") != composer.message_id("key-bob:0")
