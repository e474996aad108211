"""`make demo`: the whole loop, watched live.

A local SMTP sink stores what it receives; the real API is served on 127.0.0.1; simulated shop
days are replayed through `/v1/batch` in fast-forward on a simulated clock; simulated people
open and click the emails they get through the real tracking URLs. Afterwards the server keeps
running with a page of the delivered emails until Ctrl-C.
"""

from __future__ import annotations

import heapq
import re
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.live import Live
from rich.table import Table

from pertinent.api.app import create_app
from pertinent.app import System, build_system
from pertinent.clock import SimClock, monotonic
from pertinent.config import DEMO_ADMIN_KEY, DEMO_WRITE_KEY, KeySettings, load_workspace
from pertinent.delivery.sink import SmtpSink
from pertinent.errors import InputError
from pertinent.scaffold import write_example_workspace
from pertinent.sim import SimEmail, Simulation, email_rng

DEMO_MARKER = ".pertinent-demo"
START = datetime(2026, 3, 2, tzinfo=UTC)
STEP = timedelta(minutes=10)
WRITE = (DEMO_WRITE_KEY, "")
SIM_BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
_TRACKED = re.compile(r'(?:href|src)="(http://[^"]+/t/[co]/[^"]+)"')


@dataclass(order=True)
class _Pending:
    at: datetime
    kind: str = field(compare=False)
    url: str | None = field(compare=False)
    user_id: str = field(compare=False)
    product_id: str | None = field(compare=False)


@dataclass
class _Tally:
    events: int = 0
    emails: int = 0
    opens: int = 0
    clicks: int = 0
    orders: int = 0
    started: float = field(default_factory=monotonic)


def _prepare(workspace: Path) -> None:
    """A fresh demo workspace each run; never touch a folder the demo did not create."""
    foreign = workspace.exists() and not (workspace / DEMO_MARKER).exists()
    if foreign and any(workspace.iterdir()):
        raise InputError(
            "folder exists and is not a demo workspace",
            where=str(workspace),
            hint="pass --workspace with a new folder",
        )
    if workspace.exists():
        shutil.rmtree(workspace)
    write_example_workspace(workspace)
    (workspace / DEMO_MARKER).write_text("created by `pertinent demo`; safe to delete\n")


class _Server:
    def __init__(self, system: System, port: int):
        # The demo drives processing and sending itself, in step with the simulated clock.
        config = uvicorn.Config(
            create_app(system),
            host="127.0.0.1",
            port=port,
            log_level="critical",
        )
        self.port = port
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise InputError(
                    f"cannot serve on 127.0.0.1:{self.port} (is the port in use?)",
                    where="--port",
                    hint="stop what is using it, or pass another --port",
                )
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _summary(system: System, tally: _Tally, now: datetime) -> Table:
    status = system.storage.reads.status()
    sizes, profiles, lag = status.segments, status.profiles, status.lag
    elapsed = max(monotonic() - tally.started, 1e-6)
    table = Table(title=f"Pertinent demo · simulated time {now:%a %d %b %H:%M} UTC")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in [
        ("events sent", f"{tally.events:,}"),
        ("events/s", f"{tally.events / elapsed:,.0f}"),
        ("processor lag", f"{lag:,}"),
        ("profiles", f"{profiles:,}"),
        *[(f"segment {k}", f"{v:,}") for k, v in sorted(sizes.items())],
        ("emails delivered", f"{tally.emails:,}"),
        ("opens", f"{tally.opens:,}"),
        ("clicks", f"{tally.clicks:,}"),
        ("orders after a click", f"{tally.orders:,}"),
    ]:
        table.add_row(name, value)
    return table


class _Replay:
    def __init__(self, system: System, sim: Simulation, sink: SmtpSink, base: str, seed: int):
        self.system = system
        self.sim = sim
        self.sink = sink
        self.base = base
        self.seed = seed
        self.tally = _Tally()
        self.pending: list[_Pending] = []
        self.seen_messages = 0
        self.received_by: dict[str, int] = {}
        self.people = {p.email: p for p in sim.people}
        # Simulated people read mail in a browser, and say so (an HTTP library's user agent
        # would make their opens and clicks a machine's).
        self.client = httpx.Client(
            base_url=base, auth=WRITE, timeout=30, headers={"User-Agent": SIM_BROWSER}
        )

    def send(self, events: list[dict[str, Any]]) -> None:
        for start in range(0, len(events), 100):
            answer = self.client.post("/v1/batch", json={"batch": events[start : start + 100]})
            answer.raise_for_status()
        self.tally.events += len(events)

    def wait_idle(self) -> None:
        self.system.run_until_idle()

    def collect_mail(self) -> None:
        """Hand each newly delivered email to its simulated reader."""
        for received in self.sink.messages[self.seen_messages :]:
            self.seen_messages += 1
            self.tally.emails += 1
            person = self.people.get(received.rcpt_tos[0])
            if person is None:
                continue
            body = received.message.get_body(("html",))
            html = body.get_content() if body is not None else ""
            tracked = _TRACKED.findall(html)
            clicks = [u for u in tracked if "/t/c/" in u]
            pixel = next((u for u in tracked if "/t/o/" in u), None)
            products = []
            for url in clicks:
                destination = self.system.tokens.open("click", url.rsplit("/", 1)[1]).url or ""
                if "/p/" in destination:
                    products.append(destination.rsplit("/", 1)[1])
            email = SimEmail(
                message_id=str(received.message["Message-ID"]),
                to=received.rcpt_tos[0],
                subject=str(received.message["Subject"]),
                html=html,
                links=clicks,
                product_ids=products,
                open_pixel_url=pixel,
            )
            nth = self.received_by.get(email.to, 0)
            self.received_by[email.to] = nth + 1
            rng = email_rng(self.seed, f"{email.to}|{nth}|{email.subject}")
            for r in self.sim.respond(person, email, self.system.clock.now(), rng):
                heapq.heappush(
                    self.pending, _Pending(r.at, r.kind, r.url, person.user_id, r.product_id)
                )

    def respond_until(self, until: datetime) -> None:
        clock = self.system.clock
        assert isinstance(clock, SimClock)
        while self.pending and self.pending[0].at <= until:
            item = heapq.heappop(self.pending)
            # People act at their own moment, not at the start of the replayed step: a click
            # recorded at the instant of delivery would be taken for a link scanner's.
            if item.at > clock.now():
                clock.set(item.at)
            if item.kind == "open" and item.url:
                self.client.get(item.url)
                self.tally.opens += 1
            elif item.kind == "click" and item.url:
                self.client.get(item.url, follow_redirects=False)
                self.tally.clicks += 1
            elif item.kind == "order" and item.product_id:
                self.tally.orders += 1
                self.send(
                    [
                        {
                            "type": "track",
                            "event": "Order Completed",
                            "userId": item.user_id,
                            "timestamp": item.at.isoformat(),
                            "properties": {
                                "order_id": f"demo-{item.at.timestamp():.0f}",
                                "products": [{"product_id": item.product_id}],
                            },
                        }
                    ]
                )

    def run(self, days: int, console: Console) -> None:
        clock = self.system.clock
        assert isinstance(clock, SimClock)
        end = START + timedelta(days=days)
        with Live(
            _summary(self.system, self.tally, clock.now()), console=console, refresh_per_second=4
        ) as live:
            while clock.now() < end:
                now = clock.now()
                self.send(self.sim.events_between(now, now + STEP))
                self.respond_until(now + STEP)
                clock.set(now + STEP)
                self.wait_idle()
                self.collect_mail()
                live.update(_summary(self.system, self.tally, clock.now()))
            self.wait_idle()
            live.update(_summary(self.system, self.tally, clock.now()))


def _serve_forever(system: System) -> None:
    """Keep processing and sending on the demo's clock (now moving with the wall clock)
    until Ctrl-C."""
    while True:
        if not system.run_until_idle():
            time.sleep(0.2)


def run_demo(
    workspace: Path,
    *,
    days: int,
    people: int,
    port: int,
    exit_when_done: bool,
    seed: int,
    console: Console,
) -> None:
    _prepare(workspace)
    sink = SmtpSink(workspace / "mail")
    smtp_port = sink.start("127.0.0.1", 0)
    ws = load_workspace(workspace)
    ws.settings.smtp.url = f"smtp://127.0.0.1:{smtp_port}"
    ws.settings.server.base_url = f"http://127.0.0.1:{port}"
    # The published demo keys, in memory only and on 127.0.0.1 only: the workspace's own
    # keys stay in its file for when it is served for real.
    ws.settings.keys = KeySettings.demo()
    clock = SimClock(START)
    system = build_system(ws, clock=clock)
    server = _Server(system, port)
    server.start()
    console.print(
        f"SMTP sink on 127.0.0.1:{smtp_port}; API on {ws.settings.server.base_url} "
        f"(write key {DEMO_WRITE_KEY}, admin key {DEMO_ADMIN_KEY})"
    )
    sim = Simulation(seed=seed, n_people=people, n_products=120, start=START)
    replay = _Replay(system, sim, sink, ws.settings.server.base_url, seed)
    try:
        replay.run(days, console)
        console.print()
        console.print(
            f"[green]Delivered {replay.tally.emails} personalized emails; "
            f"{replay.tally.opens} opens and {replay.tally.clicks} clicks recorded."
            "[/green]"
        )
        if not exit_when_done:
            console.print(
                f"Dashboard: {ws.settings.server.base_url}/ (admin key {DEMO_ADMIN_KEY}); "
                f"delivered emails at {ws.settings.server.base_url}/emails  · Ctrl-C to stop"
            )
            _serve_forever(system)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        sink.stop()
        system.close()
