"""Email templates as folders: `templates/<name>/` with

- `subject.liquid`  the subject line (required)
- `preheader.liquid`  the inbox preview line (optional)
- `body.mjml` or `body.html`  the body, Liquid inside (one of them required)
- `text.liquid`  the plain-text part (optional; derived from the HTML otherwise)
- `template.yaml`  settings (optional): `category` (marketing or transactional) and the
  consent `topic` a marketing email belongs to

Liquid is parsed once per template and file version; missing variables render empty, and the
`default` filter gives fallbacks, so missing data never breaks an email.

The body is parsed with autoescape on: a person's data (a trait like `<b>Carol</b>`, a product
name with `&`) is output as text, so it can neither inject markup into the mail viewer nor
break the MJML structure. String literals in the template (`default: "friend"`) and the
`escape` filter are markup-safe, so nothing is escaped twice. The subject, preheader and text
part are plain text and parsed without autoescape; whoever puts them into HTML escapes them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml
from liquid import BoundTemplate, CachingFileSystemLoader, Environment
from liquid.exceptions import LiquidError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pertinent.content.filters import register_filters
from pertinent.errors import TemplateError


class TemplateSettings(BaseModel):
    """`template.yaml`. A marketing email goes only to people opted in to its topic (and not
    unsubscribed from everything); a transactional one (a receipt, a confirmation) is not a
    matter of consent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Literal["marketing", "transactional"] = "marketing"
    topic: str | None = Field(default=None, min_length=1)


@dataclass(frozen=True)
class EmailTemplate:
    name: str
    subject: BoundTemplate
    body: BoundTemplate
    is_mjml: bool
    preheader: BoundTemplate | None = None
    text: BoundTemplate | None = None
    settings: TemplateSettings = field(default_factory=TemplateSettings)


def make_environment(root: Path, *, autoescape: bool) -> Environment:
    """A Liquid environment for one workspace; `autoescape` for parts that are HTML."""
    env = Environment(loader=CachingFileSystemLoader(root), autoescape=autoescape)
    register_filters(env)
    return env


def _parse(env: Environment, path: Path) -> BoundTemplate:
    try:
        return env.from_string(path.read_text(encoding="utf-8"), name=str(path))
    except LiquidError as exc:
        raise TemplateError(
            str(exc).strip(), where=str(path), hint="fix the Liquid syntax at the line shown"
        ) from exc
    except OSError as exc:
        raise TemplateError(f"cannot read: {exc.strerror}", where=str(path)) from exc


def _settings(path: Path | None) -> TemplateSettings:
    if path is None:
        return TemplateSettings()
    try:
        return TemplateSettings.model_validate(yaml.safe_load(path.read_text("utf-8")) or {})
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read: {exc}", where=str(path)) from exc
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise TemplateError(f"{key}: {first['msg']}", where=str(path)) from exc


class TemplateLibrary:
    """The templates of a workspace, parsed on first use and re-parsed when a file changes."""

    def __init__(self, root: Path):
        self.root = root
        self._text_env = make_environment(root, autoescape=False)
        self._html_env = make_environment(root, autoescape=True)
        self._cache: dict[str, tuple[tuple[float, ...], EmailTemplate]] = {}
        self._lock = threading.Lock()

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "subject.liquid").is_file())

    def _files(self, name: str) -> dict[str, Path]:
        folder = self.root / name
        return {p.name: p for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}

    def get(self, name: str) -> EmailTemplate:
        files = self._files(name)
        stamp = tuple(sorted(p.stat().st_mtime for p in files.values()))
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        template = self._load(name, files)
        with self._lock:
            self._cache[name] = (stamp, template)
        return template

    def _load(self, name: str, files: dict[str, Path]) -> EmailTemplate:
        where = str(self.root / name)
        if "subject.liquid" not in files:
            raise TemplateError(
                f"no template {name!r} (a folder with subject.liquid)",
                where=where,
                hint=f"templates here: {', '.join(self.names())}",
            )
        body = files.get("body.mjml") or files.get("body.html")
        if body is None:
            raise TemplateError("needs body.mjml or body.html", where=where)
        optional = {
            k: _parse(self._text_env, files[f"{k}.liquid"])
            for k in ("preheader", "text")
            if f"{k}.liquid" in files
        }
        return EmailTemplate(
            name=name,
            subject=_parse(self._text_env, files["subject.liquid"]),
            body=_parse(self._html_env, body),
            is_mjml=body.suffix == ".mjml",
            settings=_settings(files.get("template.yaml")),
            **optional,
        )
