"""Custom computed properties and the engagement tiers, as the workspace defines them, in
what an email shows and what the profile API answers (not only in segments)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import yaml
from apitools import ADMIN
from conftest import START
from server import serving

from pertinent.api.app import create_app
from pertinent.app import build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.delivery.sink import SmtpSink


def _customise(root: Path) -> None:
    """Tiers of one and two days, spend over 90 days, and a thank-you subject and wait that
    show them."""
    settings = root / "pertinent.yaml"
    data = yaml.safe_load(settings.read_text())
    data["profiles"] = {
        "engagement": {"high_days": 1, "moderate_days": 2},
        "computed": [
            {
                "key": "spent_90d",
                "event": "Order Completed",
                "function": "sum",
                "property": "revenue",
                "within": "90d",
            },
            {"key": "last_sku", "event": "Order Completed", "function": "last", "property": "sku"},
        ],
    }
    settings.write_text(yaml.safe_dump(data))
    template = root / "templates" / "post_purchase" / "subject.liquid"
    template.write_text(
        "{{ profile.computed.spent_90d }} {{ profile.computed.last_sku }} "
        "{{ profile.computed.engagement_tier }}"
    )
    journey = root / "journeys" / "post_purchase.yaml"
    steps = yaml.safe_load(journey.read_text())
    steps["steps"][0]["duration"] = "30h"
    journey.write_text(yaml.safe_dump(steps))


def test_an_email_and_the_profile_api_show_custom_properties_and_the_workspaces_tiers(
    workspace: Path, sink: SmtpSink
) -> None:
    _customise(workspace)
    clock = SimClock(START)
    system = build_system(load_workspace(workspace), clock=clock)
    try:
        old = START - timedelta(days=100)
        result = system.ingestor.ingest(
            [
                {"type": "identify", "userId": "u1", "traits": {"email": "ann@example.com"}},
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": "u1",
                    "timestamp": old.isoformat(),
                    "properties": {"order_id": "o0", "revenue": 500, "sku": "old"},
                },
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": "u1",
                    "properties": {"order_id": "o1", "revenue": 40.5, "sku": "k1"},
                },
            ]
        )
        assert result.rejections == []
        system.run_until_idle()
        clock.advance(timedelta(hours=31))
        system.run_until_idle()
        subjects = sorted(str(m.message["Subject"]) for m in sink.messages)
        # 30 hours after the last order: 'moderate' under these tiers ('high' by default).
        assert "40.5 k1 moderate" in subjects, subjects
        with serving(create_app(system)) as base:
            answer = httpx.get(f"{base}/v1/profiles/u1", headers=ADMIN)
        computed = answer.json()["computed"]
        assert (computed["spent_90d"], computed["last_sku"]) == (40.5, "k1")
        assert computed["engagement_tier"] == "moderate"
        assert (computed["rfm_frequency"], computed["rfm_monetary"]) == (2, 540.5)
    finally:
        system.close()
