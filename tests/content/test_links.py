"""A click redirect only goes where the template's author meant: URLs written in the template
or on the workspace's allowed hosts; any other URL from data is left unlinked."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pertinent.app import System
from pertinent.clock import SimClock
from pertinent.content.links import LinkRules
from pertinent.content.render import Renderer
from pertinent.delivery.sink import SmtpSink
from pertinent.tracking.tokens import TrackingTokens

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
PHISH = "https://evil.example/phish"
BODY = """<mjml><mj-body><mj-section><mj-column>
<mj-button href="{{ event.properties.url }}">Back to your cart</mj-button>
<mj-text><a href="https://shop.example/p/{{ event.properties.product_id }}">details</a>
<a href="https://shop.example{{ event.properties.path }}">path</a>
<a href="{{ 'https://shop.example/new' | utm: 'spring' }}">new</a>
<a href="{{ event.properties.help }}">help</a>
<a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""


@pytest.fixture
def links(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer]
) -> Callable[..., tuple[dict[str, str], str, str]]:
    """Render the template with these event properties: ({link words: where the HTML link
    goes, "" when it has none}, the HTML, the text part)."""
    folder = write_templates({"t": {"subject.liquid": "Hi", "body.mjml": BODY}})

    def render(hosts: tuple[str, ...] = (), **properties: str) -> tuple[dict[str, str], str, str]:
        email = renderer_for(folder, hosts).render(
            "t", {"event": {"properties": properties}}, message_id="m1", now=NOW
        )
        found: dict[str, str] = {}
        for chunk in email.html.split("<a ")[1:]:
            tag, rest = chunk.split(">", 1)
            href = tag.split('href="', 1)[1].split('"', 1)[0] if 'href="' in tag else ""
            found[rest.split("<", 1)[0].strip()] = href
        return found, email.html, email.text

    return render


def _destination(tokens: TrackingTokens, redirect: str) -> str | None:
    assert redirect.startswith("https://t.example/t/c/"), redirect
    return tokens.open("click", redirect.rsplit("/", 1)[1]).url


def test_a_url_from_data_on_a_host_not_allowed_is_left_unlinked(
    links: Callable[..., tuple[dict[str, str], str, str]],
) -> None:
    found, html, text = links(url=PHISH)
    assert found["Back to your cart"] == ""
    assert "evil.example" not in html
    assert "Back to your cart" in text and "evil.example" not in text


def test_urls_the_template_writes_and_allowed_hosts_get_signed_redirects(
    links: Callable[..., tuple[dict[str, str], str, str]], tokens: TrackingTokens
) -> None:
    found, _, text = links(
        ("*.shop.example",), url="https://www.shop.example/cart", product_id="k1"
    )
    assert _destination(tokens, found["Back to your cart"]) == "https://www.shop.example/cart"
    assert _destination(tokens, found["details"]) == "https://shop.example/p/k1"
    new = _destination(tokens, found["new"])
    assert new == (
        "https://shop.example/new?utm_source=pertinent&utm_medium=email&utm_campaign=spring"
    )
    assert f"Back to your cart ({found['Back to your cart']})" in text


def test_data_cannot_move_a_link_to_another_host_by_finishing_the_host_name(
    links: Callable[..., tuple[dict[str, str], str, str]], tokens: TrackingTokens
) -> None:
    found, _, _ = links(path=".evil.example/phish")
    assert found["path"] == ""
    found, _, _ = links(path="/admin")
    assert found["path"] == "", "the template did not close the host, nor write this URL"
    found, _, _ = links(("shop.example",), path="/admin")
    assert _destination(tokens, found["path"]) == "https://shop.example/admin"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/x", False),
        ("mailto:help@shop.example", True),
    ],
)
def test_other_schemes_from_data_are_dropped_and_mail_links_kept(
    links: Callable[..., tuple[dict[str, str], str, str]], url: str, kept: bool
) -> None:
    found, html, _ = links(("shop.example",), help=url)
    assert found["help"] == (url if kept else "")
    assert ("alert(1)" in html) is False


def test_pertinents_own_links_are_kept_as_they_are(
    links: Callable[..., tuple[dict[str, str], str, str]], tokens: TrackingTokens
) -> None:
    found, _, _ = links()
    assert found["Unsubscribe"].startswith("https://t.example/t/u/")
    assert tokens.open("unsubscribe", found["Unsubscribe"].rsplit("/", 1)[1]).message_id == "m1"


def test_a_phishing_url_in_a_browsers_product_added_never_becomes_a_redirect(
    system: System, sink: SmtpSink, clock: SimClock
) -> None:
    """The attack of the issue: the write key is public, so anyone can send a `Product
    Added` with their own URL; their cart email used to carry a signed redirect to it."""
    system.ingestor.ingest(
        [
            {"type": "identify", "userId": "u1", "traits": {"email": "eve@example.com"}},
            {
                "type": "track",
                "userId": "u1",
                "event": "Product Added",
                "properties": {"product_id": "k1", "name": "Blue Kettle", "url": PHISH},
            },
        ]
    )
    system.run_until_idle()
    clock.advance(timedelta(hours=1, minutes=1))
    system.run_until_idle()
    [received] = sink.messages
    html = received.message.get_body(("html",)).get_content()
    text = received.message.get_body(("plain",)).get_content()
    assert "evil.example" not in html and "evil.example" not in text
    for token in [u.rsplit("/", 1)[1] for u in html.split('"') if "/t/c/" in u]:
        destination = system.tokens.open("click", token).url or ""
        assert destination.startswith("https://shop.example/"), destination
    assert "Back to your cart" in text


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://shop.example/p/1", True),
        ("https://SHOP.example:443/p/1", True),
        ("https://www.shop.example/", False),
        ("https://shop.example@evil.example/", False),
        ("https://evil.example\\@shop.example/", False),
        ("https://evil.example\\.shop.example/", False),
        ("https://shop.example%2eevil.example/", False),
        ("https://evil.example#@shop.example/", False),
        ("https://evil.example?@shop.example/", False),
        ("https://user:pw@shop.example/", True),
    ],
)
def test_the_host_of_a_url_from_data_is_the_one_a_browser_would_visit(
    url: str, allowed: bool
) -> None:
    assert LinkRules.of(["shop.example"]).allows_host(url) is allowed
