"""`pertinent lint` and `pertinent preview`: what a template author runs in a workspace."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pertinent.app import open_system
from pertinent.cli import app


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    made = CliRunner().invoke(app, ["init", str(root)])
    assert made.exit_code == 0, made.output
    system = open_system(root)
    system.ingestor.ingest(
        [
            {
                "type": "identify",
                "userId": "u1",
                "traits": {"email": "a@example.com", "first_name": "Ann"},
            }
        ]
    )
    system.run_until_idle()
    system.close()
    return root


def test_lint_passes_the_example_templates_and_fails_a_broken_one(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    clean = CliRunner().invoke(app, ["lint", "--workspace", str(root), "-v"])
    assert clean.exit_code == 0, clean.output
    assert (
        "welcome: 0 errors, 0 warnings (converted once; rendered for 1 of 1 profiles)"
        in clean.output
    )
    assert "profile.first_name" in clean.output
    subject = root / "templates" / "welcome" / "subject.liquid"
    subject.write_text("Hi {{ profile.first_name | upcase \n")
    broken = CliRunner().invoke(app, ["lint", "welcome", "--workspace", str(root)])
    assert broken.exit_code == 1
    assert "welcome: 1 error, 0 warnings" in broken.output
    assert "error templates/welcome/subject.liquid:1:" in broken.output
    assert "Traceback" not in broken.output


def test_preview_shows_a_real_persons_email_and_writes_its_html(tmp_path: Path) -> None:
    root = _workspace(tmp_path)
    html = tmp_path / "welcome.html"
    shown = CliRunner().invoke(
        app,
        ["preview", "welcome", "--profile", "u1", "--workspace", str(root), "--html", str(html)],
    )
    assert shown.exit_code == 0, shown.output
    assert "Subject:   Welcome to the shop, Ann!" in shown.output
    assert "Hello Ann," in shown.output
    assert "</html>" in html.read_text()
    unknown = CliRunner().invoke(
        app, ["preview", "welcome", "--profile", "zed", "--workspace", str(root)]
    )
    assert unknown.exit_code == 1
