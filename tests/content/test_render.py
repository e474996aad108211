"""Rendering: the person's data, safe fallbacks, tracked links, text part, clear errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pertinent.content.links import SystemUrls
from pertinent.content.render import Renderer
from pertinent.content.templates import TemplateLibrary
from pertinent.errors import TemplateError
from pertinent.tracking.tokens import Claims, InvalidToken, TrackingTokens

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
TOKENS = TrackingTokens("s" * 32)

BODY = """<mjml><mj-body><mj-section><mj-column>
<mj-text>Hello {{ profile.first_name | default: "friend" }} from {{ profile.city | default: "somewhere" }}</mj-text>
<mj-text><a href="https://shop.example/p/{{ event.properties.product_id }}">{{ event.properties.name }}</a>
<a href="mailto:help@shop.example">help</a> {{ event.properties.price | money: "GBP" }}</mj-text>
<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section></mj-body></mjml>"""


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    folder = tmp_path / "templates" / "cart"
    folder.mkdir(parents=True)
    (folder / "subject.liquid").write_text("{{ profile.first_name | default: 'Hi' }}, your cart")
    (folder / "body.mjml").write_text(BODY)
    return Renderer(
        TemplateLibrary(tmp_path / "templates"), SystemUrls("https://t.example", TOKENS)
    )


CONTEXT = {
    "profile": {"first_name": "Ann"},
    "event": {"properties": {"product_id": "k1", "name": "Blue Kettle", "price": 39}},
}


def test_the_persons_data_with_fallbacks_for_what_is_missing(renderer: Renderer) -> None:
    email = renderer.render("cart", CONTEXT, message_id="m1", now=NOW)
    assert email.subject == "Ann, your cart"
    assert "Hello Ann from somewhere" in email.html
    assert "£39.00" in email.html
    nobody = renderer.render("cart", {}, message_id="m2", now=NOW)
    assert nobody.subject == "Hi, your cart"
    assert "Hello friend from somewhere" in nobody.html


def test_links_become_signed_redirects_to_exactly_the_original(renderer: Renderer) -> None:
    email = renderer.render("cart", CONTEXT, message_id="m1", now=NOW)
    assert email.links == ("https://shop.example/p/k1",)
    assert "https://shop.example/p/k1" not in email.html
    assert "mailto:help@shop.example" in email.html
    token = email.tracked_links[0].rsplit("/", 1)[1]
    assert TOKENS.open("click", token) == Claims(
        "m1", date(2026, 3, 1), "https://shop.example/p/k1"
    )
    with pytest.raises(InvalidToken):
        TOKENS.open("unsubscribe", token)
    assert "https://t.example/t/u/" in email.html
    assert 'src="https://t.example/t/o/' in email.html


def test_the_text_part_carries_the_content_and_links(renderer: Renderer) -> None:
    email = renderer.render("cart", CONTEXT, message_id="m1", now=NOW)
    assert "Hello Ann from somewhere" in email.text
    assert "Blue Kettle (https://t.example/t/c/" in email.text
    assert "<" not in email.text


def test_broken_liquid_names_the_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "bad"
    folder.mkdir(parents=True)
    (folder / "subject.liquid").write_text("Hi")
    (folder / "body.html").write_text("<p>ok</p>\n<p>{% if x %}never closed</p>\n")
    renderer = Renderer(TemplateLibrary(tmp_path / "templates"), SystemUrls("http://t", TOKENS))
    with pytest.raises(TemplateError) as caught:
        renderer.render("bad", {}, message_id="m", now=NOW)
    assert "body.html" in str(caught.value)
    assert "endif" in str(caught.value)


def test_an_unknown_template_lists_the_ones_there(renderer: Renderer) -> None:
    with pytest.raises(TemplateError) as caught:
        renderer.render("nope", {}, message_id="m", now=NOW)
    assert "cart" in str(caught.value)


def _library_with(tmp_path: Path, name: str, files: dict[str, str]) -> Renderer:
    folder = tmp_path / "templates" / name
    folder.mkdir(parents=True)
    for file_name, text in files.items():
        (folder / file_name).write_text(text)
    return Renderer(TemplateLibrary(tmp_path / "templates"), SystemUrls("http://t", TOKENS))


SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '" onmouseover="alert(1)'


class _Elements(HTMLParser):
    """The elements a browser would build, with their attributes."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def test_the_persons_data_is_text_in_html_and_verbatim_in_plain_text_parts(
    tmp_path: Path,
) -> None:
    renderer = _library_with(
        tmp_path,
        "hello",
        {
            "subject.liquid": "Hi {{ profile.first_name }}",
            "preheader.liquid": "For {{ profile.first_name }}",
            "text.liquid": "Hello {{ profile.first_name }}",
            "body.html": '<html><body><p title="{{ profile.city }}">'
            "Hello {{ profile.first_name }} &amp; {{ profile.city | default: '<i>you</i>' }}"
            "</p></body></html>",
        },
    )
    email = renderer.render("hello", {"profile": {"first_name": SCRIPT}}, message_id="m", now=NOW)
    elements = _Elements(email.html).found
    assert "script" not in [tag for tag, _ in elements]
    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt; &amp; <i>you</i>" in email.html
    assert ">For &lt;script&gt;alert(1)&lt;/script&gt;</div>" in email.html, "preheader too"
    assert email.subject == f"Hi {SCRIPT}"
    assert email.preheader == f"For {SCRIPT}"
    assert email.text == f"Hello {SCRIPT}"
    quoted = renderer.render("hello", {"profile": {"city": BREAKOUT}}, message_id="m", now=NOW)
    assert ("p", {"title": BREAKOUT}) in _Elements(quoted.html).found, "no attribute injected"


def test_links_built_from_data_with_ampersands_are_tracked_to_the_exact_url(
    renderer: Renderer,
) -> None:
    context = {"event": {"properties": {"product_id": "k1?colour=blue&size=2", "name": "A & B"}}}
    email = renderer.render("cart", context, message_id="m1", now=NOW)
    assert email.links == ("https://shop.example/p/k1?colour=blue&size=2",)
    assert "A &amp; B" in email.html
    assert "A & B (http" in email.text


def test_mjml_broken_after_liquid_is_a_template_error_naming_the_file(tmp_path: Path) -> None:
    renderer = _library_with(
        tmp_path,
        "broken",
        {
            "subject.liquid": "Hi",
            "body.mjml": "<mjml><mj-body><mj-section><mj-column>"
            "<mj-text>Hi</mj-text>{% if vip %}</mj-column>{% endif %}"
            "</mj-column></mj-section></mj-body></mjml>",
        },
    )
    assert "Hi" in renderer.render("broken", {}, message_id="m", now=NOW).html
    with pytest.raises(TemplateError) as caught:
        renderer.render("broken", {"vip": True}, message_id="m", now=NOW)
    assert "broken/body.mjml" in str(caught.value)
