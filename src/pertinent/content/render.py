"""Rendering one email for one person.

Liquid (the person's data) → MJML to HTML (mrml) → CSS inlined (css-inline) → links rewritten
to signed click redirects → open pixel → text part.

MJML is converted per email, after Liquid, because Liquid tags may sit between MJML elements
(`{% if %}` around a section); mrml is a compiled Rust port and takes a fraction of a
millisecond, so doing it once per template would buy little and constrain templates.

Every failure on the way (Liquid, MJML, CSS) is a TemplateError naming the file: the caller
records it as a skipped email for this person and goes on, instead of failing the whole batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

import css_inline
import mrml
from liquid.exceptions import LiquidError

from pertinent.content.links import html_to_text, preferences_url, rewrite_links
from pertinent.content.templates import TemplateLibrary
from pertinent.errors import TemplateError
from pertinent.tracking.tokens import TokenSigner

# Remote stylesheets (web fonts MJML links to) are left alone: rendering must not touch the network.
_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    preheader: str
    html: str
    text: str
    links: tuple[str, ...]
    tracked_links: tuple[str, ...]


class Renderer:
    def __init__(self, library: TemplateLibrary, signer: TokenSigner, base_url: str):
        self.library = library
        self._signer = signer
        self._base = base_url.rstrip("/")

    def unsubscribe_url(self, message_id: str, profile_id: str) -> str:
        token = self._signer.sign("unsubscribe", {"m": message_id, "p": profile_id})
        return f"{self._base}/t/u/{token}"

    def click_url(self, message_id: str, profile_id: str, url: str) -> str:
        token = self._signer.sign("click", {"m": message_id, "p": profile_id, "u": url})
        return f"{self._base}/t/c/{token}"

    def open_url(self, message_id: str, profile_id: str) -> str:
        token = self._signer.sign("open", {"m": message_id, "p": profile_id})
        return f"{self._base}/t/o/{token}.gif"

    def render(
        self, template_name: str, context: Mapping[str, Any], *, message_id: str, profile_id: str
    ) -> RenderedEmail:
        """The email for one person; raises TemplateError naming the file on a broken template."""
        template = self.library.get(template_name)
        unsubscribe = self.unsubscribe_url(message_id, profile_id)
        preferences = preferences_url(self._signer, self._base, message_id)
        # The person's own pages are not tracked: a click on them is not engagement.
        own = {unsubscribe, preferences, preferences + "/confirm"}
        data = {
            **context,
            "unsubscribe_url": unsubscribe,
            "preferences_url": preferences,
            "confirm_url": preferences + "/confirm",
        }
        where = f"{self.library.root / template_name}"
        try:
            subject = " ".join(template.subject.render(**data).split())
            preheader = template.preheader.render(**data).strip() if template.preheader else ""
            body = template.body.render(**data)
            text = template.text.render(**data) if template.text else None
        except LiquidError as exc:
            raise TemplateError(str(exc).strip(), where=where) from exc
        html = _to_inlined_html(body, template.is_mjml, where)
        tracked: list[str] = []

        def track(url: str) -> str | None:
            if url in own or not url.startswith(("http://", "https://")):
                return None
            tracked.append(self.click_url(message_id, profile_id, url))
            return tracked[-1]

        html, originals = rewrite_links(html, track)
        pixel = (
            f'<img src="{self.open_url(message_id, profile_id)}" width="1" height="1" '
            'alt="" style="display:block;border:0">'
        )
        html = html.replace("</body>", pixel + "</body>", 1) if "</body>" in html else html + pixel
        if preheader:
            # The preheader is plain text (no autoescape), so it is escaped on its way into HTML.
            hidden = (
                '<div style="display:none;max-height:0;overflow:hidden">'
                f"{escape(preheader, quote=False)}</div>"
            )
            html = html.replace("<body>", "<body>" + hidden, 1)
        return RenderedEmail(
            subject=subject,
            preheader=preheader,
            html=html,
            text=text if text is not None else html_to_text(html),
            links=tuple(originals),
            tracked_links=tuple(tracked),
        )


def _to_inlined_html(body: str, is_mjml: bool, where: str) -> str:
    """MJML to HTML and CSS inlined, with the bindings' errors as TemplateError.

    mrml reports broken MJML as OSError and css-inline as InlineError (a ValueError); neither
    is a LiquidError, and letting them escape would fail the caller's whole transaction.
    """
    source = f"{where}/body.mjml" if is_mjml else f"{where}/body.html"
    try:
        html = mrml.to_html(body).content if is_mjml else body
        return _INLINER.inline(html)
    except (OSError, ValueError) as exc:
        raise TemplateError(
            f"{'MJML' if is_mjml else 'HTML'} does not convert after Liquid: {exc}",
            where=source,
            hint="the position is in the rendered body; check tags inside {% if %} or {% for %}",
        ) from exc
