"""Rendering: complete emails per second for the example cart template, against bare
"Liquid + mrml" on the same template and people, in the same run, on one core.

- complete: what the compose phase stores for each email: subject, preheader, HTML with
  every link a sealed click redirect (or kept, or left unlinked by the link rules), the open
  pixel, the hidden preheader line, and the text part (`Renderer.render`);
- bare: the same body's Liquid rendered and converted by mrml, nothing else (no subject, no
  CSS inlining, no links, no text part);
- per email: the complete email with the body converted per email, as before templates were
  converted once (the old path, for comparison).

The people are simulated: names, a product added to the cart (with its price and URL) and
three similar products from the simulated catalogue. The three are measured in alternating
rounds so that load from other processes falls on all of them alike; the median round counts.
Rates are per second of CPU time of this process, pinned to one core (on a busy machine the
wall clock also counts the time other processes held the core); the wall-clock rate of the
complete emails is printed too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mrml
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table

from pertinent.config import load_workspace
from pertinent.content.links import LinkRules, SystemUrls
from pertinent.content.mjml import PerEmailBody
from pertinent.content.render import Renderer
from pertinent.content.templates import EmailTemplate, TemplateLibrary
from pertinent.scaffold import write_example_workspace
from pertinent.sim.catalogue import make_catalogue
from pertinent.tracking.tokens import TrackingTokens

TEMPLATE = "cart_abandoned"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NAMES = ["Ann", "Bob", "Chloé", "Dev", "Eve & Co", "Fatima", None]


def people(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Template contexts for `count` simulated people who left a product in their cart."""
    rng = np.random.default_rng(seed)
    catalogue = make_catalogue(rng, 300)
    contexts = []
    for i in range(count):
        added = catalogue[int(rng.integers(len(catalogue)))]
        similar = [catalogue[int(j)] for j in rng.choice(len(catalogue), 3, replace=False)]
        contexts.append(
            {
                "profile": {"id": f"u{i}", "first_name": NAMES[i % len(NAMES)]},
                "event": {"name": "Product Added", "properties": added.properties()},
                "journey": {"key": "cart_abandonment", "step": 1},
                "recommendations": {
                    "similar_to": [
                        {"item_id": p.item_id, "title": p.title, "url": p.url, "price": p.price}
                        for p in similar
                    ]
                },
            }
        )
    return contexts


class PerEmailLibrary(TemplateLibrary):
    """The same templates, each body converted per email (the old path)."""

    def get(self, name: str) -> EmailTemplate:
        return replace(super().get(name), body=PerEmailBody("the old path"))


def round_rate(work: Callable[[int], object], count: int) -> tuple[float, float]:
    """(emails per CPU second, emails per wall-clock second)."""
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        work(i)
    return count / (time.process_time() - cpu), count / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--per-round", type=int, default=400, help="emails per round")
    args = parser.parse_args()
    rounds, per_round = (7, 200) if args.quick else (args.rounds, args.per_round)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    with tempfile.TemporaryDirectory() as tmp:
        write_example_workspace(Path(tmp) / "ws")
        workspace = load_workspace(Path(tmp) / "ws")
    content = workspace.settings.content
    urls = SystemUrls("https://shop.example.com", TrackingTokens("bench secret, long enough"))
    rules = LinkRules.of(content.allowed_link_hosts)
    with tempfile.TemporaryDirectory() as tmp:
        write_example_workspace(Path(tmp) / "ws")
        folder = Path(tmp) / "ws" / "templates"
        complete = Renderer(TemplateLibrary(folder, content), urls, rules)
        per_email = Renderer(PerEmailLibrary(folder, content), urls, rules)
        body = complete.library.get(TEMPLATE).body_source
        contexts = people(500)
        ids = [f"{i:032x}" for i in range(per_round)]

        def render(renderer: Renderer) -> Callable[[int], object]:
            return lambda i: renderer.render(
                TEMPLATE, contexts[i % len(contexts)], message_id=ids[i], now=NOW
            )

        def bare(i: int) -> object:
            context = {**contexts[i % len(contexts)], "unsubscribe_url": "https://x/u"}
            return mrml.to_html(body.render(**context)).content

        sample = complete.render(TEMPLATE, contexts[0], message_id=ids[0], now=NOW)
        assert sample.text and sample.preheader and sample.tracked_links, "a complete email"
        rates: dict[str, list[tuple[float, float]]] = {"complete": [], "bare": [], "per email": []}
        for _ in range(rounds):
            rates["complete"].append(round_rate(render(complete), per_round))
            rates["bare"].append(round_rate(bare, per_round))
            rates["per email"].append(round_rate(render(per_email), per_round // 4))
    median = {name: statistics.median(r[0] for r in values) for name, values in rates.items()}
    wall = statistics.median(r[1] for r in rates["complete"])
    ratio = median["complete"] / median["bare"]
    print_table(
        f"Rendering {TEMPLATE}: {rounds} rounds of {per_round} emails on one core",
        [
            ("complete emails / CPU s", f"{median['complete']:,.0f}"),
            ("bare Liquid + mrml / CPU s", f"{median['bare']:,.0f}"),
            ("ratio complete / bare", f"{ratio:.2f}"),
            ("per email (old path) / CPU s", f"{median['per email']:,.0f}"),
            ("complete emails / wall s", f"{wall:,.0f}"),
            ("links per email", f"{len(sample.tracked_links)} tracked"),
            ("HTML / text", f"{len(sample.html) // 1024} KB / {len(sample.text)} chars"),
            ("floor", ">= 0.5 x bare and >= 5,000 emails/s"),
        ],
    )


if __name__ == "__main__":
    main()
