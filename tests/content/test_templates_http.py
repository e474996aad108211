"""The templates API: lint, preview for a real person, and a test send that arrives through
the real SMTP path (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from apitools import ADMIN
from server import serving

from pertinent.api.app import create_app
from pertinent.app import System
from pertinent.delivery.sink import SmtpSink


@pytest.fixture
def base_url(system: System) -> Iterator[str]:
    with serving(create_app(system)) as url:
        yield url


def _ann_added_a_kettle(system: System) -> None:
    system.ingestor.ingest(
        [
            {
                "type": "identify",
                "userId": "u1",
                "traits": {
                    "email": "ann@example.com",
                    "first_name": "Ann",
                    "timezone": "Asia/Tokyo",
                },
            },
            {
                "type": "track",
                "userId": "u1",
                "event": "Product Added",
                "properties": {
                    "product_id": "k1",
                    "name": "Blue Kettle",
                    "price": 39,
                    "url": "https://shop.example/p/k1",
                },
            },
        ]
    )
    system.run_until_idle()


def test_templates_are_listed_and_linted(system: System, base_url: str) -> None:
    listed = httpx.get(f"{base_url}/v1/templates", headers=ADMIN)
    assert listed.status_code == 200
    assert {"name": "welcome", "converted": "once"} in listed.json()
    report = httpx.post(f"{base_url}/v1/templates/welcome/lint", headers=ADMIN)
    assert report.status_code == 200
    body = report.json()
    assert (body["errors"], body["findings"]) == (0, [])
    variables = {v["name"]: v for v in body["variables"]}
    first_name = variables["profile.first_name"]
    assert (first_name["fallback"], first_name["lacking"]) == (True, 0)


def test_a_broken_template_lints_as_an_error_and_previews_as_a_clear_422(
    system: System, base_url: str
) -> None:
    body = system.workspace.templates_dir / "welcome" / "body.mjml"
    body.write_text(body.read_text().replace('{% include "header" %}', "{% if x %}"))
    report = httpx.post(f"{base_url}/v1/templates/welcome/lint", headers=ADMIN).json()
    assert report["errors"] == 1
    assert report["findings"][0]["where"].startswith("templates/welcome/body.mjml:4:")
    preview = httpx.get(f"{base_url}/v1/templates/welcome/preview", headers=ADMIN)
    assert preview.status_code == 422
    assert preview.json()["where"].startswith("templates/welcome/body.mjml:4:")


def test_a_preview_is_the_email_a_real_person_would_get(system: System, base_url: str) -> None:
    _ann_added_a_kettle(system)
    answer = httpx.get(
        f"{base_url}/v1/templates/cart_abandoned/preview", params={"profile": "u1"}, headers=ADMIN
    )
    assert answer.status_code == 200
    preview = answer.json()
    assert (preview["profile_id"], preview["event"]) == ("u1", "Product Added")
    assert preview["subject"] == "Ann, you left Blue Kettle in your cart"
    assert preview["preheader"] == "Blue Kettle is still in your cart, and still in stock."
    assert "Blue Kettle — £39.00" in preview["text"]
    assert preview["html"].count("/t/c/") >= 2
    assert preview["links"][1].startswith("https://shop.example/p/k1?utm_source=pertinent")
    missing = httpx.get(
        f"{base_url}/v1/templates/cart_abandoned/preview",
        params={"profile": "nobody"},
        headers=ADMIN,
    )
    assert missing.status_code == 404
    unknown = httpx.get(f"{base_url}/v1/templates/nope/preview", headers=ADMIN)
    assert unknown.status_code == 422 and "no template 'nope'" in unknown.json()["error"]
    assert httpx.get(f"{base_url}/v1/templates/welcome/preview").status_code == 401


def test_a_test_send_arrives_through_smtp(system: System, base_url: str, sink: SmtpSink) -> None:
    _ann_added_a_kettle(system)
    sent = httpx.post(
        f"{base_url}/v1/templates/cart_abandoned/test",
        json={"to": "designer@shop.example", "profile": "u1"},
        headers=ADMIN,
    )
    assert sent.status_code == 200
    [received] = [m for m in sink.messages if m.rcpt_tos == ["designer@shop.example"]]
    assert received.message["Subject"] == "[test] Ann, you left Blue Kettle in your cart"
    assert sent.json()["message_id"] in received.message["Message-ID"]
    assert "Blue Kettle" in received.message.get_body(("plain",)).get_content()
    assert received.message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/t/u/")
    assert not [m for m in sink.messages if m.rcpt_tos == ["ann@example.com"]], "only the tester"


@pytest.mark.parametrize("to", ["a@example.com, b@example.com", "x\r\nBcc: y@example.com", "nope"])
def test_a_test_send_to_what_is_not_one_address_is_refused(
    system: System, base_url: str, sink: SmtpSink, to: str
) -> None:
    answer = httpx.post(f"{base_url}/v1/templates/welcome/test", json={"to": to}, headers=ADMIN)
    assert answer.status_code == 400
    assert answer.json()["where"] == "to"
    assert sink.messages == []
