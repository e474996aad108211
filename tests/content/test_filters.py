"""The filters an email needs: money in the person's language, dates in their time zone,
UTM parameters; a value they cannot use is written as it is, never an error."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pertinent.content.render import Renderer

NOW = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


@pytest.fixture
def subject(
    write_templates: Callable[..., Path], renderer_for: Callable[..., Renderer]
) -> Callable[[str, dict[str, Any]], str]:
    """The subject line `liquid` renders to for a context (the example workspace's
    settings: GBP, en_GB, UTC)."""

    def render(liquid: str, context: dict[str, Any]) -> str:
        folder = write_templates({"t": {"subject.liquid": liquid, "body.html": "<p>x</p>"}})
        return renderer_for(folder).render("t", context, message_id="m", now=NOW).subject

    return render


@pytest.mark.parametrize(
    ("liquid", "context", "expected"),
    [
        ("{{ p | money }}", {"p": 28.79}, "£28.79"),
        ("{{ p | money }}", {"p": "1234.5"}, "£1,234.50"),
        ('{{ p | money: "EUR", "de_DE" }}', {"p": 1234.5}, "1.234,50 €"),
        ('{{ p | money: "JPY" }}', {"p": 1234.5}, "JP¥1,234"),
        ("{{ p | money }}", {"p": 9.5, "profile": {"locale": "fr_FR"}}, "9,50 £GB"),
        ("{{ p | money: c }}", {"p": 5, "c": "<b>"}, "£5.00"),
        ("{{ p | money }}", {"p": "ask us"}, "ask us"),
        ("[{{ p | money }}]", {}, "[]"),
    ],
)
def test_money(
    subject: Callable[[str, dict[str, Any]], str],
    liquid: str,
    context: dict[str, Any],
    expected: str,
) -> None:
    assert subject(liquid, context) == expected


@pytest.mark.parametrize(
    ("liquid", "context", "expected"),
    [
        ('{{ t | date: "%Y-%m-%d %H:%M" }}', {"t": "2026-03-01T23:30:00Z"}, "2026-03-01 23:30"),
        (
            '{{ t | date: "%Y-%m-%d %H:%M" }}',
            {"t": "2026-03-01T23:30:00Z", "profile": {"timezone": "Asia/Tokyo"}},
            "2026-03-02 08:30",
        ),
        ('{{ t | date: "%H:%M", "America/New_York" }}', {"t": 1772407800}, "18:30"),
        (
            '{{ "now" | date: "%d %b %H:%M" }}',
            {"profile": {"timezone": "Europe/Paris"}},
            "02 Mar 00:30",
        ),
        ('{{ d | date: "long" }}', {"d": "2026-03-01"}, "1 March 2026"),
        (
            '{{ d | date: "long" }}',
            {"d": "2026-03-01", "profile": {"locale": "de_DE"}},
            "1. März 2026",
        ),
        ('{{ t | date: "%H:%M" }}', {"t": "soon", "profile": {"timezone": "Mars/Base"}}, "soon"),
    ],
)
def test_dates_in_the_persons_time_zone(
    subject: Callable[[str, dict[str, Any]], str],
    liquid: str,
    context: dict[str, Any],
    expected: str,
) -> None:
    assert subject(liquid, context) == expected


@pytest.mark.parametrize(
    ("liquid", "expected"),
    [
        (
            "{{ 'https://shop.example/new' | utm }}",
            "https://shop.example/new?utm_source=pertinent&utm_medium=email&utm_campaign=t",
        ),
        (
            "{{ 'https://shop.example/new?utm_source=x&a=1#top' | utm: 'spring', 'hero' }}",
            "https://shop.example/new?utm_source=x&a=1&utm_medium=email&utm_campaign=spring"
            "&utm_content=hero#top",
        ),
        ("{{ 'mailto:a@shop.example' | utm }}", "mailto:a@shop.example"),
    ],
)
def test_utm_parameters_are_added_to_web_links_and_never_replace_the_links_own(
    subject: Callable[[str, dict[str, Any]], str], liquid: str, expected: str
) -> None:
    assert subject(liquid, {}) == expected
