"""MJML converted once per template, with the Liquid kept inside: the same emails as
converting per email, and a clear fallback where a tag's position does not allow it."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html import unescape
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pertinent.content.mjml import PerEmailBody
from pertinent.content.render import Renderer
from pertinent.content.templates import CompiledBody, TemplateLibrary

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
EXAMPLES = sorted(
    p.name
    for p in (files("pertinent") / "workspace_template" / "templates").iterdir()
    if (p / "subject.liquid").is_file()
)


def _same(html: str) -> str:
    """The body, with the whitespace that conversion may place differently taken out (the
    head of a body converted once may also style elements that this email leaves out)."""
    body = unescape(html[html.index("<body") :])
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", body)).strip()


def test_every_example_template_is_converted_once(examples: Path) -> None:
    library = TemplateLibrary(examples)
    assert library.names() == EXAMPLES
    for name in EXAMPLES:
        assert isinstance(library.get(name).body, CompiledBody), name


words = st.text(alphabet=st.sampled_from("aZ 9é<>&\"'/;:#—"), max_size=12)
maybe = lambda s: st.none() | s  # noqa: E731
urls = st.sampled_from(
    [
        "https://shop.example/p/k1",
        "https://shop.example/p/k1?colour=blue&size=2",
        "https://evil.example/phish",
        "javascript:alert(1)",
        "mailto:help@shop.example",
        "",
    ]
)
prices = st.none() | st.floats(0, 10_000, allow_nan=False) | st.integers(0, 500) | words
products = st.fixed_dictionaries(
    {"item_id": words, "title": maybe(words), "url": maybe(urls), "price": prices},
    optional={"category": words},
)
contexts = st.fixed_dictionaries(
    {
        "profile": st.fixed_dictionaries(
            {},
            optional={
                "first_name": words,
                "city": words,
                "computed": st.fixed_dictionaries({}, optional={"favourite_category": words}),
            },
        ),
        "event": st.fixed_dictionaries(
            {
                "properties": st.fixed_dictionaries(
                    {},
                    optional={
                        "name": words,
                        "price": prices,
                        "currency": st.sampled_from(["GBP", "EUR", "JPY", "<b>", ""]),
                        "url": urls,
                        "image_url": urls,
                        "order_id": words,
                    },
                )
            }
        ),
        "recommendations": st.fixed_dictionaries(
            {
                "for_you": st.lists(products, max_size=5),
                "similar_to": st.lists(products, max_size=4),
            }
        ),
    }
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.sampled_from(EXAMPLES), context=contexts)
def test_converting_once_gives_the_email_converting_per_email_gives(
    examples: Path,
    renderer_for: Callable[..., Renderer],
    name: str,
    context: dict[str, Any],
) -> None:
    once = renderer_for(examples, ("shop.example",))
    per_email = renderer_for(examples, ("shop.example",), per_email=True)
    a = once.render(name, context, message_id="m1", now=NOW)
    b = per_email.render(name, context, message_id="m1", now=NOW)
    assert _same(a.html) == _same(b.html)
    assert a.text == b.text
    assert (a.subject, a.preheader, a.links, a.unlinked) == (
        b.subject,
        b.preheader,
        b.links,
        b.unlinked,
    )


MJML = "<mjml><mj-body><mj-section><mj-column>{}</mj-column></mj-section></mj-body></mjml>"


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (
            "<mjml><mj-body><mj-section>{% if vip %}<mj-column><mj-text>VIP</mj-text>"
            "</mj-column>{% endif %}<mj-column><mj-text>all</mj-text></mj-column></mj-section>"
            "</mj-body></mjml>",
            "directly in <mj-section>",
        ),
        (MJML.format('<mj-image src="x.png" alt="" width="{{ w }}" />'), "'width' attribute"),
        (
            "<mjml><mj-head><mj-style>.a { color: {{ c }} }</mj-style></mj-head><mj-body>"
            "<mj-section><mj-column><mj-text>x</mj-text></mj-column></mj-section></mj-body></mjml>",
            "inside <mj-style>",
        ),
        (
            MJML.format("<mj-text>{% if vip %}<b>VIP</mj-text><mj-text></b>{% endif %}x</mj-text>"),
            "in different elements",
        ),
    ],
)
def test_a_tag_whose_place_does_not_allow_converting_once_is_converted_per_email(
    write_templates: Callable[..., Path],
    renderer_for: Callable[..., Renderer],
    body: str,
    why: str,
) -> None:
    folder = write_templates({"t": {"subject.liquid": "Hi", "body.mjml": body}})
    template = TemplateLibrary(folder).get("t")
    assert isinstance(template.body, PerEmailBody)
    assert why in template.body.reason
    renderer = renderer_for(folder)
    email = renderer.render("t", {"vip": True, "w": "100px", "c": "red"}, message_id="m", now=NOW)
    assert "</html>" in email.html


def test_a_column_inside_an_if_is_there_for_one_person_and_not_another(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer]
) -> None:
    body = (
        "<mjml><mj-body><mj-section>{% if vip %}<mj-column><mj-text>Only for VIPs</mj-text>"
        "</mj-column>{% endif %}<mj-column><mj-text>For all</mj-text></mj-column></mj-section>"
        "</mj-body></mjml>"
    )
    renderer = renderer_for(write_templates({"t": {"subject.liquid": "Hi", "body.mjml": body}}))
    vip = renderer.render("t", {"vip": True}, message_id="m", now=NOW)
    other = renderer.render("t", {}, message_id="m", now=NOW)
    assert "Only for VIPs" in vip.text and "Only for VIPs" not in other.text
    assert "mj-column-per-50" in vip.html and "mj-column-per-100" in other.html


def test_leading_assignments_and_captures_go_ahead_of_the_converted_body(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer]
) -> None:
    body = (
        '{% assign who = profile.first_name | default: "you" %}'
        "{% capture greeting %}Dear {{ who }}{% endcapture %}\n"
        + MJML.format("<mj-text>{{ greeting }}, hello.</mj-text>")
    )
    folder = write_templates({"t": {"subject.liquid": "Hi", "body.mjml": body}})
    assert isinstance(TemplateLibrary(folder).get("t").body, CompiledBody)
    email = renderer_for(folder).render(
        "t", {"profile": {"first_name": "Ann"}}, message_id="m", now=NOW
    )
    assert "Dear Ann, hello." in email.html
    assert email.text.startswith("Dear Ann, hello.")


def test_the_attributes_mjml_reorders_still_get_their_own_values(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer]
) -> None:
    image = '<mj-image src="{{ p.image }}" alt="{{ p.name }}" title="{{ p.title }}" />'
    folder = write_templates({"t": {"subject.liquid": "Hi", "body.mjml": MJML.format(image)}})
    assert isinstance(TemplateLibrary(folder).get("t").body, CompiledBody)
    p = {"image": "https://shop.example/i.png", "name": "Kettle", "title": "A kettle"}
    email = renderer_for(folder).render("t", {"p": p}, message_id="m", now=NOW)
    assert 'alt="Kettle"' in email.html
    assert 'src="https://shop.example/i.png"' in email.html
    assert 'title="A kettle"' in email.html


@pytest.mark.parametrize("kind", ["mjml", "html"])
def test_the_preheader_is_the_first_hidden_line_of_the_body_and_not_in_the_text(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer], kind: str
) -> None:
    body = (
        MJML.format("<mj-text>Hello</mj-text>")
        if kind == "mjml"
        else '<html><body style="margin:0"><p>Hello</p></body></html>'
    )
    folder = write_templates(
        {
            "t": {
                "subject.liquid": "Hi",
                "preheader.liquid": "Only for {{ name }}",
                f"body.{kind}": body,
            }
        }
    )
    email = renderer_for(folder).render("t", {"name": "A & <B>"}, message_id="m", now=NOW)
    assert email.preheader == "Only for A & <B>"
    opening = re.search(r"<body[^>]*>", email.html)
    assert opening is not None
    after = email.html[opening.end() :]
    assert after.startswith('<div style="display:none;')
    assert after.split(">", 1)[1].startswith("Only for A &amp; &lt;B&gt;</div>")
    assert "Only for" not in email.text
    assert email.text.strip() == "Hello"
