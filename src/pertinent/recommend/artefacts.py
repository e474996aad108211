"""Trained models shared between processes through the store.

The process that trains (the processor on its schedule, or the API on `POST
/v1/recommendations/train`) publishes the serving snapshot as a versioned artefact; every
process polls for a newer version and loads it, so the API serves what the processor
trained. Erasures travel the same way: an erased person is recorded, each process makes its
loaded model forget them at its next poll, and a model trained from data read before an
erasure forgets them before it is published. An erasure is recorded by a hash of the
person's id (`erasure_key`), never the id itself, and the stored models are published again
without them (`scrub`): the store keeps nothing that names them.

Artefacts are pickles: only Pertinent's own processes write them, into a store that anyone
who could write them already controls.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from collections.abc import Collection
from dataclasses import replace
from datetime import datetime, timedelta

from pertinent.clock import Clock
from pertinent.recommend.evaluate import Progress
from pertinent.recommend.interactions import EVENT_KINDS
from pertinent.recommend.serve import RecommendationService, TrainResult, without_person
from pertinent.recommend.source import interactions_from_actions
from pertinent.storage.ports import Artefact, Storage

ARTEFACT = "recommendations"
# The shape of the pickled snapshot; raised whenever `Snapshot` changes, so a process never
# loads a model an older version of Pertinent published (it is retrained instead).
SNAPSHOT_FORMAT = 2
KEEP_VERSIONS = 2
log = logging.getLogger("pertinent.recommend")


def erasure_key(profile_id: str) -> str:
    """What an erasure record keeps of the erased: a hash, which a model compares with the
    hashes of its own users to find them."""
    return hashlib.blake2b(
        profile_id.encode(), person=b"pertinent-erase", digest_size=16
    ).hexdigest()


def _current(artefact: Artefact) -> bool:
    """Whether this version of Pertinent can load the artefact's snapshot."""
    return artefact.meta.get("format") == SNAPSHOT_FORMAT


class ModelSync:
    """Keeps one process's `RecommendationService` on the newest published model."""

    def __init__(
        self,
        storage: Storage,
        service: RecommendationService,
        clock: Clock,
        retrain_every: timedelta | None,
    ):
        self._storage = storage
        self._service = service
        self._clock = clock
        self._retrain_every = retrain_every
        self._version = 0
        self._mark = 0  # the last erasure the loaded model has forgotten
        self._lock = threading.Lock()

    def train(self, progress: Progress | None = None) -> TrainResult:
        """Train on the whole log and the catalogue, publish, and serve the result here.

        Under `model: auto`, the comparison of candidates runs first, on its own read of the
        log and outside the locks (it takes minutes on a big shop, and neither erasures nor
        this process's polls wait for it); the chosen model then trains as any model does.
        The artefact carries the leaderboard."""
        selection = None
        if self._service.settings.model == "auto":
            self.poll()  # the model published last is the one to keep unless clearly beaten
            with self._storage.snapshot() as tx:
                rows = tx.profiles.actions(list(EVENT_KINDS))
            selection = self._service.select(
                interactions_from_actions(rows), self._clock.now(), progress
            )
        with self._lock, self._service.exclusive():
            with self._storage.snapshot() as tx:
                rows = tx.profiles.actions(list(EVENT_KINDS))
                products = tx.products.all()
                erased = tx.artefacts.erasures_after(0)
            mark = erased[-1][0] if erased else 0
            now = self._clock.now()
            result = self._service.train(
                interactions_from_actions(rows), products, now, selection=selection
            )
            with self._storage.transaction() as tx:
                # Whoever was erased while this model trained must not be in it.
                erased = tx.artefacts.erasures_after(mark)
                self._forget({key for _, key in erased})
                mark = erased[-1][0] if erased else mark
                facts = {k: v for k, v in result.__dict__.items() if k != "version"}
                meta = {
                    "format": SNAPSHOT_FORMAT,
                    "mark": mark,
                    "trained_at": now.timestamp(),
                    **facts,
                    "selection": selection.as_dict() if selection else None,
                }
                snapshot = self._service.current
                version = tx.artefacts.put(ARTEFACT, pickle.dumps(snapshot), meta, now)
                tx.artefacts.prune(ARTEFACT, KEEP_VERSIONS)
                tx.artefacts.forget_erasures(mark)
            self._service.install(replace(snapshot, version=version))
            self._version, self._mark = version, mark
            return replace(result, version=version)

    def poll(self) -> bool:
        """Load a newer published model and forget newly erased people; True if it changed."""
        with self._lock:
            with self._storage.snapshot() as tx:
                latest = tx.artefacts.latest(ARTEFACT)
                blob = (
                    tx.artefacts.blob(ARTEFACT, latest.version)
                    if latest is not None and latest.version > self._version and _current(latest)
                    else None
                )
                changed = False
                if latest is not None and blob is not None:
                    snapshot = pickle.loads(blob)
                    self._service.install(replace(snapshot, version=latest.version))
                    self._version, self._mark = latest.version, int(latest.meta.get("mark", 0))
                    changed = True
                erased = tx.artefacts.erasures_after(self._mark)
            self._forget({key for _, key in erased})
            if erased:
                self._mark = erased[-1][0]
            return changed or bool(erased)

    def _forget(self, keys: set[str]) -> None:
        """Make the served model forget the people erased under these keys."""
        if not keys:
            return
        for user in self._service.current.data.users:
            if user and erasure_key(user) in keys:
                self._service.forget_user(user)

    def scrub(self, profile_id: str, products: Collection[str], now: datetime) -> None:
        """Publish the newest stored model again without the person (and the catalogue rows
        they described), in place of every stored version, all of which learned from them."""
        with self._lock:
            with self._storage.transaction() as tx:
                latest = tx.artefacts.latest(ARTEFACT)
                if latest is not None and not _current(latest):
                    # An older Pertinent's model cannot be cleaned here: it goes, and the
                    # next training replaces it.
                    tx.artefacts.prune(ARTEFACT, 0)
                    return
                blob = tx.artefacts.blob(ARTEFACT, latest.version) if latest else None
                if latest is None or blob is None:
                    return
                clean = without_person(pickle.loads(blob), profile_id, products)
                version = tx.artefacts.put(ARTEFACT, pickle.dumps(clean), latest.meta, now)
                tx.artefacts.prune(ARTEFACT, 1)
            if version > self._version:
                self._service.install(replace(clean, version=version))
                self._version = version

    def published(self) -> Artefact | None:
        """What the newest published model's artefact says of it (model, when trained, the
        leaderboard under auto), without loading it."""
        with self._storage.snapshot() as tx:
            return tx.artefacts.latest(ARTEFACT)

    def retrain_due(self) -> bool:
        """No model yet, or the newest is older than the schedule (by the clock, so simulated
        time retrains on the simulated schedule)."""
        latest = self.published()
        if latest is None or not _current(latest):
            return True
        if self._retrain_every is None:
            return False
        trained_at = latest.meta.get("trained_at")
        return trained_at is None or self._clock.now().timestamp() - float(trained_at) >= (
            self._retrain_every.total_seconds()
        )
