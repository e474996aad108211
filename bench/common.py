"""What the benchmark scripts share: ports, waiting for a server, printing a table."""

from __future__ import annotations

import socket
import time

import httpx
from rich.console import Console
from rich.table import Table


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


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    table = Table("figure", "value", title=title)
    for name, value in rows:
        table.add_row(name, value)
    Console().print(table)
