"""The dashboard clicked through in a real browser: Playwright driving Debian's chromium
(installed by `make test`, never `playwright install`), against the served app after the
shop's morning (`shop.py`)."""

from __future__ import annotations

import pytest
from apitools import ADMIN_KEY
from playwright.sync_api import Page
from web.shop import Story, morning

from pertinent.app import System

pytestmark = pytest.mark.slow


@pytest.fixture
def story(system: System) -> Story:
    return morning(system)


def sign_in(page: Page, base_url: str, path: str) -> None:
    """Open `path`, which sends the browser to the sign-in form and back after it."""
    page.goto(base_url + path)
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_then_open_a_segments_size_chart(
    page: Page, base_url: str, system: System, story: Story
) -> None:
    high_value = system.segments.by_key("high_value")
    assert high_value is not None
    page.goto(base_url + "/segments")
    page.get_by_label("Admin key").fill("not-the-key")
    page.get_by_role("button", name="Sign in").click()
    assert "That is not an admin key" in page.get_by_role("alert").inner_text()
    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Segments"
    page.get_by_role("link", name=high_value.name).click()
    page.get_by_role("link", name="last 1d").click()
    chart = page.get_by_role("img", name=f"Members of segment {high_value.name}")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 400, "the chart fills its column"
    page.get_by_text("The numbers").click()
    table = page.get_by_role("table").filter(has_text="Size over the last 1d")
    assert table.is_visible()
    assert table.get_by_role("row").last.inner_text().split("\t")[-1].strip() == "3"


def test_open_a_journeys_funnel(page: Page, base_url: str, story: Story) -> None:
    sign_in(page, base_url, "/journeys")
    page.get_by_role("link", name="Welcome series").click()
    funnel = page.get_by_role("img", name="Numbers per step of Welcome series version 1")
    assert funnel.is_visible()
    bars = funnel.locator("rect")
    assert bars.count() >= 3
    widths = [bars.nth(i).bounding_box()["width"] for i in range(3)]  # type: ignore[index]
    assert widths[0] == pytest.approx(widths[1]), "everyone who entered got the welcome"
    row = page.get_by_role("row").filter(has_text="hello")
    assert row.inner_text().split("\t")[:5] == ["hello", "send", "2", "0", "2"]


def test_see_an_experiments_intervals(page: Page, base_url: str, story: Story) -> None:
    sign_in(page, base_url, "/experiments")
    page.get_by_role("link", name="subject-test").click()
    assert page.get_by_text("A winner, by the always-valid test").is_visible()
    values = page.get_by_role("img", name="click per variant")
    differences = page.get_by_role("img", name="click: each variant minus the control")
    assert values.is_visible() and differences.is_visible()
    zero = differences.locator("line.reference").bounding_box()
    interval = differences.locator("rect").first.bounding_box()
    assert zero is not None and interval is not None
    assert interval["x"] > zero["x"], "the question's interval lies right of zero: better"
    assert page.get_by_role("img", name="open per variant").is_hidden(), "folded away"
    page.get_by_role("heading", name="open", exact=True).click()
    assert page.get_by_role("img", name="open per variant").is_visible()


def test_sign_out(page: Page, base_url: str, story: Story) -> None:
    sign_in(page, base_url, "/")
    assert page.get_by_role("heading", level=1).inner_text() == "Overview"
    page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
    page.goto(base_url + "/emails")
    assert page.get_by_role("heading", level=1).inner_text() == "Sign in"
