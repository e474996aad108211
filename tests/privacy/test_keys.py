"""API keys: a new workspace has its own, kept only as hashes; the environment replaces them;
the published demo keys open nothing but the demo."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from conftest import START
from server import serving

from pertinent.api.app import create_app
from pertinent.app import build_system
from pertinent.clock import SimClock
from pertinent.config import DEMO_ADMIN_KEY, DEMO_WRITE_KEY, load_workspace
from pertinent.errors import ConfigError
from pertinent.scaffold import NewKeys, write_example_workspace

KEY_VARIABLES = ("PERTINENT_WRITE_KEY", "PERTINENT_SERVER_KEY", "PERTINENT_ADMIN_KEY")
IDENTIFY = {"userId": "u1", "traits": {"email": "ann@example.com"}}


@pytest.fixture
def no_key_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keys in the workspace file alone (the test session sets all three variables)."""
    for name in KEY_VARIABLES:
        monkeypatch.delenv(name)


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, NewKeys]:
    root = tmp_path / "ws"
    return root, write_example_workspace(root)


@pytest.fixture
def served(fresh: tuple[Path, NewKeys], no_key_variables: None) -> Iterator[str]:
    system = build_system(load_workspace(fresh[0]), clock=SimClock(START))
    try:
        with serving(create_app(system)) as url:
            yield url
    finally:
        system.close()


def _status(url: str, admin_key: str) -> int:
    answer = httpx.get(f"{url}/v1/status", headers={"Authorization": f"Bearer {admin_key}"})
    return answer.status_code


def _identify(url: str, write_key: str) -> int:
    return httpx.post(f"{url}/v1/identify", json=IDENTIFY, auth=(write_key, "")).status_code


def test_init_makes_keys_of_its_own_and_keeps_only_their_hashes(
    fresh: tuple[Path, NewKeys], tmp_path: Path
) -> None:
    root, keys = fresh
    text = (root / "pertinent.yaml").read_text()
    for key in (keys.browser, keys.server, keys.admin):
        assert key not in text, "the file never holds a key"
    settings = yaml.safe_load(text)["keys"]
    assert [k["side"] for k in settings["write"]] == ["browser", "server"]
    assert all(k["hash"].startswith("sha256:") for k in [*settings["write"], *settings["admin"]])
    other = write_example_workspace(tmp_path / "other")
    assert {other.browser, other.server, other.admin}.isdisjoint(
        {keys.browser, keys.server, keys.admin}
    )


def test_the_keys_init_showed_open_the_api_and_the_demo_keys_do_not(
    served: str, fresh: tuple[Path, NewKeys]
) -> None:
    keys = fresh[1]
    assert _status(served, keys.admin) == 200
    assert _identify(served, keys.browser) == 200
    assert _identify(served, keys.server) == 200
    assert _status(served, DEMO_ADMIN_KEY) == 401
    assert _identify(served, DEMO_WRITE_KEY) == 401
    assert _status(served, keys.server) == 401, "a write key is not an admin key"
    assert _identify(served, keys.admin) == 401, "an admin key is not a write key"


def test_a_key_from_the_environment_replaces_the_files_keys_of_its_kind(
    fresh: tuple[Path, NewKeys], no_key_variables: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, keys = fresh
    monkeypatch.setenv("PERTINENT_ADMIN_KEY", "ops-admin-key")
    monkeypatch.setenv("PERTINENT_WRITE_KEY", "site-key")
    system = build_system(load_workspace(root), clock=SimClock(START))
    try:
        with serving(create_app(system)) as url:
            assert _status(url, "ops-admin-key") == 200
            assert _status(url, keys.admin) == 401, "the file's admin key stops working"
            assert _identify(url, "site-key") == 200
            assert _identify(url, keys.browser) == 401, "the file's browser key is replaced"
            assert _identify(url, keys.server) == 200, "the server key was not replaced"
    finally:
        system.close()


def test_a_key_written_in_clear_in_the_file_is_refused_with_how_to_store_it(
    fresh: tuple[Path, NewKeys], no_key_variables: None
) -> None:
    root = fresh[0]
    config = root / "pertinent.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["keys"]["admin"] = ["my-admin-key"]
    config.write_text(yaml.safe_dump(settings))
    with pytest.raises(ConfigError) as caught:
        load_workspace(root)
    assert "keys.admin.0" in str(caught.value)
    assert "pertinent keys new" in str(caught.value)


def test_keys_new_prints_a_key_once_and_the_entry_that_accepts_it(
    fresh: tuple[Path, NewKeys], no_key_variables: None
) -> None:
    root = fresh[0]
    made = subprocess.run(
        [sys.executable, "-m", "pertinent", "keys", "new", "admin", "--name", "ops"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    key = made.split("key (shown once): ")[1].split()[0]
    entry = made.split("  - ", 1)[1].strip()
    config = root / "pertinent.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["keys"]["admin"].append(yaml.safe_load(entry))
    config.write_text(yaml.safe_dump(settings))
    system = build_system(load_workspace(root), clock=SimClock(START))
    try:
        with serving(create_app(system)) as url:
            assert _status(url, key) == 200
    finally:
        system.close()


def test_serve_refuses_the_published_demo_keys_off_the_loopback(
    fresh: tuple[Path, NewKeys], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PERTINENT_ADMIN_KEY", DEMO_ADMIN_KEY)
    refused = subprocess.run(
        [sys.executable, "-m", "pertinent", "serve", "-w", str(fresh[0]), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "refusing to serve on 0.0.0.0 with the published demo keys" in refused.stderr
    assert "Traceback" not in refused.stderr
