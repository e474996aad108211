"""Models side by side on one split: what `pertinent recommend evaluate` and the benchmark
print. `auto` is one of the rows: it selects on the training side of the split alone (its own
holdout inside it, as it would in production), then its choice is scored like every model."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pertinent.recommend.choice import configured
from pertinent.recommend.evaluate import Progress, Split, measure, nobody_to_evaluate
from pertinent.recommend.metrics import Scores
from pertinent.recommend.select import select_model
from pertinent.recommend.settings import RecommendationSettings


@dataclass(frozen=True)
class ReportRow:
    model: str
    k: int
    scores: Scores
    seconds: float
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "k": self.k,
            "seconds": self.seconds,
            "note": self.note,
            **asdict(self.scores),
        }


def compare(
    split: Split,
    model_names: list[str],
    k: int = 10,
    *,
    settings: RecommendationSettings | None = None,
    progress: Progress | None = None,
) -> list[ReportRow]:
    """Every named model (popularity always included) on the split, best nDCG first, each
    with the given (workspace) settings or the defaults. `seconds` is training and ranking;
    for `auto` it includes the selection."""
    settings = settings or RecommendationSettings()
    names = list(dict.fromkeys([*model_names, "popular"]))
    fixed = {name: configured(settings, name) for name in names if name != "auto"}
    people = split.people()
    if not people:
        raise nobody_to_evaluate(split)
    rows = []
    for done, name in enumerate(names):
        if progress is not None:
            progress("models", done, len(names), name)
        note, selecting = "", 0.0
        if name == "auto":
            selection = select_model(split.columns, settings, split.now, progress=progress)
            choice, selecting = selection.chosen, selection.seconds
            note = f"chose {choice.label} ({selection.reason}; {selection.holdout})"
        else:
            choice = fixed[name]
        scores, seconds = measure(choice.build(), split.matrix(choice.weights), split, people, k)
        rows.append(ReportRow(name, k, scores, seconds + selecting, note))
    if progress is not None:
        progress("models", len(names), len(names), "done")
    return sorted(rows, key=lambda r: -r.scores.ndcg)
