"""Rewriting the links of a rendered email, and deriving its text part.

Both use the standard library's HTML parser: it tokenizes real-world email HTML well enough
for these two jobs, and an HTML-to-text or DOM library would add weight for no better answer.
Link rewriting replaces only the `href` values of `<a>` tags and keeps every other byte as the
template produced it.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape, unescape
from html.parser import HTMLParser

from pertinent.tracking.tokens import TokenSigner

_SKIP_TEXT = {"style", "script", "head", "title"}
_BLOCK = {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "li", "table", "section"}


def preferences_url(signer: TokenSigner, base_url: str, message_id: str) -> str:
    """The preference centre of the person an email went to (`/p/{token}`), named by the
    email: whoever holds the email may change what its recipient gets, as with unsubscribe."""
    return f"{base_url.rstrip('/')}/p/{signer.sign('preferences', {'m': message_id})}"


class _AnchorFinder(HTMLParser):
    def __init__(self, source: str):
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[int, str, str]] = []  # (offset, raw tag, href)
        self._line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self._line_starts.append(index + 1)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = dict(attrs).get("href")
        raw = self.get_starttag_text()
        if href and raw:
            line, column = self.getpos()
            self.anchors.append((self._line_starts[line - 1] + column, raw, href))


def rewrite_links(html: str, rewrite: Callable[[str], str | None]) -> tuple[str, list[str]]:
    """Replace each `<a href>` by `rewrite(url)` (None keeps it); return html and kept urls."""
    finder = _AnchorFinder(html)
    finder.feed(html)
    finder.close()
    out: list[str] = []
    originals: list[str] = []
    cursor = 0
    for offset, raw, href in finder.anchors:
        new = rewrite(href)
        if new is None:
            continue
        originals.append(href)
        replaced = _replace_href(raw, new)
        out.append(html[cursor:offset])
        out.append(replaced)
        cursor = offset + len(raw)
    out.append(html[cursor:])
    return "".join(out), originals


def _replace_href(raw_tag: str, new_url: str) -> str:
    lowered = raw_tag.lower()
    start = lowered.find("href")
    equals = raw_tag.find("=", start)
    value_start = equals + 1
    while raw_tag[value_start] in " \t\n":
        value_start += 1
    quote = raw_tag[value_start]
    if quote in "\"'":
        value_end = raw_tag.find(quote, value_start + 1) + 1
    else:
        value_end = value_start
        while value_end < len(raw_tag) and raw_tag[value_end] not in " \t\n>":
            value_end += 1
    return f'{raw_tag[:value_start]}"{escape(new_url)}"{raw_tag[value_end:]}'


class _TextMaker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._href: str | None = None
        self._link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TEXT:
            self._skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "a":
            self._href = dict(attrs).get("href")
            self._link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TEXT:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")
        elif tag == "a" and self._href is not None:
            text = " ".join("".join(self._link_text).split())
            self.parts.append(f"{text} ({self._href})" if text else self._href)
            self._href = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._href is not None:
            self._link_text.append(data)
        else:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """A readable plain-text version: block elements on their own lines, links as text (url)."""
    maker = _TextMaker()
    maker.feed(html)
    maker.close()
    lines = [" ".join(line.split()) for line in unescape("".join(maker.parts)).splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip() + "\n"
