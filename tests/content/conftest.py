"""Template folders written for a test, a renderer over them, and the example workspace's
templates (also with their bodies forced to be converted per email: the reference)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from pertinent.content.links import LinkRules, SystemUrls
from pertinent.content.mjml import PerEmailBody
from pertinent.content.render import Renderer
from pertinent.content.templates import EmailTemplate, TemplateLibrary
from pertinent.scaffold import write_example_workspace
from pertinent.tracking.tokens import TrackingTokens

Templates = dict[str, dict[str, str]]


@pytest.fixture
def tokens() -> TrackingTokens:
    return TrackingTokens("s" * 32)


@pytest.fixture
def write_templates(tmp_path: Path) -> Callable[[Templates], Path]:
    """Write `templates/<name>/<file>` for each entry (the name `_partials` holds partials);
    return the templates folder."""

    def write(templates: Templates) -> Path:
        folder = tmp_path / "ws" / "templates"
        for name, files in templates.items():
            (folder / name).mkdir(parents=True, exist_ok=True)
            for file_name, text in files.items():
                (folder / name / file_name).write_text(text)
        return folder

    return write


@pytest.fixture
def renderer_for(tokens: TrackingTokens) -> Callable[..., Renderer]:
    """A renderer over a templates folder, with links under https://t.example."""

    def make(folder: Path, hosts: tuple[str, ...] = (), per_email: bool = False) -> Renderer:
        library = (PerEmailLibrary if per_email else TemplateLibrary)(folder)
        return Renderer(library, SystemUrls("https://t.example", tokens), LinkRules.of(hosts))

    return make


class PerEmailLibrary(TemplateLibrary):
    """The same templates, each body converted for every email as before compile-once."""

    def get(self, name: str) -> EmailTemplate:
        return replace(super().get(name), body=PerEmailBody("the reference"))


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """The example workspace's templates folder."""
    write_example_workspace(tmp_path / "example")
    return tmp_path / "example" / "templates"
