"""Lint: what would go wrong with a template, before a person sees it.

- syntax errors, and filters that do not exist, at file:line:column;
- every variable the template reads, where, and whether it has a fallback (a `default`
  filter, or an `{% if %}` on it); for `profile.…` ones, how many profiles lack a value;
- links: relative or odd ones (not tracked, and no mail client can follow them), links made
  from data that the link rules may leave unlinked, catalogue URLs on hosts that are not
  allowed, and the URLs left unlinked in real people's emails;
- a marketing template without an unsubscribe (or preference centre) link;
- HTML over 102 KB, which Gmail clips (hiding the unsubscribe link and the open pixel);
- images without `alt`, which show nothing when images are off;
- a body that has to be converted per email, and why.

Sizes and unlinked URLs come from rendering the template for real people (`preview.py`).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pertinent.content.links import LinkRules
from pertinent.content.mjml import PerEmailBody
from pertinent.content.preview import Preview, Previewer
from pertinent.content.shape import LiquidTag, blocks, liquid_tags
from pertinent.content.templates import EmailTemplate, SourceFile
from pertinent.errors import TemplateError
from pertinent.profiles.computed import with_recency
from pertinent.recommend.catalogue import Product

GMAIL_CLIPS = 102 * 1024
SAMPLE = 20  # people rendered for the checks that need real data
CONTEXT = {
    "profile",
    "event",
    "journey",
    "experiment",
    "recommendations",
    "unsubscribe_url",
    "preferences_url",
    "view_in_browser_url",
    "confirm_url",
}
_SYSTEM_URLS = ("unsubscribe_url", "preferences_url", "view_in_browser_url", "confirm_url")
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_IMAGE = re.compile(r"<(mj-image|img)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>", re.IGNORECASE)
_ALT = re.compile(r"\balt\s*=", re.IGNORECASE)
_DEFAULT = re.compile(r"\|\s*default\b")
_ALWAYS = {"id", "segments", "first_seen", "last_seen", "computed"}

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    severity: Severity
    check: str
    message: str
    where: str | None = None


@dataclass(frozen=True)
class Variable:
    name: str
    where: tuple[str, ...]
    fallback: bool  # every output of it has a `default` or sits under an `{% if %}` on it
    lacking: int | None = None  # profiles without a value (for `profile.…` variables)


@dataclass(frozen=True)
class LintReport:
    template: str
    converted: str  # "once", or why per email
    profiles: int
    variables: tuple[Variable, ...] = ()
    findings: tuple[Finding, ...] = ()
    samples: int = 0  # people the template was rendered for

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


@dataclass
class _Found:
    findings: list[Finding] = field(default_factory=list)

    def add(self, severity: Severity, check: str, message: str, where: str | None = None) -> None:
        self.findings.append(Finding(severity, check, message, where))


def _position(source: SourceFile, index: int) -> str:
    line = source.text.count("\n", 0, index) + 1
    return f"{source.path}:{line}:{index - (source.text.rfind(chr(10), 0, index) + 1) + 1}"


def lint_template(
    previewer: Previewer, name: str, rules: LinkRules, products: Sequence[Product] = ()
) -> LintReport:
    """Every check on template `name`; a template that does not load is one error."""
    library = previewer.renderer.library
    profiles, _ = previewer.reads.count_lacking([])
    try:
        template = library.get(name)
    except TemplateError as exc:
        finding = Finding("error", "syntax", exc.message, exc.where)
        return LintReport(name, "not loaded", profiles, findings=(finding,))
    found = _Found()
    _filters(template, library.filter_names(), found)
    variables = _variables(template, previewer, found)
    _links(template, rules, products, found)
    _images(template, found)
    converted = "once"
    if isinstance(template.body, PerEmailBody):
        converted = f"per email: {template.body.reason}"
        found.add(
            "warning",
            "conversion",
            f"the body is converted per email (slower): {template.body.reason}",
        )
    samples = _rendered(previewer, name, found)
    return LintReport(
        name,
        converted,
        profiles,
        tuple(variables),
        tuple(found.findings),
        samples,
    )


def _filters(template: EmailTemplate, known: set[str], found: _Found) -> None:
    for source in template.files.values():
        for name, spans in source.parsed.analyze(include_partials=False).filters.items():
            if name not in known:
                for span in spans:
                    found.add(
                        "error", "filter", f"no filter {name!r}", _position(source, span.index)
                    )


def _guarded(source: SourceFile, tags: list[LiquidTag], index: int, path: str) -> bool:
    """Whether the use of `path` at `index` has a fallback: a `default` in its output, or
    an `{% if %}` / `{% elsif %}` on it around it; uses in tags (conditions, loops) and as
    filter arguments are not what is written, and Pertinent's URLs are always there."""
    if path in _SYSTEM_URLS:
        return True
    tag = next((t for t in tags if t.start <= index < t.end), None)
    if tag is None or tag.name not in ("", "echo"):
        return True
    first_filter = tag.text.find("|")
    if _DEFAULT.search(tag.text) or 0 <= first_filter < index - tag.start:
        return True  # a fallback, or a filter's argument rather than what is written
    for block in blocks(tags):
        markers = [tags[i] for i in block]
        for marker, after in itertools.pairwise(markers):
            inside = marker.end <= index < after.start
            if inside and marker.name in ("if", "elsif") and path in marker.text:
                return True
    return False


def _variables(template: EmailTemplate, previewer: Previewer, found: _Found) -> list[Variable]:
    uses: dict[str, list[str]] = defaultdict(list)
    bare: set[str] = set()
    for source in template.files.values():
        tags = liquid_tags(source.text)
        analysis = source.parsed.analyze(include_partials=False)
        for root, variables in analysis.globals.items():
            for use in variables:
                path = str(use)
                where = _position(source, use.span.index)
                uses[path].append(where)
                if root not in CONTEXT:
                    found.add(
                        "warning",
                        "variable",
                        f"{root!r} is not in the context (there are: {', '.join(sorted(CONTEXT))})",
                        where,
                    )
                if not _guarded(source, tags, use.span.index, path):
                    bare.add(path)
    counted = {p: k for p in uses if (k := _stored_path(p, previewer)) is not None}
    total, lacking = previewer.reads.count_lacking(list(counted.values()))
    missing = dict(zip(counted, lacking, strict=True))
    out = []
    for path in sorted(uses):
        variable = Variable(path, tuple(uses[path]), path not in bare, missing.get(path))
        out.append(variable)
        if path in bare and (variable.lacking or (path.startswith("event.") and total)):
            who = (
                f"{variable.lacking} of {total} profiles have no value"
                if variable.lacking
                else "an event without it"
            )
            found.add(
                "warning",
                "variable",
                f"{path} has no default: {who} renders it empty (write `| default: …`)",
                uses[path][0],
            )
    return out


def _stored_path(path: str, previewer: Previewer) -> tuple[str, ...] | None:
    """Where a `profile.…` variable is stored (None: not countable)."""
    parts = path.split(".")
    if parts[0] != "profile" or len(parts) < 2 or not all(p.isidentifier() for p in parts):
        return None
    if parts[1] == "computed" and len(parts) > 2:
        derived = set(with_recency({}, previewer.clock.now()))
        return None if parts[2] in derived else ("computed", *parts[2:])
    return None if parts[1] in _ALWAYS else ("traits", *parts[1:])


def _links(
    template: EmailTemplate, rules: LinkRules, products: Sequence[Product], found: _Found
) -> None:
    system = False
    for source in template.files.values():
        if not source.is_body:
            continue
        for match in _HREF.finditer(source.text):
            value = match.group(1) if match.group(1) is not None else match.group(2)
            where = _position(source, match.start())
            if any(name in value for name in _SYSTEM_URLS):
                system = system or "unsubscribe_url" in value or "preferences_url" in value
                continue
            _link(value, rules, found, where)
    if not system and template.settings.category == "marketing":
        found.add(
            "error",
            "unsubscribe",
            "no unsubscribe link: write "
            '<a href="{{ unsubscribe_url }}"> (or the preference centre\'s, '
            "{{ preferences_url }}); mailbox providers and the law require one",
        )
    if "recommendations" in template.names and products:
        odd = [p.url for p in products if p.url and not rules.allows_host(p.url)]
        if odd:
            found.add(
                "warning",
                "link",
                f"{len(odd)} catalogue products have URLs on hosts "
                f"not in content.allowed_link_hosts (e.g. {odd[0][:80]}): their links "
                "are left unlinked",
            )


def _link(value: str, rules: LinkRules, found: _Found, where: str) -> None:
    liquid = value.find("{")
    written = value if liquid < 0 else value[:liquid]
    if liquid < 0:
        lowered = value.lower()
        if not lowered.startswith(("http://", "https://", "mailto:", "tel:", "#")):
            found.add(
                "warning",
                "link",
                f"{value[:80]!r} is not tracked, and mail clients "
                "cannot follow a relative link: write the whole URL",
                where,
            )
        return
    scheme, _, rest = written.partition("://")
    if scheme.lower() in ("http", "https") and any(c in rest for c in "/?#"):
        return  # the host is written in the template
    if not rules.hosts and not rules.domains:
        found.add(
            "warning",
            "link",
            f"the link {value[:80]!r} comes from data: it is tracked "
            "only if its URL is written in the template or on a host of "
            "content.allowed_link_hosts (none set); otherwise it is left unlinked",
            where,
        )


def _images(template: EmailTemplate, found: _Found) -> None:
    for source in template.files.values():
        if source.is_body:
            for match in _IMAGE.finditer(source.text):
                if not _ALT.search(match.group()):
                    found.add(
                        "warning",
                        "alt",
                        f"<{match.group(1)}> without alt: it shows nothing where images are off",
                        _position(source, match.start()),
                    )


def _rendered(previewer: Previewer, name: str, found: _Found) -> int:
    """Render for real people (or nobody) and check what only an email shows."""
    try:
        previews = previewer.samples(name, SAMPLE) or [previewer.preview(name, None)]
    except TemplateError as exc:
        found.add("error", "render", exc.message, exc.where)
        return 0
    largest = max(previews, key=lambda p: len(p.email.html.encode()))
    size = len(largest.email.html.encode())
    if size > GMAIL_CLIPS:
        found.add(
            "error",
            "size",
            f"the HTML is {size // 1024} KB for {_who(largest)}: Gmail "
            "clips messages over 102 KB, hiding the end (the unsubscribe link, the open "
            "pixel)",
        )
    for preview in previews:
        for url in dict.fromkeys(preview.email.unlinked):
            found.add(
                "warning",
                "link",
                f"{url[:100]!r} from data was left unlinked for "
                f"{_who(preview)} (its host is not in content.allowed_link_hosts)",
            )
    return len(previews) if previews[0].profile_id else 0


def _who(preview: Preview) -> str:
    return preview.profile_id or "an empty profile"
