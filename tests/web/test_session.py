"""Session cookies: signed, bound to an admin key that is still in the workspace, and over
when they expire."""

from __future__ import annotations

from datetime import timedelta

from conftest import START

from pertinent.config import key_hash
from pertinent.web.session import LIFETIME, SessionSigner

SECRET = "a-secret-of-some-length"
KEY = key_hash("the-admin-key")


def test_a_session_holds_its_key_name_until_it_expires() -> None:
    signer = SessionSigner(SECRET)
    cookie = signer.issue(KEY, "ops", START)
    found = signer.verify(cookie, [KEY], START + LIFETIME - timedelta(seconds=1))
    assert found is not None and found.name == "ops"
    assert found.expires == START + LIFETIME
    assert signer.verify(cookie, [KEY], START + LIFETIME) is None
    assert "the-admin-key" not in cookie and KEY not in cookie


def test_a_session_ends_with_its_key_or_the_secret() -> None:
    signer = SessionSigner(SECRET)
    cookie = signer.issue(KEY, "ops", START)
    assert signer.verify(cookie, [key_hash("another")], START) is None, "the key was removed"
    assert SessionSigner(SECRET + "!").verify(cookie, [KEY], START) is None


def test_an_altered_cookie_is_no_session() -> None:
    signer = SessionSigner(SECRET)
    cookie = signer.issue(KEY, "ops", START)
    body, mac = cookie.split(".")
    forged_body = signer.issue(KEY, "root", START).split(".")[0]
    for bad in (
        f"{forged_body}.{mac}",
        f"{body}.{mac[::-1]}",
        body,
        "",
        None,
        "ü.ü",
        f"{body}.{mac}.x",
        "!!!.abc",
    ):
        assert signer.verify(bad, [KEY], START) is None, bad


def test_each_session_has_its_own_csrf_token() -> None:
    signer = SessionSigner(SECRET)
    one = signer.verify(signer.issue(KEY, "ops", START), [KEY], START)
    two = signer.verify(signer.issue(KEY, "ops", START), [KEY], START)
    assert one is not None and two is not None
    assert signer.csrf_token(one) != signer.csrf_token(two)
    assert signer.csrf_token(one) == signer.csrf_token(one)
