"""Shared pieces in templates/_partials: spliced in before conversion, so they may hold MJML
elements; a mistake in one names the partial's own file and line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pertinent.content.render import Renderer
from pertinent.content.templates import CompiledBody, TemplateLibrary
from pertinent.errors import TemplateError

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
FOOTER = """<mj-section><mj-column>
<mj-text>Sent to {{ profile.first_name | default: "you" }}. <a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>
</mj-column></mj-section>"""
BODY = """<mjml><mj-body>{% include "header" %}<mj-section><mj-column><mj-text>Main</mj-text>
</mj-column></mj-section>{% render 'footer' %}</mj-body></mjml>"""


def test_partials_with_mjml_elements_are_part_of_the_body_converted_once(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer]
) -> None:
    folder = write_templates(
        {
            "_partials": {
                "header.mjml": "<mj-section><mj-column><mj-text>Shop</mj-text></mj-column></mj-section>",
                "footer.mjml": FOOTER,
            },
            "t": {"subject.liquid": "Hi", "body.mjml": BODY},
        }
    )
    assert isinstance(TemplateLibrary(folder).get("t").body, CompiledBody)
    email = renderer_for(folder).render(
        "t", {"profile": {"first_name": "Ann"}}, message_id="m", now=NOW
    )
    assert email.text.splitlines()[0] == "Shop"
    assert "Sent to Ann. Unsubscribe (https://t.example/t/u/" in email.text


def test_a_change_to_a_partial_is_seen_by_every_template_using_it(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer]
) -> None:
    folder = write_templates(
        {
            "_partials": {
                "header.mjml": "<mj-section><mj-column><mj-text>Old</mj-text></mj-column></mj-section>",
                "footer.mjml": FOOTER,
            },
            "t": {"subject.liquid": "Hi", "body.mjml": BODY},
        }
    )
    renderer = renderer_for(folder)
    assert "Old" in renderer.render("t", {}, message_id="m", now=NOW).text
    header = folder / "_partials" / "header.mjml"
    header.write_text(header.read_text().replace("Old", "New header"))
    assert "New header" in renderer.render("t", {}, message_id="m", now=NOW).text


def test_a_partial_given_arguments_is_rendered_per_email(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer]
) -> None:
    folder = write_templates(
        {
            "_partials": {"card.html": "<b>{{ item.title }}</b>"},
            "t": {
                "subject.liquid": "Hi",
                "body.html": "<html><body>{% for p in items %}<p>{% render 'card', item: p %}</p>"
                "{% endfor %}</body></html>",
            },
        }
    )
    email = renderer_for(folder).render(
        "t", {"items": [{"title": "Kettle"}, {"title": "Teapot"}]}, message_id="m", now=NOW
    )
    assert "<b>Kettle</b>" in email.html and "<b>Teapot</b>" in email.html
    assert email.text == "Kettle\n\nTeapot\n"


@pytest.mark.parametrize(
    ("partials", "where", "message"),
    [
        ({}, "templates/t/body.mjml:1", "no partial 'header'"),
        (
            {"header.mjml": "<mj-section>\n{% if x %}\n</mj-section>", "footer.mjml": FOOTER},
            "templates/_partials/header.mjml:2:",
            "if",
        ),
    ],
)
def test_a_broken_or_missing_partial_names_its_file_and_line(
    write_templates: Callable[..., Path],
    partials: dict[str, str],
    where: str,
    message: str,
) -> None:
    folder = write_templates(
        {"_partials": partials, "t": {"subject.liquid": "Hi", "body.mjml": BODY}}
    )
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary(folder).get("t")
    assert caught.value.where is not None and caught.value.where.startswith(where)
    assert message in caught.value.message
