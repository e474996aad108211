"""Known bots and crawlers, by user agent, from a maintained list.

The list is crawlerdetect's (a Python port of JayBizzle's CrawlerDetect, ~1,500 patterns kept
up to date by its community). Its own matcher is one alternation of every pattern, which
Python's regex engine tries pattern by pattern at each character: about 0.2 ms for a browser's
user agent and 100 ms or more for 500 characters of junk, a cost any client could make us pay
per event. So the same patterns are compiled here differently, with the same answers (a test
holds them to `CrawlerDetect.is_crawler`): the ~1,400 plain words as one trie-shaped regex
over the lowercased agent, the rest as an alternation of their own. Answers are cached per
user agent, and only the first `MAX_AGENT` characters are read.

A server-side HTTP client (curl, python-requests, okhttp, Java, Apache HttpClient, Go's
net/http, axios ...) is not a bot here, though crawlerdetect lists them: they are how a shop's
backend sends its events.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from crawlerdetect.providers.crawlers import data as crawler_patterns
from crawlerdetect.providers.exclusions import data as exclusion_patterns

MAX_AGENT = 512

# A pattern that is a plain word: letters and escaped punctuation, nothing that matches more
# than one string.
_PLAIN = re.compile(r"(?:[^\\\[\]()*+?.|^$\{\}]|\\[./\-+() ])+")
# crawlerdetect's catch-all ("anything ending in bot, crawl, spider ..."): the prefix it
# repeats at every character changes what is captured, never whether it matches.
_CATCH_ALL_PREFIX = "[a-z0-9\\-_]*"
_CATCH_ALL_WORDS = re.compile(r"\(((?:[a-z]+\|)+[a-z]+)\)")

# Server-side HTTP clients, each a product token with an optional version and comment.
_CLIENT = (
    r"(?:curl|python-requests|python-httpx|python-urllib|aiohttp|httpx|okhttp|java"
    r"|apache-httpclient|httpclient|go-http-client|axios|node-fetch|undici|got"
    r"|guzzlehttp|faraday|ruby|php|dart|libwww-perl|rest-client|ktor-client)"
    r"(?:/[\w.+-]*)?(?:\s*\([^)]*\))?"
)
_SERVER_CLIENT = re.compile(rf"\s*{_CLIENT}(?:\s+{_CLIENT})*\s*", re.IGNORECASE)


def _trie(words: list[str]) -> str:
    """One regex matching any of `words`, shaped as a trie: at each character the engine
    follows one branch instead of trying every word."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(c) + emit(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return emit(root)


@cache
def _matchers() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(exclusions, plain words, other patterns), compiled on first use (about a second)."""
    words: list[str] = []
    others: list[str] = []
    for pattern in crawler_patterns:
        if pattern.startswith(_CATCH_ALL_PREFIX):
            catch_all = _CATCH_ALL_WORDS.fullmatch(pattern.removeprefix(_CATCH_ALL_PREFIX))
            assert catch_all is not None, f"crawlerdetect's catch-all changed: {pattern}"
            words.extend(catch_all[1].split("|"))
        elif _PLAIN.fullmatch(pattern):
            words.append(re.sub(r"\\(.)", r"\1", pattern).lower())
        else:
            others.append(pattern)
    return (
        re.compile("|".join(exclusion_patterns), re.IGNORECASE),
        re.compile(_trie(words)),
        re.compile("|".join(others), re.IGNORECASE),
    )


@lru_cache(maxsize=8192)
def agent_is_bot(agent: str) -> bool:
    """crawlerdetect's answer for `agent` (its first `MAX_AGENT` characters), except that a
    server-side HTTP client is not a bot."""
    agent = agent[:MAX_AGENT].strip()
    if not agent or _SERVER_CLIENT.fullmatch(agent):
        return False
    exclusions, words, others = _matchers()
    rest = exclusions.sub("", agent).strip()
    if not rest:
        return False
    return words.search(rest.lower()) is not None or others.search(rest) is not None


def is_bot(context: dict[str, Any]) -> bool:
    """True when the event's `context.userAgent` names a known bot or crawler."""
    agent = context.get("userAgent")
    return isinstance(agent, str) and agent_is_bot(agent)
