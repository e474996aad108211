"""What the benchmark scripts share: the CLI, a served workspace, printing a table."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

# The keys of every served benchmark workspace: from the environment, which replaces the
# random ones `pertinent init` writes. The write key is server-side, as a shop's backend's.
WRITE_KEY = "bench-server-key"
ADMIN_KEY = "bench-admin-key"
KEYS_ENV = {"PERTINENT_SERVER_KEY": WRITE_KEY, "PERTINENT_ADMIN_KEY": ADMIN_KEY}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def pertinent(*args: str, quiet: bool = True) -> None:
    """Run a `pertinent` command with this interpreter; fail loudly if it fails."""
    subprocess.run([sys.executable, "-m", "pertinent", *args], check=True, capture_output=quiet)


@contextmanager
def serving(workspace: Path, *options: str, smtp_url: str = "smtp://127.0.0.1:1") -> Iterator[str]:
    """A `pertinent serve` process for `workspace` on a free port; yields its base URL once it
    answers, and stops it afterwards. Without an SMTP sink, sends fail and are retried later,
    which costs nothing here."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = ["serve", "--workspace", str(workspace), "--port", str(port), *options]
    server = subprocess.Popen(
        [sys.executable, "-m", "pertinent", *command],
        env={
            **os.environ,
            **KEYS_ENV,
            "PERTINENT_SMTP_URL": smtp_url,
            "PERTINENT_BASE_URL": base,
        },
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_http(f"{base}/healthz")
        yield base
    finally:
        server.terminate()
        server.wait(10)


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    table = Table("figure", "value", title=title)
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)
