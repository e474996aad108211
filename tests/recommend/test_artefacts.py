"""A model trained in one process serves in another: through artefacts in the store, and
erasures that reach every loaded model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import START
from synthetic_tastes import GROUP_ITEMS

from pertinent.app import System, build_system
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.privacy.erase import erase_person
from pertinent.scaffold import write_example_workspace


@pytest.fixture
def two_processes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[System, System]]:
    """A "processor" and an "API" system on one database, as `serve` runs them."""
    root = tmp_path / "ws"
    write_example_workspace(root)
    monkeypatch.setenv("PERTINENT_SMTP_URL", "smtp://127.0.0.1:1")
    clock = SimClock(START)
    processor = build_system(load_workspace(root), clock=clock)
    api = build_system(load_workspace(root), clock=clock)
    yield processor, api
    processor.close()
    api.close()


def _knows(system: System, person: str) -> bool:
    """Whether the loaded model holds interactions of the person (forgetting empties the row)."""
    data = system.recommendations.current.data
    row = data.user_index.get(person)
    return row is not None and data.matrix[row].nnz > 0


def _shop(system: System) -> None:
    events = []
    for index in range(16):
        group = "a" if index % 2 == 0 else "b"
        for item in GROUP_ITEMS[group][index % 4 : index % 4 + 5]:
            events.append(
                {
                    "type": "track",
                    "event": "Order Completed",
                    "userId": f"{group}-{index}",
                    "properties": {"products": [{"product_id": item, "category": f"cat-{group}"}]},
                }
            )
    assert system.ingestor.ingest(events).rejections == []


def test_the_api_serves_what_the_processor_trained_and_both_forget_the_erased(
    two_processes: tuple[System, System],
) -> None:
    processor, api = two_processes
    _shop(processor)
    processor.processor.run_until_idle()
    trained = processor.train_recommendations()
    assert trained.users == 16

    assert api.recommendations.current.version == 0, "nothing loaded yet"
    assert api.models.poll()
    assert api.recommendations.current.version == trained.version
    picks = api.recommendations.for_you("a-0", 2, now=START)  # the example caps 2 a category
    assert [r.item_id for r in picks] == [
        r.item_id for r in processor.recommendations.for_you("a-0", 2, now=START)
    ]
    assert all(r.item_id.startswith("a") for r in picks), "the model learned the tastes"
    assert not api.models.poll(), "nothing new to load"

    erase_person(api.storage, api.recommendations, api.models, "a-0", START)
    assert not _knows(api, "a-0"), "forgotten here at once"
    assert _knows(processor, "a-0")
    assert processor.models.poll()
    assert not _knows(processor, "a-0"), "and there at its poll"

    retrained = processor.train_recommendations()
    assert api.models.poll()
    assert api.recommendations.current.version == retrained.version > trained.version
    assert not _knows(api, "a-0")
    assert _knows(api, "a-2")
