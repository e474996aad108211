"""Known bots and crawlers, by user agent.

A short list of markers covers the crawlers, link scanners and headless browsers that show up
in shop traffic; a full device-detection library would add weight for no better answer to the
one question asked here ("is this a person?").
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_BOT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|mediapartners|facebookexternalhit|embedly|quora link"
    r"|headlesschrome|phantomjs|lighthouse|pingdom|uptimerobot|python-requests|go-http-client"
    r"|scrapy|wget/|curl/|httpclient|okhttp|java/|semrush|ahrefs|bingpreview|yandex|baiduspider"
    r"|duckduckbot|applebot|petalbot|bytespider|gptbot|ccbot",
    re.IGNORECASE,
)


@lru_cache(maxsize=8192)
def _agent_is_bot(agent: str) -> bool:
    return _BOT.search(agent) is not None


def is_bot(context: dict[str, Any]) -> bool:
    """True when the event's `context.userAgent` names a known bot or crawler.

    User agents repeat heavily across events, so answers are cached per string.
    """
    agent = context.get("userAgent")
    return isinstance(agent, str) and _agent_is_bot(agent)
