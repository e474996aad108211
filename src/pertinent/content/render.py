"""Rendering one email for one person.

A template converted once (`mjml.py`) costs, per email, its Liquid (the HTML and the text
part) and the filling of its link slots: a sealed click redirect where the link rules allow
(`links.py`), the URL as it is for `mailto:` and Pertinent's own pages, nothing where a URL
from data is not allowed. A template that must be converted per email goes Liquid → MJML →
CSS inlined → slots and text derived, and then the same filling.

The context gets, besides what the caller gives: `unsubscribe_url`, `preferences_url`,
`view_in_browser_url` and `confirm_url` (sealed for this email; all but the first only when
the template uses them). Every failure on the way (Liquid, MJML, CSS) is a TemplateError
naming the file: the caller records it as a failed email for this person and goes on.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape, unescape
from typing import Any

from liquid import BoundTemplate
from liquid.exceptions import LiquidError

from pertinent.content.derive import Marks, derive, tidy_text
from pertinent.content.filters import NOW, TEMPLATE
from pertinent.content.links import LinkRules, SystemUrls, Verdict, verdict, written_verdict
from pertinent.content.mjml import ConversionError, frame, to_html
from pertinent.content.templates import (
    CompiledBody,
    EmailTemplate,
    TemplateLibrary,
    syntax_error,
)
from pertinent.errors import TemplateError
from pertinent.tracking.tokens import Purpose

# The URLs a template may use, and the token purpose behind each.
_OPTIONAL_URLS: dict[str, Purpose] = {
    "preferences_url": "preferences",
    "view_in_browser_url": "view",
}


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str
    links: tuple[str, ...]  # the destinations of the tracked links, in order
    tracked_links: tuple[str, ...]
    unlinked: tuple[str, ...] = ()  # URLs from data the link rules did not allow
    unsubscribe_url: str = ""


class _Links:
    """One email's link slots, filled. The HTML's are filled first; the text part shows each
    link's URL as its `href` was filled (the n-th text slot of a link, inside a loop, is its
    n-th `href`), so Liquid makes each URL once."""

    def __init__(
        self,
        template: EmailTemplate,
        whole: Sequence[bool],
        renderer: Renderer,
        message_id: str,
        issued: date,
    ):
        self._template = template
        self._whole = whole
        self._renderer = renderer
        self._message_id = message_id
        self._issued = issued
        self._redirects: dict[str, str] = {}
        self._shown: dict[int, deque[str]] = defaultdict(deque)  # per slot, "" if unlinked
        self.tracked: list[str] = []
        self.originals: list[str] = []
        self.unlinked: list[str] = []

    def _decide(self, index: int, url: str) -> Verdict:
        r = self._renderer
        if index < len(self._whole) and self._whole[index]:
            return written_verdict(url, r.urls)
        return verdict(url, self._template.written, r.rules, r.urls)

    def _redirect(self, url: str) -> str:
        found = self._redirects.get(url)
        if found is None:
            found = self._renderer.urls.make("click", self._message_id, self._issued, url)
            self._redirects[url] = found
        return found

    def html(self, match: re.Match[str]) -> str:
        index, value = int(match[1]), match[3]
        url = unescape(value) if "&" in value else value
        shown = self._shown[index]
        match self._decide(index, url):
            case Verdict.TRACK:
                redirect = self._redirect(url)
                self.originals.append(url)
                self.tracked.append(redirect)
                shown.append(redirect)
                return f'href="{redirect}"'
            case Verdict.KEEP:
                shown.append(url)
                return f'href="{value}"'
            case Verdict.DROP:
                if url.strip():  # an empty href is missing data, not a URL left out
                    self.unlinked.append(url)
                shown.append("")
                return ""

    def text(self, match: re.Match[str]) -> str:
        slots = self._shown.get(int(match[1]))
        url = slots.popleft() if slots else ""
        if not url:
            return ""
        return url if match[2] == "b" else f" ({url})"


class Renderer:
    def __init__(self, library: TemplateLibrary, urls: SystemUrls, rules: LinkRules | None = None):
        self.library = library
        self.urls = urls
        self.rules = rules or LinkRules()

    def render(
        self, template_name: str, context: Mapping[str, Any], *, message_id: str, now: datetime
    ) -> RenderedEmail:
        """The email for one person; raises TemplateError naming the file on a broken template."""
        template = self.library.get(template_name)
        issued = now.astimezone(UTC).date()
        unsubscribe = self.urls.make("unsubscribe", message_id, issued)
        data: dict[str, Any] = {**context, "unsubscribe_url": unsubscribe}
        for name, purpose in _OPTIONAL_URLS.items():
            if name in template.names:
                data[name] = self.urls.make(purpose, message_id, issued)
        if "confirm_url" in template.names:  # a sign-up's confirmation (privacy/signup.py)
            data["confirm_url"] = self.urls.make("preferences", message_id, issued) + "/confirm"
        data[NOW] = now
        data[TEMPLATE] = template_name
        subject = " ".join(_render(template, template.subject, data).split())
        preheader = _render(template, template.preheader, data).strip()
        open_url = self.urls.make("open", message_id, issued)
        if isinstance(template.body, CompiledBody):
            data["__preheader"] = preheader
            data["__open_url"] = open_url
            marks, whole = template.body.marks, template.body.written_whole
            marked = _render(template, template.body.html, data)
        else:
            marks, whole = Marks(), ()
            derived = derive(self._convert(template, data), marks)
            marked = frame(derived.html, escape(preheader, quote=False), open_url)
        html, text = marks.split(marked)
        links = _Links(template, whole, self, message_id, issued)
        html = marks.links.sub(links.html, html)
        if template.text is not None:
            text = _render(template, template.text, data)
        else:
            text = tidy_text(marks.links.sub(links.text, text))
        return RenderedEmail(
            subject=subject,
            preheader=preheader,
            html=html,
            text=text,
            links=tuple(links.originals),
            tracked_links=tuple(links.tracked),
            unlinked=tuple(links.unlinked),
            unsubscribe_url=unsubscribe,
        )

    @staticmethod
    def _convert(template: EmailTemplate, data: Mapping[str, Any]) -> str:
        body = _render(template, template.body_source, data)
        try:
            return to_html(body, template.is_mjml)
        except ConversionError as exc:
            kind = "MJML" if template.is_mjml else "HTML"
            raise TemplateError(
                f"{kind} does not convert after Liquid: {exc}",
                where=template.body_source.name,
                hint="the position is in the rendered body; check tags inside {% if %} or "
                "{% for %}",
            ) from exc


def _render(template: EmailTemplate, part: BoundTemplate | None, data: Mapping[str, Any]) -> str:
    """One part rendered; a Liquid error as a TemplateError at the line of the file the
    author wrote (a converted body's error is found again in the body as written)."""
    if part is None:
        return ""
    try:
        return str(part.render(**data))
    except LiquidError as exc:
        body = template.body
        if isinstance(body, CompiledBody) and part is body.html:
            _render(template, template.body_source, data)  # raises at the author's line
        raise syntax_error(exc, part.name) from exc
