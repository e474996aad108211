"""Workspace files: strict validation with errors that say where and what."""

from __future__ import annotations

from pathlib import Path

import pytest

from pertinent.config import load_workspace
from pertinent.errors import ConfigError
from pertinent.scaffold import write_example_workspace


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write_example_workspace(tmp_path / "ws")
    return tmp_path / "ws"


def test_the_example_workspace_loads(root: Path) -> None:
    ws = load_workspace(root)
    assert {s.key for s in ws.segments} >= {"electronics_fans", "cart_abandoners", "dormant"}
    assert {j.key for j in ws.journeys} >= {"welcome", "cart_abandonment"}


def test_an_unknown_key_names_the_file_and_the_key_path(root: Path) -> None:
    config = root / "pertinent.yaml"
    config.write_text(config.read_text().replace("smtp:\n", "smtp:\n  hots: x\n"))
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert str(config) in str(caught.value)
    assert "smtp.hots: unknown key" in str(caught.value)


def test_a_bad_segment_names_its_file_and_what_is_expected(root: Path) -> None:
    bad = root / "segments" / "bad.yaml"
    bad.write_text("key: bad\ncondition:\n  type: performed\n  event: X\n  within: soon\n")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    message = str(caught.value)
    assert "bad.yaml" in message
    assert "condition.performed.within" in message
    assert "30m, 24h, 7d" in message


def test_broken_yaml_points_at_the_line(root: Path) -> None:
    (root / "journeys" / "broken.yaml").write_text("key: x\nsteps: [\n")
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "broken.yaml:3" in str(caught.value)


def test_environment_variables_fill_settings(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERTINENT_SECRET", "s" * 32)
    monkeypatch.setenv("PERTINENT_SMTP_URL", "smtp://mail.internal:25")
    ws = load_workspace(root)
    assert ws.settings.secret == "s" * 32
    assert ws.settings.smtp.url == "smtp://mail.internal:25"


def test_a_missing_workspace_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_workspace(tmp_path)
    assert "pertinent init" in str(caught.value)


def test_every_new_workspace_signs_links_with_its_own_secret(tmp_path: Path) -> None:
    write_example_workspace(tmp_path / "one")
    write_example_workspace(tmp_path / "two")
    one = load_workspace(tmp_path / "one").settings.secret
    two = load_workspace(tmp_path / "two").settings.secret
    assert one != two
    assert len(one) >= 32 and "change-me" not in one
