"""Bots by user agent: crawlerdetect's maintained list, answered the same way faster, with
the server-side HTTP clients a shop's backend uses left alone."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from conftest import START
from crawlerdetect import CrawlerDetect

from pertinent.ingest.bots import agent_is_bot
from pertinent.ingest.pipeline import prepare

SERVER_CLIENTS = [
    "curl/8.4.0",
    "curl",
    "python-requests/2.31.0",
    "python-httpx/0.27.0",
    "Python-urllib/3.11",
    "okhttp/4.12.0",
    "Java/17.0.2",
    "Apache-HttpClient/4.5.14 (Java/17.0.2)",
    "Go-http-client/2.0",
    "axios/1.6.0",
    "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
    "GuzzleHttp/7",
]
BROWSERS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
]


def _crawler_user_agents() -> list[str]:
    """Every example user agent of another maintained list (monperrus/crawler-user-agents)."""
    data = resources.files("crawleruseragents").joinpath("crawler-user-agents.json")
    return [agent for entry in json.loads(data.read_text()) for agent in entry.get("instances", [])]


def test_the_answers_are_crawlerdetects_except_for_server_side_clients() -> None:
    library = CrawlerDetect()
    agents = _crawler_user_agents()
    differ = [a for a in agents if agent_is_bot(a) != library.is_crawler(a)]
    flagged = [a for a in agents if agent_is_bot(a)]

    assert len(agents) > 2000
    assert len(flagged) > 0.8 * len(agents), "most of another list's crawlers are caught"
    assert differ, "the server-side clients of that list are answered differently"
    assert all(library.is_crawler(a) and not agent_is_bot(a) for a in differ)
    assert {a.split("/")[0].split(" ")[0].lower() for a in differ} <= {
        "python-urllib",
        "python-requests",
        "python-httpx",
        "go-http-client",
        "okhttp",
        "apache-httpclient",
        "axios",
        "curl",
        "node-fetch",
        "got",
    }


@pytest.mark.parametrize("agent", SERVER_CLIENTS)
def test_a_server_side_http_client_is_not_a_bot(agent: str) -> None:
    assert CrawlerDetect().is_crawler(agent), "crawlerdetect would call it one"
    assert not agent_is_bot(agent)


@pytest.mark.parametrize("agent", BROWSERS)
def test_a_browser_is_not_a_bot(agent: str) -> None:
    assert not agent_is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; "
        "+https://openai.com/gptbot)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.0.0 Safari/537.36",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "python-requests/2.31.0 MyScraperBot/1.0",  # a client library is no disguise
        "Wget/1.21.4",
    ],
)
def test_crawlers_and_scrapers_are_bots(agent: str) -> None:
    assert agent_is_bot(agent)


def test_the_answer_says_how_many_events_were_flagged_as_bots() -> None:
    def page(agent: str) -> dict[str, object]:
        return {"type": "page", "anonymousId": "a", "context": {"userAgent": agent}}

    prepared = prepare(
        [page(BROWSERS[0]), page("Googlebot/2.1"), page("curl/8.4.0"), page("x" * 5000)],
        received_at=START,
    )
    assert [e.is_bot for e in prepared.events] == [False, True, False, False]
    assert [(f.index, f.kind, f.field) for f in prepared.flagged] == [
        (1, "bot", "/context/userAgent")
    ]
