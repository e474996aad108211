"""The body converted once per template: MJML to HTML, CSS inlined, text and links marked,
with the Liquid kept intact inside.

Each Liquid tag is replaced by a placeholder (`shape.py` says where it sits): a comment
between elements and in text, a plain word inside an attribute value or a title. The
placeholder body goes through mrml and css-inline once; the placeholders are checked (each
exactly once, in order, none swallowed by another comment) and the Liquid put back. What
comes out is one Liquid template of HTML with the text part and the link slots marked inside
(`derive.py`): per email there is one Liquid render and no parsing of HTML.

Where a tag's position does not allow it (a tag inside a style, an `{% if %}` around a
column, whose width depends on its siblings, a tag that opens in one element and closes in
another), the template is converted per email instead, as before, and the reason is kept for
lint. Leading `{% assign %}` and `{% capture %}` tags, which write nothing, are moved ahead
of the converted HTML.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import css_inline
import mrml

from pertinent.content.derive import Marks, derive
from pertinent.content.shape import (
    BRANCHES,
    Elsewhere,
    InAttribute,
    InContent,
    LiquidTag,
    Position,
    Scanner,
    blocks,
    liquid_tags,
)

# Remote stylesheets (web fonts MJML links to) are left alone: rendering must not touch the network.
_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)

# MJML elements whose content is HTML that mrml copies as it is.
_MJ_CONTENT = {
    "mj-text", "mj-button", "mj-raw", "mj-table", "mj-navbar-link", "mj-accordion-title",
    "mj-accordion-text", "mj-social-element", "mj-title", "mj-preview",
}  # fmt: skip
# Containers whose children mrml renders each on its own, so a block may wrap some of them.
_MJ_LISTS = {"mj-body", "mj-column"}
_MJ_COPIED = {"href", "src", "alt", "title", "rel", "target", "name", "srcset"}
_HTML_NOT_COPIED = {"style", "class", "id"}  # the inliner reads or rewrites these
_RCDATA = {"title", "textarea", "mj-title"}
_SILENT = {"assign", "#", "comment", "doc", "break", "continue"}
_LIST_BLOCKS = {"if", "unless", "case", "for"}
_HOISTED = {"assign", "#", "comment", "doc"}

Form = Literal["comment", "word"]
# What may sit in an attribute value: tags that have no effect beyond the value they write,
# since MJML may write the attributes of an element in another order.
_PURE = {
    "", "raw", "if", "elsif", "else", "endif", "unless", "endunless", "case", "when",
    "endcase", "for", "endfor", "break", "continue",
}  # fmt: skip


@dataclass(frozen=True)
class _Kept:
    tag: LiquidTag
    form: Form
    where: Position

    @property
    def element(self) -> int | None:
        return self.where.element.id if isinstance(self.where, InAttribute) else None


class ConversionError(Exception):
    """mrml or css-inline refused the body."""


def to_html(body: str, is_mjml: bool) -> str:
    """MJML to HTML (for an MJML body) and CSS inlined."""
    try:
        html = mrml.to_html(body).content if is_mjml else body
        return str(_INLINER.inline(html))
    except (OSError, ValueError) as exc:  # mrml raises OSError, css-inline a ValueError
        raise ConversionError(str(exc)) from exc


@dataclass(frozen=True)
class Compiled:
    """A body converted once: the Liquid source of the marked HTML."""

    html: str
    written_whole: tuple[bool, ...]  # per link slot: its URL has no Liquid in it
    marks: Marks


@dataclass(frozen=True)
class PerEmailBody:
    """A body that is converted for each email; `reason` says why."""

    reason: str


def _form(tag: LiquidTag, where: Position, is_mjml: bool) -> Form | str:
    """The placeholder a tag can take where it is, or why it cannot take one."""
    match where:
        case InAttribute(element, attribute):
            if tag.name not in _PURE:
                return f"{{% {tag.name} %}} in an attribute"
            copied = (
                attribute in _MJ_COPIED
                if element.name.startswith("mj-")
                else attribute not in _HTML_NOT_COPIED
            )
            return "word" if copied else f"in the {attribute!r} attribute of <{element.name}>"
        case InContent(stack):
            names = [e.name for e in stack]
            if not is_mjml or any(n in _MJ_CONTENT for n in names):
                if not names:
                    return "outside the document's elements"
                return "word" if names[-1] in _RCDATA else "comment"
            if names and names[-1] in _MJ_LISTS and _silent(tag):
                return "comment"
            parent = f"<{names[-1]}>" if names else "the document"
            return f"directly in {parent}, where only blocks around whole elements can go"
        case Elsewhere(why):
            return why


def _silent(tag: LiquidTag) -> bool:
    """A tag that writes nothing itself: a block around elements, an assignment."""
    base = tag.name.removeprefix("end")
    return tag.name in _SILENT or tag.name in BRANCHES or base in _LIST_BLOCKS


def _line_col(source: str, index: int) -> str:
    line = source.count("\n", 0, index) + 1
    return f"{line}:{index - (source.rfind(chr(10), 0, index) + 1) + 1}"


def compile_body(source: str, is_mjml: bool, *, preheader: bool) -> Compiled | PerEmailBody:
    """Convert `source` once with its Liquid kept, or say why it must be per email.
    `preheader` puts a hidden preheader line (`__preheader`) at the top of the body."""
    tags = liquid_tags(source)
    nonce = secrets.token_hex(6)
    scanner = Scanner()
    hoisted: list[str] = []
    kept: list[_Kept] = []
    positions: dict[int, Position] = {}
    pieces: list[str] = []
    cursor, index = 0, 0
    ends = {b[0]: b[-1] for b in blocks(tags)}
    while index < len(tags):
        tag = tags[index]
        literal = source[cursor : tag.start]
        scanner.feed(literal)
        pieces.append(literal)
        where = scanner.position
        top = isinstance(where, InContent) and all(e.name in ("mjml", "html") for e in where.stack)
        if not kept and top and (tag.name in _HOISTED or tag.name == "capture"):
            last = tags[ends[index]] if tag.name == "capture" else tag
            hoisted.append(source[tag.start : last.end])
            cursor, index = last.end, (ends[index] if tag.name == "capture" else index) + 1
            continue
        form = _form(tag, where, is_mjml)
        if form not in ("comment", "word"):
            return PerEmailBody(f"{tag.text[:40]!r} at {_line_col(source, tag.start)}: {form}")
        positions[index] = where
        word = f"pl{nonce}{len(kept)}z"
        pieces.append(f"<!--{word}-->" if form == "comment" else word)
        kept.append(_Kept(tag, "comment" if form == "comment" else "word", where))
        cursor, index = tag.end, index + 1
    pieces.append(source[cursor:])
    for block in blocks(tags):
        if block[0] in positions and len({_key(positions.get(i)) for i in block}) > 1:
            opener = tags[block[0]]
            return PerEmailBody(
                f"{opener.text[:40]!r} at {_line_col(source, opener.start)} and its "
                f"{tags[block[-1]].text[:20]!r} are in different elements"
            )
    try:
        html = to_html("".join(pieces), is_mjml)
    except ConversionError as exc:
        return PerEmailBody(f"{'MJML' if is_mjml else 'HTML'} does not convert: {exc}")
    problem = _check(html, nonce, kept)
    if problem:
        return PerEmailBody(problem)
    marks = Marks()
    derived = derive(html, marks)
    restore = _restorer(nonce, [k.tag.text for k in kept])
    framed = frame(derived.html, "{{ __preheader }}" if preheader else "", "{{ __open_url }}")
    whole = tuple(f"pl{nonce}" not in slot.url for slot in derived.slots)
    return Compiled("".join(hoisted) + restore(framed), whole, marks)


def _key(where: Position | None) -> object:
    match where:
        case InAttribute(element, attribute):
            return (element.id, attribute)
        case InContent(stack):
            return tuple(e.id for e in stack)
    return where


def _check(html: str, nonce: str, kept: list[_Kept]) -> str | None:
    """Why the converted placeholders cannot be trusted, if they cannot."""
    if "{{" in html or "{%" in html:
        return "the converted HTML holds '{{' or '{%' of its own"
    found = list(re.finditer(f"pl{nonce}(\\d+)z", html))
    order = [int(m[1]) for m in found]
    if sorted(order) != list(range(len(kept))):
        return "conversion dropped or repeated a Liquid tag"
    if _canonical(order, kept) != list(range(len(kept))):
        return "conversion moved a Liquid tag"
    for match in found:
        tag, form = kept[int(match[1])].tag, kept[int(match[1])].form
        inside = html.rfind("<!--", 0, match.start() - 4) > html.rfind("-->", 0, match.start())
        wrapped = html.startswith("<!--", match.start() - 4) and html.startswith("-->", match.end())
        if inside or (form == "comment") != wrapped:
            return f"conversion put {tag.text[:40]!r} inside a comment"
    return None


def _canonical(order: list[int], kept: list[_Kept]) -> list[int]:
    """`order` with the attributes of each element back in the order they were written,
    if each attribute's own tags kept theirs (MJML writes attributes in an order of its own)."""
    out: list[int] = []
    run: list[int] = []
    for index in order:
        element = kept[index].element
        if run and element is not None and element == kept[run[-1]].element:
            run.append(index)
            continue
        out += _attribute_order(run, kept)
        run = [index]
    return out + _attribute_order(run, kept)


def _attribute_order(run: list[int], kept: list[_Kept]) -> list[int]:
    by_attribute: dict[object, list[int]] = {}
    for index in run:
        by_attribute.setdefault(_key(kept[index].where), []).append(index)
    if any(group != sorted(group) for group in by_attribute.values()):
        return run
    return sorted(run)


def _restorer(nonce: str, markup: list[str]) -> Callable[[str], str]:
    pattern = re.compile(f"<!--pl{nonce}(\\d+)z-->|pl{nonce}(\\d+)z")

    def restore(text: str) -> str:
        return pattern.sub(lambda m: markup[int(m[1] or m[2])], text)

    return restore


_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_PREHEADER_STYLE = "display:none;max-height:0;overflow:hidden;mso-hide:all"


def frame(html: str, preheader: str, open_url: str) -> str:
    """The hidden preheader line at the top of the body and the open pixel at its end.
    Both are HTML already (escaped, or the Liquid that writes them escaped)."""
    if preheader:
        line = f'<div style="{_PREHEADER_STYLE}">{preheader}</div>'
        opened = _BODY_OPEN.search(html)
        html = html[: opened.end()] + line + html[opened.end() :] if opened else line + html
    pixel = (
        f'<img src="{open_url}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px">'
    )
    closing = html.rfind("</body>")
    return html[:closing] + pixel + html[closing:] if closing >= 0 else html + pixel
