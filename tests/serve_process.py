"""Real `pertinent` processes for end-to-end tests: a workspace, `pertinent serve` (or one
role of it) as a subprocess with its log, its children found through /proc, and an SMTP
server that accepts connections and never answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from apitools import ADMIN, WRITE_KEY
from server import free_port

from pertinent.scaffold import write_example_workspace


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll `check` until it returns something truthy and return it; fail naming `what`.
    The deadline is generous on purpose: it only says that it happened at all."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.1)


def write_workspace(root: Path, **sections: dict[str, Any]) -> Path:
    """`pertinent init`'s example workspace, with these pertinent.yaml sections merged in."""
    write_example_workspace(root)
    path = root / "pertinent.yaml"
    settings = yaml.safe_load(path.read_text())
    # These tests run on the wall clock and cannot choose the hour: no quiet hours.
    settings.setdefault("journeys", {})["quiet_hours"] = None
    for name, values in sections.items():
        settings.setdefault(name, {}).update(values)
    path.write_text(yaml.safe_dump(settings, sort_keys=False))
    return root


def sign_up(user_id: str) -> list[dict[str, Any]]:
    """What an app sends when someone signs up: identify with an address, then Signed Up."""
    return [
        {
            "type": "identify",
            "messageId": uuid.uuid4().hex,
            "userId": user_id,
            "traits": {"email": f"{user_id}@example.com", "first_name": user_id},
        },
        {"type": "track", "messageId": uuid.uuid4().hex, "userId": user_id, "event": "Signed Up"},
    ]


def start_pertinent(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`python -m pertinent ARGS` with its stderr (where every process logs) in `log`."""
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "pertinent", *args],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def stop_pertinent(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _parent_and_args(pid: str) -> tuple[int, list[str]] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:  # it exited while we looked
        return None
    # The command name in parentheses may hold spaces; the parent pid is the 2nd field after.
    parent = int(stat.rpartition(")")[2].split()[1])
    return parent, [a.decode() for a in args if a]


def children_by_role(parent: int) -> dict[str, int]:
    """The live `--only ROLE` children of `parent`, by role."""
    found: dict[str, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        seen = _parent_and_args(entry.name)
        # A zombie (killed, not yet reaped) has an empty command line, so it is left out.
        if seen is None or seen[0] != parent or "--only" not in seen[1]:
            continue
        found[seen[1][seen[1].index("--only") + 1]] = int(entry.name)
    return found


class Served:
    """A running `pertinent serve` (the supervisor) and what it says."""

    def __init__(self, process: subprocess.Popen[bytes], base_url: str, log: Path):
        self.process = process
        self.base_url = base_url
        self._log = log

    def log(self) -> str:
        return self._log.read_text(errors="replace")

    def children(self) -> dict[str, int]:
        return children_by_role(self.process.pid)

    def status(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.base_url}/v1/status", headers=ADMIN, timeout=10)
        answer.raise_for_status()
        result: dict[str, Any] = answer.json()
        return result

    def send(self, batch: list[dict[str, Any]], timeout: float = 10.0) -> httpx.Response:
        return httpx.post(
            f"{self.base_url}/v1/batch",
            json={"batch": batch},
            auth=(WRITE_KEY, ""),
            timeout=timeout,
        )

    def answers(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def serving(workspace: Path, smtp_port: int, log: Path) -> Iterator[Served]:
    """`pertinent serve` for `workspace` on a free port, delivering to 127.0.0.1:smtp_port;
    yields once the API and the other two children are up, and stops it afterwards."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {"PERTINENT_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "PERTINENT_BASE_URL": base_url}
    process = start_pertinent(
        ["serve", "--workspace", str(workspace), "--port", str(port)], log, env
    )
    served = Served(process, base_url, log)
    try:
        wait_for(served.answers, "the API answers /healthz")
        wait_for(lambda: len(served.children()) == 3, "api, processor and sender run")
        yield served
    finally:
        stop_pertinent(process)


class Tarpit:
    """A TCP server that accepts every connection and never says a word (a hung SMTP
    server), until stopped; then its port is free for a real one."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def accepted(self) -> int:
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            with self._lock:
                self._held.append(conn)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        with self._lock:
            for conn in self._held:
                conn.close()
