"""Recommendations rendered into a real email for a simulated person, and recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pertinent.app import build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import SmtpSink
from pertinent.scaffold import write_example_workspace
from pertinent.sim import Simulation

START = datetime(2026, 3, 2, tzinfo=UTC)


def test_a_post_purchase_email_shows_products_picked_for_the_person(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = SmtpSink()
    port = sink.start()
    root = tmp_path / "ws"
    write_example_workspace(root)
    monkeypatch.setenv("PERTINENT_SMTP_URL", f"smtp://127.0.0.1:{port}")
    clock = SimClock(START)
    system = build_system(load_workspace(root), clock=clock)
    sim = Simulation(seed=2, n_people=80, n_products=40, start=START)
    try:
        for hour in range(48):
            now = START + timedelta(hours=hour)
            system.ingestor.ingest(sim.events_between(now, now + timedelta(hours=1)))
            clock.set(now + timedelta(hours=1))
            system.run_until_idle()
        thanks = [m for m in sink.messages if "Thank you for your order" in m.message["Subject"]]
        assert thanks, "post-purchase emails went out"
        titles = {p.title for p in sim.catalogue}
        html = thanks[-1].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "Picked for you" in html
        shown = [t for t in titles if t in html]
        assert len(shown) >= 2, "several catalogue products, by title"
        with system.storage.snapshot() as tx:
            sent = [
                e.event.properties
                for e in tx.log.read_after(0, 1_000_000)
                if e.event.name == "email_sent"
                and e.event.properties["template"] == "post_purchase"
            ]
        assert sent and all(len(p["recommended"]) >= 2 for p in sent)
        assert all(item in sim.products for item in sent[-1]["recommended"])
    finally:
        system.close()
        sink.stop()
