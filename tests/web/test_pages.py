"""The dashboard's pages, served by the real app, after the shop's morning (`shop.py`): the
numbers a person reads on each page are the ones the data holds."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
import pytest
from web.shop import BUYERS, SIGN_UPS, TESTED, Story, morning

from pertinent.app import System
from pertinent.clock import SimClock


@pytest.fixture
def story(system: System) -> Story:
    return morning(system)


def cells(html: str, caption: str) -> list[list[str]]:
    """The rows of the table with this caption, as the text of their cells."""
    table = re.search(
        rf"<table>\s*<caption>{re.escape(caption)}</caption>(.*?)</table>", html, re.S
    )
    assert table is not None, f"no table {caption!r}"
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)
        ]
        for r in rows
        if "<td" in r
    ]


def card(html: str, label: str) -> str:
    found = re.search(rf'<div class="card">{re.escape(label)}<b>([^<]*)</b>', html)
    assert found is not None, f"no card {label!r}"
    return found.group(1)


def test_the_overview_counts_the_log_people_and_emails(
    dashboard: httpx.Client, system: System, story: Story
) -> None:
    html = dashboard.get("/").text
    status = system.storage.reads.status()
    assert card(html, "events in the log") == str(status.log_seq)
    assert card(html, "waiting to be processed") == "0"
    assert card(html, "profiles") == str(len(BUYERS) + len(SIGN_UPS) + TESTED), "bots get none"
    assert card(html, "emails sent") == str(len(SIGN_UPS))
    assert card(html, "emails failed") == "1"
    assert 'role="img" aria-label="Events that arrived per minute, the last 15"' in html
    assert '(high_value)</small></td><td class="num">3</td>' in html


def test_the_overview_counts_events_of_the_last_minute(
    dashboard: httpx.Client, system: System, story: Story
) -> None:
    system.ingestor.ingest(
        [
            {"type": "track", "userId": "u1", "event": "Product Viewed", "messageId": f"x{i}"}
            for i in range(5)
        ]
    )
    assert card(dashboard.get("/").text, "events in the last minute") == "0", "they arrived now"
    assert isinstance(system.clock, SimClock)
    system.clock.advance(timedelta(seconds=30))
    html = dashboard.get("/").text
    assert card(html, "events in the last minute") == "5"
    assert cells(html, "Events per minute")[-1][1] == "5"


def test_live_events_show_the_newest_first_with_bots_and_flags(
    dashboard: httpx.Client, system: System, story: Story
) -> None:
    html = dashboard.get("/events").text
    assert '<meta http-equiv="refresh" content="5">' in html
    newest = system.storage.reads.recent_events(100)
    rows = re.findall(r'<tr><td class="num">(\d+)</td>', html)
    assert [int(s) for s in rows] == [e.seq for e in newest]
    assert "Googlebot" not in html, "user agents are on the data quality page, not here"
    bot_row = next(r for r in html.split("<tr>") if "crawler-1" in r)
    assert "bot" in bot_row
    future_row = next(r for r in html.split("<tr>") if "Product Viewed" in r and ">u0<" in r)
    assert "future_timestamp" in future_row
    paused = dashboard.get("/events?refresh=off").text
    assert 'http-equiv="refresh"' not in paused and "Reload every 5 seconds" in paused


def test_a_profile_shows_traits_segments_consent_and_timeline(
    dashboard: httpx.Client, story: Story
) -> None:
    html = dashboard.get("/profiles/u0").text
    assert "<td>email</td><td>u0@example.com</td>" in html
    assert "<td>first_name</td><td>Buyer u0</td>" in html
    assert '<a href="/segments/high_value">' in html
    assert "<td>reminders</td><td>opted_in</td>" in html
    timeline = cells(html, "The newest 7 events, newest first")
    assert [row[3] for row in timeline][-3:] == ["Product Viewed", "Order Completed", ""]
    assert timeline[-2][4] == '{"revenue":300}'
    assert {row[3] for row in timeline[:-3]} >= {"segment_entered", "journey_step"}
    found = dashboard.get("/profiles", params={"q": "u1"}, follow_redirects=False)
    assert (found.status_code, found.headers["location"]) == (303, "/profiles/u1")
    listed = dashboard.get("/profiles").text
    assert [row[0] for row in cells(listed, "Profiles 1–50, by id")][:2] == ["p000", "p001"]
    assert '<a href="/profiles?page=2">Next page</a>' in listed
    last = dashboard.get("/profiles", params={"page": 5}).text
    assert cells(last, "Profiles 201–205, by id")[2] == [
        "u0",
        "u0@example.com",
        "Buyer u0",
        "2026-03-02 09:00",
    ]
    assert "Next page" not in last and "Previous page" in last
    missing = dashboard.get("/profiles", params={"q": "nobody"}).text
    assert "No profile for “nobody”" in missing
    gone = dashboard.get("/profiles/nobody")
    assert gone.status_code == 404 and "no profile for &#39;nobody&#39;" in gone.text
    assert "What to do: events are folded into profiles" in gone.text


def test_segments_show_sizes_warnings_and_size_over_time(
    dashboard: httpx.Client, system: System, story: Story
) -> None:
    listing = dashboard.get("/segments").text
    high = next(r for r in listing.split("<tr>") if "(high_value)" in r)
    assert '<td class="num">3</td>' in high
    dormant = next(r for r in listing.split("<tr>") if "(dormant)" in r)
    assert "fewer than 100" in dormant and "journey win_back" in dormant
    page = dashboard.get("/segments/high_value", params={"range": "1d"}).text
    assert card(page, "members now") == "3"
    history = cells(page, "Size over the last 1d")
    assert len(history) == 25 and history[0][1] == "0" and history[-1][1] == "3"
    assert [row[1] for row in history].count("3") == 3, "in since 09:00; it is 11:00 now"
    high_value = system.segments.by_key("high_value")
    assert high_value is not None
    assert f'aria-label="Members of segment {high_value.name}' in unescape(page)
    assert page.count("<circle") == 25, "one point per row of the table"
    assert [row[0] for row in cells(page, "Members now, by when they entered")] == BUYERS
    bad = dashboard.get("/segments/high_value", params={"range": "1y"})
    assert bad.status_code == 400 and "range" in bad.text and "<svg" not in bad.text
    unknown = dashboard.get("/segments/nope")
    assert unknown.status_code == 404 and "the Segments page lists every segment" in unknown.text


def test_a_journey_shows_its_numbers_per_step_as_a_funnel_and_a_table(
    dashboard: httpx.Client, story: Story
) -> None:
    listing = dashboard.get("/journeys").text
    welcome = next(r for r in listing.split("<tr>") if "(welcome)" in r)
    entered, waiting, sent = re.findall(r'<td class="num">(\d+)</td>', welcome)[1:4]
    assert (entered, waiting, sent) == ("2", "2", "2"), "both sent the welcome, both wait"
    html = dashboard.get("/journeys/welcome").text
    steps = {row[0]: row for row in cells(html, "Numbers per step, version 1")}
    assert steps["hello"][2:5] == ["2", "0", "2"], "entered, waiting, sent"
    assert steps["two_days"][3] == "2", "both wait two days"
    assert "<title>entered: 2 · 100%</title>" in html
    assert "<title>sent: 2 · 100%</title>" in html
    assert "<title>waiting: 2 · 100%</title>" in html
    assert dashboard.get("/journeys/nope").status_code == 404


def test_an_experiment_shows_each_variant_with_its_intervals(
    dashboard: httpx.Client, story: Story
) -> None:
    listing = dashboard.get("/experiments").text
    assert "subject-test" in listing and "winner" in listing
    html = dashboard.get("/experiments/subject-test").text
    assert card(html, "recipients") == str(TESTED)
    assert card(html, "winner") == "question"
    rows = {row[0]: row for row in cells(html, "click per variant")}
    for variant, clicked in story.clicked.items():
        n = sum(1 for v in story.variants.values() if v == variant)
        assert rows[variant][1] == str(n)
        assert rows[variant][2] == f"{clicked / n * 100:.2f}%"
    assert rows["question"][9] == "better"
    assert 'aria-label="click per variant"' in html
    assert 'aria-label="click: each variant minus the control"' in html
    assert 'class="reference"' in html, "the zero line of the differences"
    assert "line x1=" in html and 'class="tone-good wide"' in html, "the always-valid interval"
    missing = dashboard.get("/experiments/nope")
    assert missing.status_code == 404 and "an experiment appears once" in missing.text


def test_templates_lint_and_preview_for_a_chosen_person(
    dashboard: httpx.Client, story: Story
) -> None:
    listing = dashboard.get("/templates").text
    assert '<a href="/templates/welcome">welcome</a>' in listing
    html = dashboard.get("/templates/welcome", params={"profile": "s1"}).text
    assert "<td>Welcome to the shop, Sam!</td>" in html
    assert "<td>Signed Up</td>" in html, "the event that triggers it"
    assert 'src="/templates/welcome/html?profile=s1"' in html
    variables = {row[0]: row for row in cells(html, "Variables")}
    assert variables["profile.first_name"][3] == str(TESTED), "all but the 5 named people"
    framed = dashboard.get("/templates/welcome/html", params={"profile": "s1"})
    assert "Hello Sam," in framed.text
    assert framed.headers["content-security-policy"].startswith("sandbox;")
    nobody = dashboard.get("/templates/welcome", params={"profile": "ghost"}).text
    assert "no profile for &#39;ghost&#39;: the preview below is for nobody" in nobody


def test_recommendations_show_the_serving_model(dashboard: httpx.Client, story: Story) -> None:
    html = dashboard.get("/recommendations").text
    assert card(html, "configured") == "auto"
    assert card(html, "serving") == "ease"
    assert "too little data to compare (fewer than 20 people to test on)" in html
    board = cells(html, "Leaderboard, best first")
    assert board[0][:3] == ["ease (chosen)", "ease", "skipped"]
    assert "<svg" not in html, "no nDCG to chart when every candidate was skipped"


def test_data_quality_counts_bots_flags_and_plan_violations(
    dashboard: httpx.Client, story: Story
) -> None:
    html = dashboard.get("/quality").text
    assert card(html, "from bots") == "1"
    assert card(html, "flagged") == "1"
    assert '<tr><td>future_timestamp</td><td class="num">1</td></tr>' in html
    assert "Googlebot/2.1" in html
    assert "the workspace has no tracking plan" in html


def test_the_outbox_shows_each_email_with_its_status_and_reason(
    dashboard: httpx.Client, story: Story
) -> None:
    html = dashboard.get("/emails").text
    failed = next(r for r in html.split("<tr>") if "Broken one" in r)
    assert "failed" in failed and "550 5.1.1 mailbox unavailable" in failed
    sent = dashboard.get("/emails", params={"status": "sent"}).text
    assert "Broken one" not in sent and sent.count("Welcome to the shop, Sam!") == 2
    one = dashboard.get("/emails/broken-1").text
    assert "<th>reason</th><td>550 5.1.1 mailbox unavailable</td>" in one
    body = dashboard.get("/emails/broken-1/html")
    assert "img-src data:" in body.headers["content-security-policy"], "no open pixel"
