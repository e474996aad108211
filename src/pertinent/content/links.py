"""Where the links of an email may go, and the URLs Pertinent itself puts into emails.

A click redirect is only made for a URL the template's author chose: one written in the
template (`https://shop.example/cart`, or a written start followed by Liquid,
`https://shop.example/p/{{ id }}`), or one on a host of the workspace's `allowed_link_hosts`
(the shop's own domains, where catalogue and event URLs point). Any other URL that arrives in
data (an event property, a trait, a catalogue entry written by a browser) is left unlinked:
the text stays, the `href` goes, and lint reports it. `mailto:` and `tel:` links are kept as
they are; `javascript:` and every other scheme from data are dropped.

Every URL of Pertinent's own (tracking, unsubscribe, preferences, view in browser) is made
by `system_url`, so a route that moves is changed in one place.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from enum import Enum

from pertinent.tracking.tokens import Purpose, TrackingTokens

# A URL written in a template, up to where Liquid, a quote, markup or space starts.
_WRITTEN = re.compile(r"""https?://[^\s"'<>{}|\\^`]+""")
_LIQUID_START = ("{{", "{%")


def system_url(base_url: str, purpose: Purpose, token: str) -> str:
    """The URL of one of Pertinent's own pages for a token (the routes of `api/tracking.py`;
    the preference centre lives at `/p/`)."""
    match purpose:
        case "click":
            return f"{base_url}/t/c/{token}"
        case "open":
            return f"{base_url}/t/o/{token}.gif"
        case "unsubscribe":
            return f"{base_url}/t/u/{token}"
        case "preferences":
            return f"{base_url}/p/{token}"
        case "view":
            return f"{base_url}/t/v/{token}"


class SystemUrls:
    """Pertinent's URLs for one workspace: sealed tokens under its base URL."""

    def __init__(self, base_url: str, tokens: TrackingTokens):
        self.base = base_url.rstrip("/")
        self._tokens = tokens

    def make(self, purpose: Purpose, message_id: str, issued: date, url: str | None = None) -> str:
        return system_url(self.base, purpose, self._tokens.seal(purpose, message_id, issued, url))

    def is_own(self, url: str) -> bool:
        return url.startswith(self.base + "/")


class Verdict(Enum):
    TRACK = "track"  # through a click redirect
    KEEP = "keep"  # as it is (mailto:, tel:, Pertinent's own pages)
    DROP = "drop"  # left unlinked


@dataclass(frozen=True)
class WrittenUrls:
    """The URLs a template's author wrote: whole ones, and starts that Liquid completes."""

    whole: frozenset[str] = frozenset()
    starts: tuple[str, ...] = ()

    @classmethod
    def of(cls, sources: Iterable[str]) -> WrittenUrls:
        whole: set[str] = set()
        starts: set[str] = set()
        for source in sources:
            for found in _WRITTEN.finditer(source):
                url = found.group()
                followed_by_liquid = source.startswith(_LIQUID_START, found.end())
                (starts if followed_by_liquid else whole).add(url)
        # A start counts only once its host is complete: `https://shop.example{{ x }}` could
        # become `https://shop.example.evil.test`.
        return cls(frozenset(whole), tuple(sorted(s for s in starts if _host_closed(s))))

    def allow(self, url: str) -> bool:
        if url in self.whole or url.startswith(self.starts):
            return True
        # A written URL with a query or fragment added by Liquid (the `utm` filter).
        base = url.split("#", 1)[0].split("?", 1)[0]
        return base != url and base in self.whole


def _host_closed(url: str) -> bool:
    rest = url.split("://", 1)[1]
    return any(c in rest for c in "/?#")


@dataclass(frozen=True)
class LinkRules:
    """The workspace's side of the rules: hosts whose URLs may come from data."""

    hosts: frozenset[str] = frozenset()
    domains: tuple[str, ...] = ()  # from `*.shop.example`: any subdomain, as ".shop.example"

    @classmethod
    def of(cls, allowed_hosts: Collection[str]) -> LinkRules:
        hosts = {h.lower() for h in allowed_hosts if not h.startswith("*.")}
        domains = tuple(sorted(h[1:].lower() for h in allowed_hosts if h.startswith("*.")))
        return cls(frozenset(hosts), domains)

    def allows_host(self, url: str) -> bool:
        host = host_of(url)
        return host is not None and (host in self.hosts or host.endswith(self.domains))


_AUTHORITY_END = re.compile(r"[/?#]")
_ODD = re.compile(r"[\\\s\x00-\x1f%]")


def host_of(url: str) -> str | None:
    """The host of a web URL, lower-case; None where browsers and parsers could disagree on
    it (a backslash, space, control character or escape in the authority), so such a URL is
    never taken for an allowed one."""
    rest = url.split("://", 1)[1] if "://" in url else ""
    end = _AUTHORITY_END.search(rest)
    authority = rest[: end.start()] if end else rest
    if _ODD.search(authority):
        return None
    host = authority.rpartition("@")[2]
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0].lower() or None


def verdict(url: str, written: WrittenUrls, rules: LinkRules, urls: SystemUrls) -> Verdict:
    """What becomes of a link whose URL came out of data."""
    lowered = url[:8].lower()
    if lowered.startswith(("https://", "http://")):
        if urls.is_own(url):
            return Verdict.KEEP
        if written.allow(url) or rules.allows_host(url):
            return Verdict.TRACK
        return Verdict.DROP
    if lowered.startswith(("mailto:", "tel:")):
        return Verdict.KEEP
    return Verdict.DROP


def written_verdict(url: str, urls: SystemUrls) -> Verdict:
    """What becomes of a link written whole in the template: tracked when it is a web URL,
    kept otherwise (lint reports relative links, which no mail client can follow)."""
    if url[:8].lower().startswith(("https://", "http://")) and not urls.is_own(url):
        return Verdict.TRACK
    return Verdict.KEEP
