"""The workspace: `pertinent.yaml`, `segments/*.yaml`, `journeys/*.yaml`, `templates/`.

Every file is validated strictly (unknown keys are errors) and every error names the file, the
key path and what is expected. `${VAR}` and `${VAR:-default}` in pertinent.yaml read the
environment, so secrets stay out of the folder; a few PERTINENT_* variables override directly.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pertinent.delivery.settings import DeliverySettings
from pertinent.errors import ConfigError
from pertinent.experiments.settings import ExperimentSettings
from pertinent.journeys.model import JourneyDefinition
from pertinent.recommend.settings import RecommendationSettings
from pertinent.segments.language import SegmentDefinition

CONFIG_FILE = "pertinent.yaml"
_ENV = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StorageSettings(_Strict):
    url: str = "sqlite:///pertinent.db"


class ServerSettings(_Strict):
    # None: the address `pertinent serve` listens on (--host, --port).
    base_url: str | None = None


class KeySettings(_Strict):
    write: list[str] = Field(default_factory=list)
    admin: list[str] = Field(default_factory=list)


class SmtpSection(_Strict):
    url: str = "smtp://127.0.0.1:2525"
    sender: str = Field(default="Pertinent <hello@example.com>", alias="from")
    timeout_seconds: float = Field(
        default=30, gt=0, le=600, description="give up on a server that does not answer"
    )
    retry_seconds: float = Field(
        default=30, gt=0, le=3600, description="first retry after this; doubles, up to an hour"
    )


class ProcessorSettings(_Strict):
    # A batch is one write transaction: its size bounds how long ingestion can wait for
    # SQLite's one writer, and amortizes each query over more events.
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    poll_interval_seconds: float = Field(default=0.02, gt=0, le=60)
    partitions: int = Field(
        default=1, ge=1, le=1024, description="shares of the log that processors divide"
    )
    lease_seconds: float = Field(
        default=10, ge=1, le=600, description="a dead processor's partitions pass on after this"
    )


class IngestSettings(_Strict):
    future_tolerance_hours: float = Field(
        default=24,
        ge=0,
        le=8760,
        description="an event time further ahead of its arrival is set to the arrival, flagged",
    )


class Settings(_Strict):
    storage: StorageSettings = Field(default_factory=StorageSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    keys: KeySettings = Field(default_factory=KeySettings)
    secret: str = Field(min_length=16)
    smtp: SmtpSection = Field(default_factory=SmtpSection)
    processor: ProcessorSettings = Field(default_factory=ProcessorSettings)
    recommendations: RecommendationSettings = Field(default_factory=RecommendationSettings)
    experiments: ExperimentSettings = Field(default_factory=ExperimentSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: Settings
    segments: list[SegmentDefinition]
    journeys: list[JourneyDefinition]

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates"

    def database_url(self) -> str:
        """The storage URL, with a relative SQLite path taken from the workspace folder."""
        url = os.environ.get("PERTINENT_DATABASE_URL") or self.settings.storage.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str((self.root / url[len(prefix) :]).resolve())
        return url


def _expand_env(text: str, path: Path) -> str:
    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        value = os.environ.get(name, default)
        if value is None:
            raise ConfigError(
                f"environment variable {name} is not set",
                where=str(path),
                hint=f"set {name} or write ${{{name}:-default}}",
            )
        return value

    return _ENV.sub(sub, text)


def _expand_tree(data: Any, path: Path) -> Any:
    """Expand ${VAR} in string values only (comments and keys are left alone)."""
    if isinstance(data, str):
        return _expand_env(data, path)
    if isinstance(data, dict):
        return {k: _expand_tree(v, path) for k, v in data.items()}
    if isinstance(data, list):
        return [_expand_tree(v, path) for v in data]
    return data


def _read_yaml(path: Path, *, expand_env: bool = False) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", where=str(path)) from exc
    try:
        data = yaml.safe_load(text) or {}
        return _expand_tree(data, path) if expand_env else data
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"not valid YAML: {getattr(exc, 'problem', exc)}", where=where) from exc


M = TypeVar("M", bound=BaseModel)


def validate_file(model: type[M], data: Any, path: Path) -> M:
    """Validate `data` read from `path`; the first error names its key path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False)[:5]:
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see docs/configuration.md)"
            problems.append(f"{loc}: {msg}")
        raise ConfigError("; ".join(problems), where=str(path)) from None


def _load_all(folder: Path, model: type[M]) -> list[M]:
    if not folder.is_dir():
        return []
    items = []
    for path in sorted(folder.glob("*.y*ml")):
        items.append(validate_file(model, _read_yaml(path), path))
    return items


def _apply_overrides(settings: Settings) -> Settings:
    if url := os.environ.get("PERTINENT_SMTP_URL"):
        settings.smtp.url = url
    if key := os.environ.get("PERTINENT_WRITE_KEY"):
        settings.keys.write.append(key)
    if key := os.environ.get("PERTINENT_ADMIN_KEY"):
        settings.keys.admin.append(key)
    if url := os.environ.get("PERTINENT_BASE_URL"):
        settings.server.base_url = url
    return settings


def load_workspace(root: Path) -> Workspace:
    """Read and validate a whole workspace folder."""
    root = root.resolve()
    config_path = root / CONFIG_FILE
    if not config_path.is_file():
        raise ConfigError(
            f"no {CONFIG_FILE} here",
            where=str(root),
            hint="run `pertinent init DIR` to create a workspace",
        )
    settings = _apply_overrides(
        validate_file(Settings, _read_yaml(config_path, expand_env=True), config_path)
    )
    segments = _load_all(root / "segments", SegmentDefinition)
    journeys = _load_all(root / "journeys", JourneyDefinition)
    _unique([s.key for s in segments], root / "segments", "segment")
    _unique([j.key for j in journeys], root / "journeys", "journey")
    return Workspace(root, settings, segments, journeys)


def _unique(keys: list[str], where: Path, what: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ConfigError(f"two {what}s have the key {key!r}", where=str(where))
        seen.add(key)
