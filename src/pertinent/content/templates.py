"""Email templates as folders: `templates/<name>/` with

- `subject.liquid`  the subject line (required)
- `preheader.liquid`  the inbox preview line (optional)
- `body.mjml` or `body.html`  the body, Liquid inside (one of them required)
- `text.liquid`  the plain-text part (optional; derived from the HTML otherwise)
- `template.yaml`  settings (optional): `category` (marketing or transactional) and the
  consent `topic` a marketing email belongs to

and shared pieces (a header, a footer) in `templates/_partials/<name>.mjml|.html|.liquid`,
used as `{% include "footer" %}` or `{% render "footer" %}`. A partial named this way is
spliced into the body before conversion, so it may hold MJML elements; one given arguments
(`{% render "card" with p %}`) is rendered by Liquid per email.

Every file is parsed on its own first, so a syntax error names its file, line and column.
A template is loaded once per version of its files: Liquid parsed, the body converted once
(`mjml.py`; per email where its Liquid does not allow that), the URLs its author wrote
collected for the link rules. Missing variables render empty, and the `default` filter gives
fallbacks, so missing data never breaks an email.

The body is parsed with autoescape on: a person's data (a trait like `<b>Carol</b>`, a product
name with `&`) is output as text, so it can neither inject markup into the mail viewer nor
break the MJML structure. String literals in the template (`default: "friend"`) and the
`escape` filter are markup-safe, so nothing is escaped twice. The subject, preheader and text
part are plain text and parsed without autoescape; whoever puts them into HTML escapes them.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from liquid import BoundTemplate, Environment
from liquid.exceptions import LiquidError, TemplateNotFoundError
from liquid.loader import BaseLoader, TemplateSource
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pertinent.content.derive import Marks
from pertinent.content.filters import register_filters
from pertinent.content.links import WrittenUrls
from pertinent.content.mjml import Compiled, PerEmailBody, compile_body
from pertinent.content.settings import ContentSettings
from pertinent.content.shape import OPENERS, blocks, liquid_tags
from pertinent.errors import TemplateError
from pertinent.journeys.timing import UTC_ZONE

PARTIALS = "_partials"
_PARTIAL_SUFFIXES = ("", ".mjml", ".html", ".liquid")
_SPLICED = re.compile(r"""\{%-?\s*(?:include|render)\s+(["'])([\w./-]+)\1\s*-?%\}""")
_MAX_DEPTH = 8


class TemplateSettings(BaseModel):
    """`template.yaml`. A marketing email goes only to people opted in to its topic (and not
    unsubscribed from everything); a transactional one (a receipt, a confirmation) is not a
    matter of consent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Literal["marketing", "transactional"] = "marketing"
    topic: str | None = Field(default=None, min_length=1)


@dataclass(frozen=True)
class CompiledBody:
    """A body converted once: Liquid for the HTML, the text part marked inside."""

    html: BoundTemplate
    written_whole: tuple[bool, ...]  # per link slot: the URL is written in the template
    marks: Marks


@dataclass(frozen=True)
class SourceFile:
    """A file of a template (or a partial it uses) as its author wrote it, parsed on its
    own: what lint reads, with positions in the file."""

    path: str
    text: str
    parsed: BoundTemplate
    is_body: bool  # the body or a partial: markup, not plain text


@dataclass(frozen=True)
class EmailTemplate:
    name: str
    subject: BoundTemplate
    body_source: BoundTemplate  # the body with partials spliced in, before conversion
    body: CompiledBody | PerEmailBody
    is_mjml: bool
    written: WrittenUrls
    preheader: BoundTemplate | None = None
    text: BoundTemplate | None = None
    settings: TemplateSettings = field(default_factory=TemplateSettings)
    files: dict[str, SourceFile] = field(default_factory=dict)  # by path, partials too
    # The context names the template reads (to compute only the URLs it uses).
    names: frozenset[str] = frozenset()


def find_partial(root: Path, name: str) -> Path | None:
    folder = (root / PARTIALS).resolve()
    for suffix in _PARTIAL_SUFFIXES:
        path = (folder / f"{name}{suffix}").resolve()
        if path.is_relative_to(folder) and path.is_file():
            return path
    return None


class _PartialLoader(BaseLoader):
    """Partials for `{% render %}` and `{% include %}` that Liquid resolves per email."""

    def __init__(self, root: Path):
        self._root = root

    def get_source(self, env: Environment, template_name: str, **kwargs: object) -> TemplateSource:
        path = find_partial(self._root, template_name)
        if path is None:
            raise TemplateNotFoundError(template_name, token=None)
        return TemplateSource(path.read_text(encoding="utf-8"), str(path), None)


def make_environment(
    root: Path, settings: ContentSettings, zone: ZoneInfo, *, autoescape: bool
) -> Environment:
    """A Liquid environment for one workspace; `autoescape` for parts that are HTML."""
    env = Environment(loader=_PartialLoader(root), autoescape=autoescape)
    register_filters(env, settings, zone)
    return env


def syntax_error(exc: LiquidError, path: str, source: str = "") -> TemplateError:
    """A Liquid error as a TemplateError at `path:line:column`. Liquid gives no position
    for a block never closed; the innermost such block is the place to look."""
    found = exc.context()
    if found:
        return TemplateError(str(exc.message).strip(), where=f"{path}:{found[0]}:{found[1] + 1}")
    tags = liquid_tags(source)
    closed = {i for block in blocks(tags) for i in block}
    open_ = [t for i, t in enumerate(tags) if t.name in OPENERS and i not in closed]
    if not open_:
        return TemplateError(str(exc.message).strip(), where=path)
    tag = open_[-1]
    line = source.count("\n", 0, tag.start) + 1
    column = tag.start - (source.rfind("\n", 0, tag.start) + 1) + 1
    return TemplateError(
        f"{tag.text[:40]} is never closed ({str(exc.message).strip()})",
        where=f"{path}:{line}:{column}",
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read: {exc.strerror}", where=str(path)) from exc


def _settings(path: Path | None, shown: str) -> TemplateSettings:
    if path is None:
        return TemplateSettings()
    try:
        return TemplateSettings.model_validate(yaml.safe_load(path.read_text("utf-8")) or {})
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read: {exc}", where=shown) from exc
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise TemplateError(f"{key}: {first['msg']}", where=shown) from exc


def _parse(env: Environment, text: str, path: str) -> BoundTemplate:
    try:
        return env.from_string(text, name=path)
    except LiquidError as exc:
        raise syntax_error(exc, path, text) from exc


class TemplateLibrary:
    """The templates of a workspace, loaded on first use and again when a file changes.

    A template is looked at per use with one `stat` per file it was made of, and of its
    folder and the partials' (which change when a file is added or removed): a few
    microseconds, and an edit shows in the next email."""

    def __init__(
        self, root: Path, settings: ContentSettings | None = None, zone: ZoneInfo = UTC_ZONE
    ):
        """`zone`: where dates are shown for people without a `timezone` trait."""
        self.root = root
        settings = settings or ContentSettings()
        self._text_env = make_environment(root, settings, zone, autoescape=False)
        self._html_env = make_environment(root, settings, zone, autoescape=True)
        # name -> (the paths it was made of, their modification times, the template)
        self._cache: dict[str, tuple[tuple[str, ...], tuple[int, ...], EmailTemplate]] = {}
        self._lock = threading.Lock()

    def shown(self, path: Path) -> str:
        """A path as errors and lint show it: from the workspace (`templates/…`)."""
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def filter_names(self) -> set[str]:
        return set(self._html_env.filters)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "subject.liquid").is_file())

    def _files(self, name: str) -> dict[str, Path]:
        folder = self.root / name
        return {p.name: p for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}

    def settings_of(self, name: str) -> TemplateSettings:
        """A template's `template.yaml` alone, without parsing its Liquid (raises
        TemplateError when the file is wrong): what start-up checks, so that a template with
        a Liquid mistake fails its emails, each with the reason, rather than the start."""
        path = self.root / name / "template.yaml"
        return _settings(path if path.is_file() else None, self.shown(path))

    def get(self, name: str) -> EmailTemplate:
        cached = self._cache.get(name)
        if cached is not None and _times(cached[0]) == cached[1]:
            return cached[2]
        files = self._files(name)
        partials = self.root / PARTIALS
        shared = [p for p in partials.iterdir() if p.is_file()] if partials.is_dir() else []
        watched = tuple(str(p) for p in [self.root / name, partials, *files.values(), *shared])
        times = _times(watched)
        template = self._load(name, files)
        with self._lock:
            self._cache[name] = (watched, times, template)
        return template

    def _load(self, name: str, files: dict[str, Path]) -> EmailTemplate:
        where = self.shown(self.root / name)
        if "subject.liquid" not in files:
            raise TemplateError(
                f"no template {name!r} (a folder with subject.liquid)",
                where=where,
                hint=f"templates here: {', '.join(self.names())}",
            )
        body_path = files.get("body.mjml") or files.get("body.html")
        if body_path is None:
            raise TemplateError("needs body.mjml or body.html", where=where)
        sources: dict[str, SourceFile] = {}
        for file_name in ("subject.liquid", "preheader.liquid", "text.liquid", body_path.name):
            if file_name in files:
                self._add(sources, files[file_name], is_body=file_name == body_path.name)
        body_file = sources[self.shown(body_path)]
        body = self._splice(body_file.text, body_file.path, sources, 0)
        is_mjml = body_path.suffix == ".mjml"
        compiled = compile_body(body, is_mjml, preheader="preheader.liquid" in files)
        body_source = _parse(self._html_env, body, body_file.path)
        names: set[str] = set(body_source.global_variables(include_partials=False))
        for source in sources.values():
            names |= set(source.parsed.global_variables(include_partials=False))

        def part(file_name: str) -> BoundTemplate | None:
            found = sources.get(self.shown(files[file_name])) if file_name in files else None
            return found.parsed if found else None

        subject = part("subject.liquid")
        assert subject is not None
        return EmailTemplate(
            name=name,
            subject=subject,
            body_source=body_source,
            body=self._compiled(compiled, body_file.path),
            is_mjml=is_mjml,
            written=WrittenUrls.of(s.text for s in sources.values()),
            preheader=part("preheader.liquid"),
            text=part("text.liquid"),
            settings=_settings(files.get("template.yaml"), f"{where}/template.yaml"),
            files=sources,
            names=frozenset(names),
        )

    def _add(self, sources: dict[str, SourceFile], path: Path, *, is_body: bool) -> SourceFile:
        text = _read(path)
        shown = self.shown(path)
        parsed = _parse(self._html_env if is_body else self._text_env, text, shown)
        sources[shown] = SourceFile(shown, text, parsed, is_body)
        return sources[shown]

    def _compiled(
        self, compiled: Compiled | PerEmailBody, path: str
    ) -> CompiledBody | PerEmailBody:
        if isinstance(compiled, PerEmailBody):
            return compiled
        return CompiledBody(
            html=_parse(self._html_env, compiled.html, f"{path} (converted)"),
            written_whole=tuple(compiled.written_whole),
            marks=compiled.marks,
        )

    def _splice(self, text: str, path: str, sources: dict[str, SourceFile], depth: int) -> str:
        """`text` with each partial named by a plain include or render put in its place."""

        def partial(match: re.Match[str]) -> str:
            found = find_partial(self.root, match.group(2))
            if found is None:
                line = text.count("\n", 0, match.start()) + 1
                raise TemplateError(
                    f"no partial {match.group(2)!r}",
                    where=f"{path}:{line}",
                    hint=f"partials are files in {self.root / PARTIALS}",
                )
            if depth >= _MAX_DEPTH:
                where = self.shown(found)
                raise TemplateError("partials include each other too deeply", where=where)
            source = sources.get(self.shown(found)) or self._add(sources, found, is_body=True)
            return self._splice(source.text, source.path, sources, depth + 1)

        return _SPLICED.sub(partial, text)


def _times(paths: tuple[str, ...]) -> tuple[int, ...]:
    """Modification times (-1 for what is not there)."""
    found = []
    for path in paths:
        try:
            found.append(os.stat(path).st_mtime_ns)
        except OSError:
            found.append(-1)
    return tuple(found)
