"""A model trained in one process serves in another: through artefacts in the store, and
erasures that reach every loaded model."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import START
from synthetic_tastes import GROUP_ITEMS
from typer.testing import CliRunner

from pertinent.app import System, build_system
from pertinent.cli import app
from pertinent.clock import SimClock
from pertinent.config import load_workspace
from pertinent.privacy.erase import erase_person
from pertinent.recommend.artefacts import ARTEFACT
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


def _shop(system: System, people: int = 16) -> None:
    events = []
    for index in range(people):
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
    picks = api.recommendations.for_you("a-0", 2, now=START).items
    assert [r.item_id for r in picks] == [
        r.item_id for r in processor.recommendations.for_you("a-0", 2, now=START).items
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


def test_the_artefact_carries_autos_leaderboard_and_keeps_the_date_of_a_kept_choice(
    two_processes: tuple[System, System], tmp_path: Path
) -> None:
    processor, api = two_processes
    _shop(processor, people=40)
    processor.processor.run_until_idle()
    first = processor.train_recommendations()
    assert first.configured == "auto"
    published = processor.models.published()
    assert published is not None
    selection = published.meta["selection"]
    assert selection["model"] == first.model == published.meta["model"]
    assert len(selection["leaderboard"]) >= 5
    assert {row["status"] for row in selection["leaderboard"]} == {"measured"}

    assert api.models.poll()
    served = api.recommendations.current.selection
    assert served is not None and served.chosen.label == selection["chosen"]

    later = START + timedelta(hours=2)
    assert isinstance(processor.clock, SimClock)
    processor.clock.set(later)
    processor.train_recommendations()
    again = processor.recommendations.current.selection
    assert again is not None and again.evaluated_at == later
    assert again.chosen.label == selection["chosen"] and again.chosen_at == START, "kept"

    status = CliRunner().invoke(app, ["recommend", "status", "--workspace", str(tmp_path / "ws")])
    assert status.exit_code == 0, status.output
    assert f"serving {first.model}" in status.output and "configured: auto" in status.output
    assert f"auto chose {selection['chosen']}" in status.output


def test_a_model_an_older_version_published_is_retrained_not_loaded(
    two_processes: tuple[System, System],
) -> None:
    processor, api = two_processes
    with processor.storage.transaction() as tx:
        tx.artefacts.put(ARTEFACT, b"a pickle of another shape", {"trained_at": 0.0}, START)
    assert not api.models.poll(), "never unpickled"
    assert api.recommendations.current.version == 0
    assert processor.models.retrain_due()
    _shop(processor)
    processor.processor.run_until_idle()
    trained = processor.train_recommendations()
    assert api.models.poll() and api.recommendations.current.version == trained.version


def test_a_fresh_process_keeps_the_choice_it_finds_published(
    two_processes: tuple[System, System],
) -> None:
    """`pertinent recommend train` starts with nothing loaded: the published model's choice
    is still the one to beat."""
    processor, api = two_processes
    _shop(processor, people=40)
    processor.processor.run_until_idle()
    processor.train_recommendations()
    first = processor.recommendations.current.selection
    assert first is not None and api.recommendations.current.selection is None
    assert isinstance(api.clock, SimClock)
    api.clock.set(START + timedelta(hours=1))
    api.train_recommendations()
    again = api.recommendations.current.selection
    assert again is not None and again.chosen == first.chosen and again.chosen_at == START
