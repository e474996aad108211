"""Link slots and the text part, marked in converted HTML in one pass.

For a template converted once (`content/mjml.py`) this runs once per template version, on
HTML that still holds Liquid placeholders; the marks then go through Liquid with the rest.
Per email, one Liquid render gives HTML with its text part marked inside, and `Marks.split`
takes them apart with a few passes of C-level string operations, no HTML parser:

- the body's visible region is marked (the hidden preheader line and the open pixel are
  outside it, and so is every element hidden with `display:none`, a style or a script);
  the text part is that region with its tags cut, a line break for each block element;
- each `<a href>` is a *link slot*, filled per email (a signed redirect, the URL as it is, or
  nothing) where the HTML has its `href`, and where the text part shows its URL, after the
  link's words.

The marks carry a nonce drawn when the template is compiled: data in an email cannot forge
a mark it does not know. A template converted per email pays this pass per email.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

_SKIP = {"style", "script", "head", "title"}
_BLOCK = {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "li", "table", "section"}
_VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
}  # fmt: skip
_HREF = re.compile(r"""\shref\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)
_HIDDEN = re.compile(r"display\s*:\s*none", re.IGNORECASE)
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
# Data in converted HTML is escaped, so a plain pattern finds the tags; only a `>` that the
# template itself writes inside an attribute value would cut a tag short.
_TAG = re.compile(r"<[^>]*>")
_BLOCK_TAG = re.compile(rf"</?(?:{'|'.join(sorted(_BLOCK))})\b[^>]*>")
_RUNS = re.compile(r"\n{3,}")


class Marks:
    """The marks of one template (or one email converted per email).

    A link slot is `<open><index><mode>\\x03<value><close>`; modes: `h` the `href` attribute
    (its value as the HTML has it; the whole attribute is replaced), `p` the URL in
    parentheses after the link's words in the text part, `b` a bare URL (a link without
    words). `p` and `b` slots, and hidden elements, are wrapped as *text only*: cut from
    the HTML.
    """

    def __init__(self) -> None:
        nonce = secrets.token_hex(8)
        self._close = f"\x04{nonce}\x04"
        self.links = re.compile(f"\x02{nonce}(\\d+)([hpb])\x03(.*?){self._close}", re.S)
        self._link = f"\x02{nonce}"
        self.start = f"\x0e{nonce}<"  # the visible region
        self.end = f"\x0e{nonce}>"
        self.hide = f"\x0e{nonce}("  # hidden: in the region, not in the text
        self.unhide = f"\x0e{nonce})"
        self.only = f"\x0e{nonce}["  # text only: in the text, not in the HTML
        self.unonly = f"\x0e{nonce}]"
        self.words = f"\x0e{nonce}~"  # where the words of a link that may have none start
        self._in_html = re.compile(f"\x0e{nonce}\\[.*?\x0e{nonce}]|\x0e{nonce}[<>()~]", re.S)
        # A link whose words came out empty shows its bare URL.
        self._wordless = re.compile(f"\x0e{nonce}~(\\s*\x0e{nonce}\\[\x02{nonce}\\d+)p")
        self._hidden = re.compile(f"\x0e{nonce}\\(.*?\x0e{nonce}\\)", re.S)
        self._in_text = re.compile(f"\x0e{nonce}[\\[\\]~]")

    def link(self, index: int, mode: str, value: str) -> str:
        return f"{self._link}{index}{mode}\x03{value}{self._close}"

    def split(self, rendered: str) -> tuple[str, str]:
        """(HTML, text part) of a rendered email; the text's link slots are still unfilled."""
        html = self._in_html.sub("", rendered)
        first, last = rendered.find(self.start), rendered.rfind(self.end)
        text = rendered[first + len(self.start) : last] if 0 <= first < last else ""
        if self.hide in text:
            text = self._hidden.sub("", text)
        text = _TAG.sub("", _BLOCK_TAG.sub("\n", text))
        if self.words in text:
            text = self._wordless.sub(r"\1b", text)
        text = self._in_text.sub("", text)
        return html, unescape(text) if "&" in text else text


def tidy_text(text: str) -> str:
    """A text part made readable: spaces collapsed per line, at most one blank line in a
    row, one newline at the end."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return _RUNS.sub("\n\n", "\n".join(lines)).strip() + "\n"


@dataclass(frozen=True)
class Slot:
    """An `<a href>`; `url` is the href as the HTML has it (with placeholders when Liquid
    makes it)."""

    url: str


class _Pass(HTMLParser):
    def __init__(self, source: str, marks: Marks):
        super().__init__(convert_charrefs=True)
        self._source = source
        self._marks = marks
        self._line_starts = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]
        # (offset, order, end of what is replaced, replacement); sorted before use.
        self.edits: list[tuple[int, int, int, str]] = []
        self.slots: list[Slot] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hidden from the text)
        # The open link: (slot, where its words start, has literal words, has Liquid in them)
        self._anchor: tuple[int, int, bool, bool] | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def _hidden(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    def _insert(self, at: int, text: str) -> None:
        self.edits.append((at, len(self.edits), at, text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        at = self._offset()
        raw = self.get_starttag_text() or ""
        values = dict(attrs)
        # A `>` in an attribute value (data, after the inliner wrote it back) would end the
        # tag early where the text part cuts tags: written as `&gt;`, which means the same.
        tag_text = _QUOTED.sub(lambda q: q.group().replace(">", "&gt;"), raw)
        if tag == "a" and values.get("href") is not None:
            tag_text = self._slot(tag_text, at + len(raw))
        if tag_text != raw:
            self.edits.append((at, len(self.edits), at + len(raw), tag_text))
        if tag == "body":
            self._insert(at + len(raw), self._marks.start)
        if tag in _VOID:
            return
        hides = tag in _SKIP or bool(_HIDDEN.search(values.get("style") or ""))
        if hides and not self._hidden():
            self._insert(at, self._marks.hide)
        self._stack.append((tag, hides or self._hidden()))

    def _slot(self, tag_text: str, words_at: int) -> str:
        """The tag with its `href` replaced by a link slot's mark."""
        found = _HREF.search(tag_text)
        if found is None:
            return tag_text
        value = found.group(1)
        value = value[1:-1] if value[:1] in "\"'" else value
        index = len(self.slots)
        self.slots.append(Slot(value))
        mark = self._marks.link(index, "h", value.replace('"', "&quot;"))
        self._anchor = (index, words_at, False, False) if not self._hidden() else None
        return f"{tag_text[: found.start()]} {mark}{tag_text[found.end() :]}"

    def handle_endtag(self, tag: str) -> None:
        at = self._offset()
        if tag == "a" and self._anchor is not None:
            index, words_at, words, liquid = self._anchor
            self._anchor = None
            if liquid and not words:
                self._insert(words_at, self._marks.words)
            mode = "p" if words or liquid else "b"
            url = self._marks.link(index, mode, "")  # the URL is the href's, filled per email
            self._insert(at, f"{self._marks.only}{url}{self._marks.unonly}")
        if tag == "body":
            self._insert(at, self._marks.end)
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                if self._stack[depth][1] and not (depth and self._stack[depth - 1][1]):
                    end = self._source.find(">", at) + 1
                    self._insert(end, self._marks.unhide)
                del self._stack[depth:]
                break

    def handle_data(self, data: str) -> None:
        if self._anchor is not None and data.strip():
            self._anchor = (*self._anchor[:2], True, self._anchor[3])

    def handle_comment(self, data: str) -> None:
        # A Liquid placeholder inside a link's words may write some.
        if self._anchor is not None:
            self._anchor = (*self._anchor[:3], True)


@dataclass(frozen=True)
class Derived:
    html: str  # the HTML with its visible region, hidden elements and link slots marked
    slots: tuple[Slot, ...]


def derive(html: str, marks: Marks) -> Derived:
    """Mark the text region and the links of `html`."""
    found = _Pass(html, marks)
    found.feed(html)
    found.close()
    out: list[str] = []
    cursor = 0
    for start, _, end, replacement in sorted(found.edits):
        out += [html[cursor:start], replacement]
        cursor = end
    out.append(html[cursor:])
    return Derived("".join(out), tuple(found.slots))
