"""Where each Liquid tag of a body sits in the markup around it.

The body of a template is MJML or HTML with Liquid inside. To convert it once per template,
each Liquid tag is replaced by a placeholder that conversion carries through unchanged, and
put back afterwards (`content/mjml.py`). That is only sound where the tag's position lets
it: text inside an element's content, an attribute that MJML and the CSS inliner copy as
they are (`href`, `src`, `alt` ...), or a block (`{% if %}`, `{% for %}`) around whole
elements in a column or the body, each branch balanced. This module finds each tag's
position with a small scanner of the markup between the tags; `mjml.py` decides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from liquid.lex import compile_liquid_rules

_RULES = compile_liquid_rules()
_NAME = re.compile(r"<([A-Za-z][\w:.-]*)")
_ATTRIBUTE = re.compile(r"""\s*([^\s=/>"']+)(\s*=\s*)?""")
_RAW_TEXT = {"style", "script", "mj-style"}
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip

OPENERS = {
    "if": "endif",
    "unless": "endunless",
    "case": "endcase",
    "for": "endfor",
    "tablerow": "endtablerow",
    "capture": "endcapture",
    "ifchanged": "endifchanged",
}
BRANCHES = {"elsif", "else", "when"}
CLOSERS = set(OPENERS.values())


@dataclass(frozen=True)
class LiquidTag:
    """One Liquid tag or output statement: `name` is the tag's name, "" for `{{ … }}`,
    "raw" and "comment" for those blocks taken whole."""

    start: int
    end: int
    text: str
    name: str


def liquid_tags(source: str) -> list[LiquidTag]:
    """The Liquid tags of `source` in order (the source is known to parse)."""
    found: list[LiquidTag] = []
    comment_start, depth = 0, 0
    for match in _RULES.finditer(source):
        kind, name = match.lastgroup, match.group("name") if match.lastgroup == "TAG" else None
        if depth:
            depth += {"comment": 1, "endcomment": -1}.get(name or "", 0)
            if not depth:
                found.append(
                    LiquidTag(
                        comment_start, match.end(), source[comment_start : match.end()], "comment"
                    )
                )
            continue
        if name == "comment":
            comment_start, depth = match.start(), 1
        elif kind == "TAG":
            found.append(LiquidTag(match.start(), match.end(), match.group(), name or ""))
        elif kind == "output":
            found.append(LiquidTag(match.start(), match.end(), match.group(), ""))
        elif kind in ("RAW", "DOC"):
            found.append(LiquidTag(match.start(), match.end(), match.group(), kind.lower()))
    return found


def blocks(tags: list[LiquidTag]) -> list[list[int]]:
    """The indexes of each block's opening, branch and closing tags."""
    stack: list[list[int]] = []
    done: list[list[int]] = []
    for index, tag in enumerate(tags):
        if tag.name in OPENERS:
            stack.append([index])
        elif tag.name in BRANCHES and stack:
            stack[-1].append(index)
        elif tag.name in CLOSERS and stack:
            stack[-1].append(index)
            done.append(stack.pop())
    return done


@dataclass(frozen=True)
class Element:
    id: int
    name: str


@dataclass(frozen=True)
class InContent:
    """Between elements or in an element's text; `stack` is the open elements, outermost
    first (the same stack at two positions means that everything between them is closed)."""

    stack: tuple[Element, ...]


@dataclass(frozen=True)
class InAttribute:
    element: Element
    attribute: str


@dataclass(frozen=True)
class Elsewhere:
    """Inside a tag's name or attribute list, a comment, or a style or script element."""

    why: str


Position = InContent | InAttribute | Elsewhere


class Scanner:
    """Markup fed a piece at a time (the text between Liquid tags); `position` says where
    the next piece starts."""

    def __init__(self) -> None:
        self._stack: list[Element] = []
        self._mode = "text"  # text | tag | value | comment | rawtext
        self._tag: Element | None = None
        self._attribute = ""
        self._quote = ""
        self._count = 0

    @property
    def position(self) -> Position:
        match self._mode:
            case "text":
                return InContent(tuple(self._stack))
            case "value" if self._tag is not None:
                return InAttribute(self._tag, self._attribute)
            case "comment":
                return Elsewhere("inside an HTML comment")
            case "rawtext":
                return Elsewhere(f"inside <{self._stack[-1].name}>")
        return Elsewhere("inside a tag, outside a quoted attribute value")

    def feed(self, text: str) -> None:
        i, n = 0, len(text)
        while i < n:
            match self._mode:
                case "text":
                    i = self._text(text, i)
                case "tag":
                    i = self._in_tag(text, i)
                case "value":
                    end = text.find(self._quote, i)
                    if end < 0:
                        return
                    self._mode, i = "tag", end + 1
                case "comment":
                    end = text.find("-->", i)
                    if end < 0:
                        return
                    self._mode, i = "text", end + 3
                case _:
                    closing = f"</{self._stack[-1].name}"
                    end = text.lower().find(closing, i)
                    if end < 0:
                        return
                    self._mode, i = "text", end

    def _text(self, text: str, i: int) -> int:
        start = text.find("<", i)
        if start < 0:
            return len(text)
        if text.startswith("<!--", start):
            self._mode = "comment"
            return start + 4
        if text.startswith(("</", "<!", "<?"), start):
            end = text.find(">", start)
            if end < 0:
                return len(text)
            if text[start + 1] == "/":
                self._close(text[start + 2 : end].strip().lower())
            return end + 1
        name = _NAME.match(text, start)
        if name is None:
            return start + 1
        self._count += 1
        self._tag = Element(self._count, name.group(1).lower())
        self._mode = "tag"
        return name.end()

    def _in_tag(self, text: str, i: int) -> int:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return i
        assert self._tag is not None
        if text.startswith("/>", i) or text[i] == ">":
            closed = text[i] == "/" or self._tag.name in VOID
            if not closed:
                self._stack.append(self._tag)
            self._mode = "rawtext" if not closed and self._tag.name in _RAW_TEXT else "text"
            return i + (2 if text[i] == "/" else 1)
        attribute = _ATTRIBUTE.match(text, i)
        if attribute is None or attribute.end() == i:
            return i + 1
        self._attribute = attribute.group(1).lower()
        i = attribute.end()
        if attribute.group(2) and i < len(text) and text[i] in "\"'":
            self._mode, self._quote = "value", text[i]
            return i + 1
        if attribute.group(2):
            while i < len(text) and not text[i].isspace() and text[i] != ">":
                i += 1
        return i

    def _close(self, name: str) -> None:
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth].name == name:
                del self._stack[depth:]
                return
