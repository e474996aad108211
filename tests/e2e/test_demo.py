"""`pertinent demo --exit-when-done`: the whole loop through real HTTP and real SMTP."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from server import free_port

from pertinent.config import load_workspace
from pertinent.demo import run_demo
from pertinent.storage.sql.database import Database
from pertinent.storage.sql.storage import SqlStorage


def _event_names(root: Path) -> Counter[str | None]:
    storage = SqlStorage(Database(load_workspace(root).database_url()))
    try:
        with storage.snapshot() as tx:
            return Counter(e.event.name for e in tx.log.read_after(0, 1_000_000))
    finally:
        storage.close()


def test_the_demo_delivers_personalized_emails_and_records_opens_and_clicks(
    tmp_path: Path,
) -> None:
    root = tmp_path / "demo"
    with (tmp_path / "out.txt").open("w") as out:
        run_demo(
            root,
            days=2,
            people=120,
            port=free_port(),
            exit_when_done=True,
            seed=11,
            console=Console(file=out),
        )
    mail = sorted((root / "mail").glob("*.eml"))
    assert mail, "emails reached the SMTP sink"
    names = _event_names(root)
    assert names["email_sent"] == len(mail)
    assert names["email_opened"] > 0
    assert names["email_clicked"] > 0
    texts = [p.read_text() for p in mail]
    assert any("you left" in t for t in texts), "a cart-abandonment email went out"
    assert not any("{{" in t for t in texts), "no unrendered Liquid reaches a person"
