"""Recommendations: training cost, serving speed over HTTP, and quality on real data.

1. Training. Pertinent's whole training path (interactions → matrix → ALS → a serving
   snapshot with popularity, trending and purchases) against bare `implicit` ALS fitted on the
   same matrix with the same settings, on ~1M simulated interactions (people with the
   simulator's hidden category tastes, Zipf-popular products) and on the real shop's orders.
   Peak memory (allocations, by tracemalloc) is measured in a forked child per run.
2. Serving. The real shop's orders go in as "Order Completed" events through
   `pertinent import events`, are processed, and a `pertinent serve` process trains on them
   with `model: auto` (the default: the selection's time is printed); then customers' top 10
   are asked for over HTTP by wrk (cycling through every customer, cache off, so every answer
   is computed) from a few concurrent connections.
3. Quality. Every model, `auto` and popularity on the real data: trained on orders before
   2011-09-01 and asked for each customer's later purchases, and on a random 75/25 split per
   customer (the tables of docs/benchmarks.md); `auto` must be within 2 % of the best model.
4. New products. The same time split with the catalogue known at the cutoff (271 products
   nobody had bought yet): the served lists (`for_you`) with the products' names and prices,
   against the same catalogue with ids only (no description to go by).

*"Online Retail" data set, D. Chen, UCI Machine Learning Repository, CC BY 4.0.*
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from implicit.cpu.als import AlternatingLeastSquares
from rich.console import Console
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).parent))
from common import ADMIN_KEY, pertinent, print_table, serving

from pertinent.recommend.cache import MemoryCache
from pertinent.recommend.catalogue import Product
from pertinent.recommend.evaluate import Split, random_split, split_at
from pertinent.recommend.interactions import Interaction, InteractionColumns, build_matrix
from pertinent.recommend.leaderboard import compare
from pertinent.recommend.metrics import score_all
from pertinent.recommend.models import MODEL_NAMES
from pertinent.recommend.models.factorization import confidence
from pertinent.recommend.report import report_table
from pertinent.recommend.retail import CUTOFF, FILE_NAME, load_retail
from pertinent.recommend.serve import RecommendationService
from pertinent.recommend.settings import RecommendationSettings
from pertinent.sim.catalogue import CATEGORIES, make_catalogue
from pertinent.sim.population import make_population

NOW = datetime(2026, 3, 1, tzinfo=UTC)
# The benchmark runs from a clone, which carries the data set (the package never assumes one).
RETAIL_FILE = Path(__file__).resolve().parents[1] / "datasets" / FILE_NAME
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
ORDER_LINES_PER_CALL = 150


def simulated_interactions(total: int, seed: int = 11) -> list[Interaction]:
    """People pick a category by their hidden taste, then a product of it by popularity;
    70% views, 20% adds to cart, 10% orders, over 60 days."""
    rng = np.random.default_rng(seed)
    n_people, n_products = max(total // 20, 10), max(total // 200, 30)
    tastes = np.asarray([p.affinity for p in make_population(rng, n_people)])
    catalogue = make_catalogue(rng, n_products)
    categories = list(CATEGORIES)
    popularity = np.minimum(rng.zipf(1.3, n_products), 1000).astype(np.float64)
    by_category = [
        np.asarray([i for i, p in enumerate(catalogue) if p.category == c]) for c in categories
    ]
    people = rng.integers(0, n_people, total)
    chosen = (tastes[people].cumsum(axis=1) > rng.random(total)[:, None]).argmax(axis=1)
    items = np.empty(total, dtype=np.int64)
    for c, members in enumerate(by_category):
        mask = chosen == c
        weights = popularity[members] / popularity[members].sum()
        items[mask] = rng.choice(members, size=int(mask.sum()), p=weights)
    kinds = rng.choice(np.asarray(["viewed", "added", "ordered"]), total, p=[0.7, 0.2, 0.1])
    seconds = rng.integers(0, 60 * 86_400, total)
    start = NOW - timedelta(days=60)
    return [
        Interaction(f"u{p}", catalogue[i].item_id, k, start + timedelta(seconds=s))
        for p, i, k, s in zip(
            people.tolist(), items.tolist(), kinds.tolist(), seconds.tolist(), strict=True
        )
    ]


def _peak_in_child(fn: Callable[[], object], pipe: Any) -> None:
    tracemalloc.start()
    fn()
    pipe.send(tracemalloc.get_traced_memory()[1] / 2**20)


def measured(fn: Callable[[], object]) -> tuple[float, float]:
    """(seconds, peak MB allocated) of `fn`. Time is taken in this process; memory in a forked
    child under tracemalloc (which sees Python's and NumPy's allocations, so freed memory the
    process already holds does not hide a peak, and the tracing does not slow the timed run)."""
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_peak_in_child, args=(fn, send))
    child.start()
    megabytes = receive.recv()
    child.join()
    return seconds, float(megabytes)


def training_rows(label: str, interactions: list[Interaction], products: dict[str, Any]) -> list:
    settings = RecommendationSettings(model="als")
    factors = settings.factors

    def ours() -> None:
        RecommendationService(settings, MemoryCache()).train(interactions, products, NOW)

    matrix = confidence(build_matrix(interactions, settings.weights, NOW).matrix, factors)

    def bare() -> None:
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=factors.factors,
                regularization=factors.regularization,
                alpha=factors.alpha,
                iterations=factors.iterations,
                random_state=factors.seed,
                num_threads=factors.threads,
            )
            model.fit(matrix, show_progress=False)

    ours_s, ours_mb = measured(ours)
    bare_s, bare_mb = measured(bare)
    users, items = matrix.shape
    return [
        (f"{label}: interactions", f"{len(interactions):,} ({users:,} people × {items:,} items)"),
        (f"{label}: Pertinent train, s / peak MB", f"{ours_s:.2f} / {ours_mb:,.0f}"),
        (f"{label}: bare implicit ALS fit, s / peak MB", f"{bare_s:.2f} / {bare_mb:,.0f}"),
        (f"{label}: speed ratio to bare implicit", f"{bare_s / ours_s:.2f}x (floor >= 0.80x)"),
    ]


def orders_file(interactions: list[Interaction], products: dict[str, Any], path: Path) -> int:
    """The real orders as Segment "Order Completed" calls, one per invoice (its lines share a
    customer and a time), written as JSON Lines for `pertinent import events`. The few
    invoices of hundreds of lines go as several calls, to stay under Segment's 32 KB."""
    invoices: dict[tuple[str, datetime], list[str]] = defaultdict(list)
    for it in interactions:
        invoices[(it.user_id, it.timestamp)].append(it.item_id)
    calls = 0
    with path.open("wb") as out:
        for n, ((user, at), items) in enumerate(sorted(invoices.items())):
            distinct = list(dict.fromkeys(items))
            for part in range(0, len(distinct), ORDER_LINES_PER_CALL):
                lines = [
                    {"product_id": i, "name": products[i].title, "price": products[i].price}
                    for i in distinct[part : part + ORDER_LINES_PER_CALL]
                ]
                call = {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": user,
                    "messageId": f"invoice-{n}-{part}",
                    "timestamp": at.isoformat(),
                    "properties": {"order_id": f"o{n}", "products": lines},
                }
                out.write(orjson.dumps(call) + b"\n")
                calls += 1
    return calls


WRK_SCRIPT = """
local users = {%s}
local i = 0
request = function()
  i = i + 1
  local path = "/v1/recommendations/" .. users[(i %% #users) + 1] .. "?n=10"
  return wrk.format("GET", path, {["Authorization"] = "Bearer %s"})
end
"""


def wrk_figures(output: str) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) from `wrk --latency` output."""
    figures: dict[str, float] = {}
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for line in output.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            figures["rps"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            number = parts[1].rstrip("usm")
            figures[parts[0]] = float(number) * units[parts[1][len(number) :]]
        elif line.startswith("Non-2xx"):
            raise RuntimeError(f"failed requests: {line}")
    return figures


def serving_rows(
    interactions: list[Interaction], products: dict[str, Any], connections: int, seconds: int
) -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ws = folder / "ws"
        pertinent("init", str(ws))
        settings = ws / "pertinent.yaml"
        # Cache off: every request below computes its answer.
        settings.write_text(
            settings.read_text().replace("cache: {type: memory}", "cache: {type: memory, size: 0}")
        )
        orders = orders_file(interactions, products, folder / "orders.jsonl")
        pertinent("import", "events", str(folder / "orders.jsonl"), "--workspace", str(ws))
        pertinent("process", "--until-idle", "--workspace", str(ws))
        users = sorted({i.user_id for i in interactions})
        script = folder / "users.lua"
        script.write_text(WRK_SCRIPT % (",".join(f'"{u}"' for u in users), ADMIN_KEY))
        with serving(ws) as base:
            trained = httpx.post(f"{base}/v1/recommendations/train", headers=ADMIN, timeout=600)
            trained.raise_for_status()
            sample = httpx.get(f"{base}/v1/recommendations/{users[0]}", headers=ADMIN).json()
            if not sample["items"]:
                raise RuntimeError(f"no recommendations for {users[0]}: {sample}")
            load_options = [f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script)]
            load = subprocess.run(
                ["wrk", "-t2", *load_options, base],
                check=True,
                capture_output=True,
                text=True,
            )
    model = trained.json()
    figures = wrk_figures(load.stdout)
    return [
        (
            "serving: data",
            f"{orders:,} real order calls → {model['model']} on {model['users']:,} people × "
            f"{model['items']:,} items",
        ),
        (
            "serving: auto's selection on the real shop",
            f"{model['selection_seconds']:.1f} s (budget {settings_budget():g} s), then "
            f"{model['seconds'] - model['selection_seconds']:.1f} s to train {model['model']}",
        ),
        ("serving: load", f"wrk, {connections} connections, {seconds}s, cache off"),
        ("serving: recommendations/s", f"{figures['rps']:,.0f} (floor >= 1,000)"),
        (
            "serving: p50 / p99",
            f"{figures['50%']:.1f} / {figures['99%']:.1f} ms (floor p99 <= 20)",
        ),
    ]


def settings_budget() -> float:
    return RecommendationSettings().auto.budget_seconds


def quality(split: Split, console: Console) -> str:
    names = ["auto", *(m for m in MODEL_NAMES if m not in ("popular", "trending"))]
    rows = compare(split, names, 10)
    console.print(report_table(rows, split))
    auto = next(r for r in rows if r.model == "auto")
    best = max((r for r in rows if r.model != "auto"), key=lambda r: r.scores.ndcg)
    popular = next(r for r in rows if r.model == "popular")
    return (
        f"{split.description}: best model {best.model} {best.scores.ndcg:.4f}, "
        f"{best.scores.ndcg / popular.scores.ndcg:.2f}x popularity (floor >= 1.5x); "
        f"auto {auto.scores.ndcg:.4f} = {auto.scores.ndcg / best.scores.ndcg:.3f}x the best "
        "(floor >= 0.98x)"
    )


def new_product_rows(retail: list[Interaction], catalogue: dict[str, Any]) -> list[tuple[str, str]]:
    """Served lists for each customer after the cutoff, new products in the catalogue: with
    their names and prices, and with ids only."""
    before = [i for i in retail if i.timestamp < CUTOFF]
    bought: dict[str, set[str]] = defaultdict(set)
    for it in before:
        bought[it.user_id].add(it.item_id)
    later: dict[str, set[str]] = defaultdict(set)
    for it in retail:
        if it.timestamp >= CUTOFF and it.user_id in bought and it.item_id not in bought[it.user_id]:
            later[it.user_id].add(it.item_id)
    new = set(catalogue) - {it.item_id for it in before}
    ids = {item: n for n, item in enumerate(catalogue)}
    relevant = {n: {ids[i] for i in later[user]} for n, user in enumerate(sorted(later))}
    rows = [
        ("new products: customers, products nobody had bought", f"{len(relevant):,}, {len(new)}")
    ]
    described = {k: Product(item_id=k, title=p.title, price=p.price) for k, p in catalogue.items()}
    bare = {k: Product(item_id=k) for k in catalogue}
    for label, products in (("ids only", bare), ("names and prices", described)):
        settings = RecommendationSettings(model="ease", cache={"size": 0})
        service = RecommendationService(settings, MemoryCache(0))
        service.train(before, products, CUTOFF)
        lists = {
            n: [ids[r.item_id] for r in service.for_you(user, 10, now=CUTOFF).items]
            for n, user in enumerate(sorted(later))
        }
        scores = score_all(lists, relevant, 10, len(catalogue))
        shown = sum(len(set(found) & new) for found in lists.values())
        rows.append(
            (
                f"new products: ease, catalogue with {label}",
                f"nDCG@10 {scores.ndcg:.4f}, hit rate {scores.hit_rate:.3f}, "
                f"{shown / (10 * len(lists)):.1%} of list places new products",
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=10, help="serving load duration")
    parser.add_argument("--quick", action="store_true", help="200k simulated interactions")
    args = parser.parse_args()
    total = 200_000 if args.quick else args.interactions
    console = Console(width=160)
    retail, catalogue = load_retail(RETAIL_FILE)

    rows = training_rows("simulated", simulated_interactions(total), {})
    rows += training_rows("real shop", retail, {})
    rows += serving_rows(retail, catalogue, args.connections, 3 if args.quick else args.seconds)
    rows += new_product_rows(retail, catalogue)
    print_table("Recommendations: training, serving, new products", rows)

    weights = RecommendationSettings().weights
    columns = InteractionColumns.of(retail)
    latest = max(i.timestamp for i in retail)
    verdicts = [
        quality(split_at(columns, CUTOFF, weights), console),
        quality(random_split(columns, weights, latest), console),
    ]
    for verdict in verdicts:
        console.print(verdict)


if __name__ == "__main__":
    main()
