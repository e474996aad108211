"""Signing in to the dashboard with an admin key: the session cookie, what happens without
one, and the forms another site cannot send."""

from __future__ import annotations

from datetime import timedelta

import httpx
from apitools import ADMIN, ADMIN_KEY, WRITE_KEY

from pertinent.app import System
from pertinent.clock import SimClock
from pertinent.web.session import COOKIE, LIFETIME


def test_every_page_asks_for_a_sign_in_and_comes_back_after_it(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        for path in ("/", "/events", "/segments/high_value?range=1d", "/emails", "/quality"):
            answer = client.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next=%2F")
        form = client.get("/login", params={"next": "/segments/high_value?range=1d"})
        assert 'name="next" value="/segments/high_value?range=1d"' in form.text
        signed = client.post(
            "/login", data={"key": ADMIN_KEY, "next": "/segments/high_value?range=1d"}
        )
        assert (signed.status_code, signed.headers["location"]) == (
            303,
            "/segments/high_value?range=1d",
        )
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert f"Max-Age={int(LIFETIME.total_seconds())}" in cookie
        assert "Secure" not in cookie, "plain HTTP here; Secure is set behind HTTPS"
        assert ADMIN_KEY not in cookie, "the cookie never holds the key"
        page = client.get("/segments/high_value?range=1d")
        assert page.status_code == 200 and "Signed in with key" in page.text
        again = client.get("/login")
        assert (again.status_code, again.headers["location"]) == (303, "/")


def test_a_wrong_key_is_refused_with_what_to_do(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        for key in ("", "nope", WRITE_KEY):
            answer = client.post("/login", data={"key": key})
            assert answer.status_code == 401
            assert "That is not an admin key of this workspace." in answer.text
            assert "set-cookie" not in answer.headers
        assert client.get("/").status_code == 303


def test_the_page_after_sign_in_is_always_on_this_dashboard(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "evil"):
            answer = client.post("/login", data={"key": ADMIN_KEY, "next": target})
            assert answer.headers["location"] == "/", target
            client.cookies.clear()


def test_a_sign_in_sent_from_another_site_is_refused(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            answer = client.post("/login", data={"key": ADMIN_KEY}, headers=headers)
            assert answer.status_code == 403 and "another site" in answer.text
            assert "set-cookie" not in answer.headers
        same = client.post("/login", data={"key": ADMIN_KEY}, headers={"Origin": base_url})
        assert same.status_code == 303


def test_a_tampered_or_expired_cookie_is_no_session(base_url: str, system: System) -> None:
    assert isinstance(system.clock, SimClock)
    with httpx.Client(base_url=base_url) as client:
        client.post("/login", data={"key": ADMIN_KEY})
        value = client.cookies[COOKIE]
        body, mac = value.split(".")
        client.cookies.set(COOKIE, body + "." + mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB"))
        assert client.get("/").status_code == 303
        client.cookies.set(COOKIE, value)
        assert client.get("/").status_code == 200
        system.clock.advance(LIFETIME + timedelta(seconds=1))
        assert client.get("/").status_code == 303, "expired"


def test_signing_out_takes_the_sessions_token(base_url: str) -> None:
    with httpx.Client(base_url=base_url) as client:
        client.post("/login", data={"key": ADMIN_KEY})
        page = client.get("/").text
        token = page.split('name="csrf" value="')[1].split('"')[0]
        refused = client.post("/logout", data={"csrf": "forged"})
        assert refused.status_code == 403 and "Sign out button" in refused.text
        assert client.get("/").status_code == 200, "still signed in"
        out = client.post("/logout", data={"csrf": token})
        assert (out.status_code, out.headers["location"]) == (303, "/login")
        assert client.get("/").status_code == 303


def test_pages_carry_a_policy_that_runs_no_script_and_the_api_is_unchanged(
    base_url: str,
) -> None:
    with httpx.Client(base_url=base_url) as client:
        client.post("/login", data={"key": ADMIN_KEY})
        answer = client.get("/segments")
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert "<script" not in answer.text
        assert client.get("/dashboard.css").headers["content-type"].startswith("text/css")
        assert client.get("/v1/segments").status_code == 401, "the API takes no cookie"
        assert client.get("/v1/segments", headers=ADMIN).status_code == 200
