"""Lint finds what would go wrong with a template before a person sees it, at the file,
line and column to fix, with the real people it concerns."""

from __future__ import annotations

from pathlib import Path

import pytest

from pertinent.app import System
from pertinent.content.links import LinkRules
from pertinent.content.lint import LintReport, lint_template
from pertinent.recommend.catalogue import Product

GOOD_FOOTER = '<mj-text><a href="{{ unsubscribe_url }}">Unsubscribe</a></mj-text>'


def _body(*elements: str, footer: str = GOOD_FOOTER) -> str:
    inner = "\n".join([*elements, footer])
    return f"<mjml><mj-body><mj-section><mj-column>\n{inner}\n</mj-column></mj-section></mj-body></mjml>"


def _write(system: System, files: dict[str, str]) -> None:
    folder = system.workspace.templates_dir / "linted"
    folder.mkdir()
    for name, text in {"subject.liquid": "Hello", **files}.items():
        (folder / name).write_text(text)


def _lint(
    system: System,
    hosts: tuple[str, ...] = ("shop.example",),
    products: list[Product] | None = None,
) -> LintReport:
    return lint_template(system.previews, "linted", LinkRules.of(hosts), products or [])


def _people(system: System) -> None:
    system.ingestor.ingest(
        [
            {
                "type": "identify",
                "userId": "u1",
                "traits": {"email": "a@example.com", "first_name": "Ann", "last_name": "Lee"},
            },
            {
                "type": "identify",
                "userId": "u2",
                "traits": {"email": "b@example.com", "first_name": "Bob"},
            },
            {
                "type": "identify",
                "userId": "u3",
                "traits": {"email": "c@example.com", "last_name": ""},
            },
        ]
    )
    system.run_until_idle()


def _messages(report: LintReport, check: str) -> list[str]:
    return [f"{f.where}: {f.message}" for f in report.findings if f.check == check]


def test_the_example_templates_are_clean(system: System) -> None:
    for name in system.templates.names():
        report = lint_template(system.previews, name, LinkRules.of(["shop.example"]))
        assert report.findings == (), name


def test_a_syntax_error_is_one_error_at_its_file_line_and_column(system: System) -> None:
    _write(system, {"body.mjml": _body("<mj-text>{% if profile.vip %}VIP</mj-text>")})
    report = _lint(system)
    assert report.errors == 1
    [finding] = report.findings
    assert finding.where == "templates/linted/body.mjml:2:10"
    assert finding.message.startswith("{% if profile.vip %} is never closed")


def test_an_unknown_filter_is_named_where_it_is_used(system: System) -> None:
    _write(system, {"body.mjml": _body("<mj-text>{{ event.properties.price | monney }}</mj-text>")})
    [message] = _messages(_lint(system), "filter")
    assert message == "templates/linted/body.mjml:2:38: no filter 'monney'"


def test_every_variable_is_listed_with_how_many_profiles_lack_it(system: System) -> None:
    _people(system)
    _write(
        system,
        {
            "subject.liquid": "Hi {{ profile.first_name | default: 'there' }}",
            "body.mjml": _body(
                "<mj-text>{{ profile.last_name }}, from {{ profile.city }}</mj-text>",
                "<mj-text>{% if profile.nickname %}{{ profile.nickname }}{% endif %}</mj-text>",
                "<mj-text>{{ event.properties.name }} {{ profle.first_name }}</mj-text>",
            ),
        },
    )
    report = _lint(system)
    variables = {v.name: v for v in report.variables}
    assert report.profiles == 3
    assert (variables["profile.first_name"].fallback, variables["profile.first_name"].lacking) == (
        True,
        1,
    )
    assert (variables["profile.last_name"].fallback, variables["profile.last_name"].lacking) == (
        False,
        2,
    )
    assert variables["profile.city"].lacking == 3
    assert variables["profile.nickname"].fallback is True
    assert variables["event.properties.name"].lacking is None
    assert variables["profile.last_name"].where == ("templates/linted/body.mjml:2:13",)
    warnings = _messages(report, "variable")
    assert (
        "templates/linted/body.mjml:2:13: profile.last_name has no default: 2 of 3 profiles "
        "have no value renders it empty (write `| default: …`)"
    ) in warnings
    assert any("'profle' is not in the context" in w for w in warnings)
    assert not any("first_name has no default" in w for w in warnings)


def test_links_that_cannot_be_tracked_or_may_be_left_unlinked(system: System) -> None:
    _people(system)
    _write(
        system,
        {
            "body.mjml": _body(
                '<mj-button href="/cart">Cart</mj-button>',
                '<mj-text><a href="{{ event.properties.url }}">item</a></mj-text>',
                '<mj-text><a href="https://shop.example/p/{{ event.properties.id }}">fine</a></mj-text>',
                "{% for p in recommendations.for_you %}<mj-text>{{ p.title }}</mj-text>{% endfor %}",
            )
        },
    )
    products = [
        Product(item_id="k1", url="https://shop.example/p/k1"),
        Product(item_id="k2", url="https://evil.example/x"),
    ]
    links = _messages(_lint(system, hosts=(), products=products), "link")
    assert links[0].startswith("templates/linted/body.mjml:2:")
    assert "'/cart' is not tracked" in links[0]
    assert "'{{ event.properties.url }}' comes from data" in links[1]
    assert "2 catalogue products have URLs on hosts not in content.allowed_link_hosts" in links[2]
    assert len(links) == 3, "the link whose host the template writes is fine"
    allowed = _messages(_lint(system, hosts=("shop.example",), products=products), "link")
    assert len(allowed) == 2 and "'/cart' is not tracked" in allowed[0]
    assert "1 catalogue products have URLs on hosts not in" in allowed[1]
    assert "(e.g. https://evil.example/x)" in allowed[1]


def test_urls_left_unlinked_for_real_people_are_reported(system: System) -> None:
    system.ingestor.ingest(
        [
            {"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}},
            {
                "type": "track",
                "userId": "u1",
                "event": "Product Added",
                "properties": {"url": "https://evil.example/phish"},
            },
        ]
    )
    system.run_until_idle()
    _write(
        system,
        {"body.mjml": _body('<mj-button href="{{ event.properties.url }}">Back</mj-button>')},
    )
    # The cart journey sends this template: the person's Product Added is its `event`.
    system.previews.journeys = [
        j.model_copy(
            update={"steps": [*j.steps[:-1], j.steps[-1].model_copy(update={"template": "linted"})]}
        )
        if j.key == "cart_abandonment"
        else j
        for j in system.previews.journeys
    ]
    report = _lint(system)
    assert report.samples == 1
    assert _messages(report, "link") == [
        "None: 'https://evil.example/phish' from data was left unlinked for u1 (its host is not "
        "in content.allowed_link_hosts)"
    ]


def test_a_template_without_an_unsubscribe_link_is_an_error(system: System) -> None:
    _write(system, {"body.mjml": _body("<mj-text>Hi</mj-text>", footer="")})
    report = _lint(system)
    assert report.errors == 1
    assert _messages(report, "unsubscribe")[0].startswith("None: no unsubscribe link")


def test_html_that_gmail_would_clip_is_an_error(system: System) -> None:
    filler = "<mj-text>" + "Lorem ipsum dolor sit amet. " * 4000 + "</mj-text>"
    _write(system, {"body.mjml": _body(filler)})
    [message] = _messages(_lint(system), "size")
    assert "KB for an empty profile: Gmail clips messages over 102 KB" in message


def test_images_without_alt_are_found(system: System) -> None:
    _write(
        system,
        {
            "body.mjml": _body(
                '<mj-image src="https://shop.example/a.png" />',
                '<mj-image src="https://shop.example/b.png" alt="" />',
                '<mj-text><img src="https://shop.example/c.png"></mj-text>',
            )
        },
    )
    assert [m.split(": ", 1)[0] for m in _messages(_lint(system), "alt")] == [
        "templates/linted/body.mjml:2:1",
        "templates/linted/body.mjml:4:10",
    ]


@pytest.mark.parametrize("converted", [True, False])
def test_a_body_converted_per_email_is_said_with_the_reason(
    system: System, converted: bool
) -> None:
    column = "<mj-column><mj-text>x</mj-text></mj-column>"
    wrapped = f"{{% if vip %}}{column}{{% endif %}}" if not converted else column
    _write(
        system,
        {
            "body.mjml": f"<mjml><mj-body><mj-section>{wrapped}<mj-column>{GOOD_FOOTER}</mj-column></mj-section></mj-body></mjml>"
        },
    )
    report = _lint(system)
    assert report.converted.startswith("once" if converted else "per email: '{% if vip %}' at 1:")
    assert bool(_messages(report, "conversion")) is not converted


def test_a_missing_template_is_one_error(system: System, tmp_path: Path) -> None:
    report = lint_template(system.previews, "nope", LinkRules())
    assert report.errors == 1 and "no template 'nope'" in report.findings[0].message
