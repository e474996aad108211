"""The workspace: `pertinent.yaml`, `segments/*.yaml`, `journeys/*.yaml`, `templates/`.

Every file is validated strictly (unknown keys are errors) and every error names the file, the
key path and what is expected. `${VAR}` and `${VAR:-default}` in pertinent.yaml read the
environment, so secrets stay out of the folder; a few PERTINENT_* variables override directly.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from pertinent.content.settings import ContentSettings
from pertinent.delivery.settings import DeliverySettings
from pertinent.errors import ConfigError
from pertinent.experiments.settings import ExperimentSettings
from pertinent.journeys.model import JourneyDefinition
from pertinent.journeys.settings import JourneySettings
from pertinent.privacy.settings import ConsentSettings
from pertinent.profiles.settings import ProfileSettings
from pertinent.recommend.settings import RecommendationSettings
from pertinent.segments.guard import SegmentSettings
from pertinent.segments.language import SegmentDefinition
from pertinent.tracking.settings import EngagementSettings

CONFIG_FILE = "pertinent.yaml"
_ENV = re.compile(r"\$\{([A-Z0-9_]+)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StorageSettings(_Strict):
    url: str = "sqlite:///pertinent.db"


class ServerSettings(_Strict):
    # None: the address `pertinent serve` listens on (--host, --port).
    base_url: str | None = None


# Which side of the shop a write key lives on. A browser key ships in JavaScript, so whoever
# reads the page can send with it: its events describe people, never the shared catalogue.
WriteSide = Literal["browser", "server"]
_KEY_HASH = r"^sha256:[0-9a-f]{64}$"
# The well-known keys of `pertinent demo`, which serves them on 127.0.0.1 only.
DEMO_WRITE_KEY = "demo-write-key"
DEMO_ADMIN_KEY = "demo-admin-key"


def key_hash(key: str) -> str:
    """How a key is stored: its SHA-256. Keys are 256 random bits, so a fast hash is as
    good as a slow one, and checking a request costs one hash."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _hashed_only(value: Any) -> Any:
    if isinstance(value, str):
        if re.fullmatch(_KEY_HASH, value):
            return {"hash": value}
        raise ValueError(
            "keys are stored hashed: write {hash: sha256:…} (`pertinent keys new` makes a key "
            "and its entry), or set PERTINENT_WRITE_KEY / PERTINENT_SERVER_KEY / "
            "PERTINENT_ADMIN_KEY"
        )
    return value


class WriteKey(_Strict):
    hash: str = Field(pattern=_KEY_HASH)
    side: WriteSide = "browser"
    name: str = ""


class AdminKey(_Strict):
    hash: str = Field(pattern=_KEY_HASH)
    name: str = ""


class KeySettings(_Strict):
    write: list[Annotated[WriteKey, BeforeValidator(_hashed_only)]] = Field(default_factory=list)
    admin: list[Annotated[AdminKey, BeforeValidator(_hashed_only)]] = Field(default_factory=list)

    @classmethod
    def demo(cls) -> KeySettings:
        """The demo's keys (its replay writes the catalogue, as a shop's server does)."""
        return cls(
            write=[WriteKey(hash=key_hash(DEMO_WRITE_KEY), side="server", name="demo")],
            admin=[AdminKey(hash=key_hash(DEMO_ADMIN_KEY), name="demo")],
        )

    def has_demo_keys(self) -> bool:
        demo = {key_hash(DEMO_WRITE_KEY), key_hash(DEMO_ADMIN_KEY)}
        return any(k.hash in demo for k in self.write) or any(k.hash in demo for k in self.admin)


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
    content: ContentSettings = Field(default_factory=ContentSettings)
    engagement: EngagementSettings = Field(default_factory=EngagementSettings)
    consent: ConsentSettings = Field(default_factory=ConsentSettings)
    segments: SegmentSettings = Field(default_factory=SegmentSettings)
    profiles: ProfileSettings = Field(default_factory=ProfileSettings)
    experiments: ExperimentSettings = Field(default_factory=ExperimentSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    journeys: JourneySettings = Field(default_factory=JourneySettings)
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
    _override_keys(settings.keys)
    if url := os.environ.get("PERTINENT_BASE_URL"):
        settings.server.base_url = url
    return settings


def _override_keys(keys: KeySettings) -> None:
    """A key from the environment replaces the file's keys of its kind (so a documented or
    leaked key in the file stops working the moment the operator sets their own)."""
    sides: tuple[tuple[str, WriteSide], ...] = (
        ("PERTINENT_WRITE_KEY", "browser"),
        ("PERTINENT_SERVER_KEY", "server"),
    )
    for variable, side in sides:
        if key := os.environ.get(variable):
            keys.write = [k for k in keys.write if k.side != side]
            keys.write.append(WriteKey(hash=key_hash(key), side=side, name=variable))
    if key := os.environ.get("PERTINENT_ADMIN_KEY"):
        keys.admin = [AdminKey(hash=key_hash(key), name="PERTINENT_ADMIN_KEY")]


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
