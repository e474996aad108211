"""Whose open, whose click: a person's, or a mail proxy's or link scanner's."""

from __future__ import annotations

from datetime import timedelta

from conftest import START
from hypothesis import given
from hypothesis import strategies as st

from pertinent.tracking.machine_opens import MachineDetector, Seen
from pertinent.tracking.settings import EngagementSettings

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
HOME = "203.0.113.7"
SENT = START
LATER = START + timedelta(hours=2)


def _detector(**settings: object) -> MachineDetector:
    return MachineDetector(EngagementSettings.model_validate(settings))


def test_apple_mail_privacy_protection_opens_are_a_machines() -> None:
    detector = _detector()
    assert detector.open_reason(Seen(HOME, "Mozilla/5.0")) == "apple_privacy_proxy"
    assert detector.open_reason(Seen("17.58.101.4", IPHONE)) == "apple_privacy_proxy"
    assert detector.open_reason(Seen(HOME, IPHONE)) is None, "Apple Mail without MPP: a person"


def test_scanners_and_previewers_are_known_by_their_user_agent() -> None:
    detector = _detector()
    for agent in (
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (compatible; Barracuda Sentinel)",
    ):
        assert detector.click_reason(Seen(HOME, agent), "m1", "https://a", SENT, LATER) == (
            "scanner_user_agent"
        ), agent
    assert detector.open_reason(Seen(HOME, None)) == "no_user_agent"
    assert detector.open_reason(Seen(HOME, "  ")) == "no_user_agent"


def test_a_click_within_seconds_of_delivery_is_a_scanner_and_one_later_a_person() -> None:
    detector = _detector()
    soon = SENT + timedelta(seconds=3)
    assert detector.click_reason(Seen(HOME, FIREFOX), "m1", "https://a", SENT, soon) == (
        "clicked_on_delivery"
    )
    assert detector.click_reason(Seen(HOME, FIREFOX), "m2", "https://a", SENT, LATER) is None
    assert detector.click_reason(Seen(HOME, FIREFOX), "m3", "https://a", None, soon) is None


def test_every_link_clicked_at_once_is_a_scanner_from_the_burst_on() -> None:
    detector = _detector(burst_links=3, burst_seconds=5)
    seen = Seen(HOME, FIREFOX)
    at = [LATER + timedelta(milliseconds=300 * i) for i in range(4)]
    reasons = [
        detector.click_reason(seen, "m1", f"https://shop.example/{i}", SENT, at[i])
        for i in range(4)
    ]
    assert reasons == [None, None, "link_burst", "link_burst"]


def test_a_person_clicking_one_link_again_or_links_minutes_apart_is_no_burst() -> None:
    detector = _detector(burst_links=3, burst_seconds=5)
    seen = Seen(HOME, FIREFOX)
    again = [detector.click_reason(seen, "m1", "https://a", SENT, LATER) for _ in range(4)]
    apart = [
        detector.click_reason(seen, "m2", f"https://{i}", SENT, LATER + timedelta(minutes=i))
        for i in range(4)
    ]
    assert again == [None] * 4
    assert apart == [None] * 4


def test_the_workspace_adds_networks_and_user_agents() -> None:
    detector = _detector(
        machine_networks=["198.51.100.0/24"], machine_user_agents=["AcmeMailGuard"]
    )
    assert detector.open_reason(Seen("198.51.100.9", FIREFOX)) == "scanner_network"
    assert detector.open_reason(Seen(HOME, "acmemailguard/2.0")) == "scanner_user_agent"
    assert detector.open_reason(Seen("not an address", FIREFOX)) is None


@given(
    minutes=st.floats(min_value=1, max_value=60 * 24 * 30),
    agent=st.sampled_from([IPHONE, FIREFOX]),
    links=st.integers(min_value=1, max_value=2),
)
def test_a_person_opening_and_clicking_later_is_never_taken_for_a_machine(
    minutes: float, agent: str, links: int
) -> None:
    detector = _detector()
    now = SENT + timedelta(minutes=minutes)
    seen = Seen(HOME, agent)
    assert detector.open_reason(seen) is None
    assert all(
        detector.click_reason(seen, "m1", f"https://shop.example/{i}", SENT, now) is None
        for i in range(links)
    )
