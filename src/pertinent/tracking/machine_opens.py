"""Telling a person's open or click from a machine's: mail privacy proxies that fetch every
image on delivery, and link scanners that follow every link before the person sees it.

A machine's open or click is still recorded (with `machine: true` and the reason), but it is
not the person's engagement: profiles, segments and experiment metrics leave it out.

The signatures below are built in, read from no network at run time, and can be extended in
`engagement:` (pertinent.yaml). They are heuristics from public descriptions, not guarantees:

- Apple Mail Privacy Protection fetches images through Apple's relay as soon as a message
  reaches the device, with the bare user agent `Mozilla/5.0`, from Apple's network
  (17.0.0.0/8, registered to Apple at ARIN). Sources: SocketLabs, "Identifying Apple MPP opens";
  Word to the Wise, "Apple MPP reporting and geolocation" (2021). The relay's other egress
  ranges (mask-api.icloud.com/egress-ip-ranges.csv) also carry people's own browsing, so only
  Apple's network and user agent count, and for opens only: a click through the relay may be
  a person's.
- Link scanners and previewers name themselves in their user agents (the vendors document
  them: Slackbot-LinkExpanding, facebookexternalhit, SkypeUriPreview, Barracuda, Mimecast,
  Proofpoint ...); plain HTTP libraries (curl, python-requests, Go-http-client) are never a
  person's mail client; a request without a user agent is no mail client either.
- Behaviour: a click within seconds of delivery, or clicks on several different links of one
  email within a few seconds, is a scanner working through the message (Microsoft Defender's
  Safe Links and others use browser-like user agents, so only their behaviour shows them).
  The first click of such a burst is recorded before the burst shows; it counts as a person's
  unless something else gives it away.
"""

from __future__ import annotations

import ipaddress
import re
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pertinent.tracking.settings import EngagementSettings

MachineReason = Literal[
    "apple_privacy_proxy",
    "scanner_user_agent",
    "no_user_agent",
    "scanner_network",
    "clicked_on_delivery",
    "link_burst",
]

_APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")
_APPLE_PROXY_AGENT = "Mozilla/5.0"
_SCANNER_AGENTS = (
    # link previews and unfurlers
    "slackbot",
    "twitterbot",
    "linkedinbot",
    "discordbot",
    "telegrambot",
    "whatsapp",
    "facebookexternalhit",
    "skypeuripreview",
    "bingpreview",
    "googlebot",
    "bingbot",
    # mail security gateways
    "barracuda",
    "mimecast",
    "proofpoint",
    "symantec",
    "trendmicro",
    "ironport",
    "sophos",
    "zscaler",
    "forcepoint",
    "fortiguard",
    # headless browsers and HTTP libraries: no person reads mail with these
    "headlesschrome",
    "phantomjs",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "node-fetch",
    "axios/",
    "go-http-client",
    "curl/",
    "wget/",
    "libwww-perl",
    "okhttp",
    "apache-httpclient",
    "java/",
)
# How many emails' recent clicks a process remembers for the burst rule.
_REMEMBERED_EMAILS = 10_000


@dataclass(frozen=True)
class Seen:
    """What the tracking endpoint saw of the request."""

    ip: str | None
    user_agent: str | None


class MachineDetector:
    """Decides whether an open or a click was a machine's. Keeps the last few seconds of clicks
    per email in this process, for the burst rule (under `serve` there is one API process;
    with several behind a load balancer, each sees its share of a burst)."""

    def __init__(self, settings: EngagementSettings):
        self._settings = settings
        self._networks = list(settings.machine_networks)
        agents = [*_SCANNER_AGENTS, *(a.lower() for a in settings.machine_user_agents if a)]
        self._agents = re.compile("|".join(re.escape(a) for a in agents))
        self._clicks: OrderedDict[str, deque[tuple[datetime, str]]] = OrderedDict()
        self._lock = threading.Lock()

    def _by_request(self, seen: Seen) -> MachineReason | None:
        agent = (seen.user_agent or "").strip()
        if not agent:
            return "no_user_agent"
        if agent == _APPLE_PROXY_AGENT or self._agents.search(agent.lower()):
            return "scanner_user_agent"
        address = _address(seen.ip)
        if address is not None and any(address in net for net in self._networks):
            return "scanner_network"
        return None

    def open_reason(self, seen: Seen) -> MachineReason | None:
        """Why the open was a machine's; None when it may be the person's."""
        agent = (seen.user_agent or "").strip()
        address = _address(seen.ip)
        if agent == _APPLE_PROXY_AGENT or (address is not None and address in _APPLE_NETWORK):
            return "apple_privacy_proxy"
        return self._by_request(seen)

    def click_reason(
        self, seen: Seen, message_id: str, url: str, sent_at: datetime | None, now: datetime
    ) -> MachineReason | None:
        """Why the click was a machine's; None when it may be the person's. Every click is
        remembered for the burst rule, a machine's too."""
        burst = self._burst(message_id, url, now)
        if (reason := self._by_request(seen)) is not None:
            return reason
        soon = timedelta(seconds=self._settings.click_after_delivery_seconds)
        if sent_at is not None and now - sent_at < soon:
            return "clicked_on_delivery"
        return "link_burst" if burst else None

    def _burst(self, message_id: str, url: str, now: datetime) -> bool:
        window = timedelta(seconds=self._settings.burst_seconds)
        with self._lock:
            recent = self._clicks.pop(message_id, None) or deque()
            recent.append((now, url))
            while recent and now - recent[0][0] > window:
                recent.popleft()
            self._clicks[message_id] = recent
            while len(self._clicks) > _REMEMBERED_EMAILS:
                self._clicks.popitem(last=False)
            return len({u for _, u in recent}) >= self._settings.burst_links


def _address(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None
