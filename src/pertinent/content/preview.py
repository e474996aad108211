"""A template rendered for a real person, as the journey would send it: their profile, the
segments they are in now, their latest event that starts a journey sending this template
(the `event` of the email), and the context hooks (recommendations ...).

A preview is an email that was never sent: its links work (a click redirects), but record
nothing, since no outbox row bears its Message-ID.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pertinent.clock import Clock
from pertinent.content.context import ContextBuilder
from pertinent.content.render import RenderedEmail, Renderer
from pertinent.errors import NotFoundError
from pertinent.journeys.model import EventTrigger, JourneyDefinition, SendStep
from pertinent.processor.journeys import trigger_payload
from pertinent.storage.ports import ReadModel

PREVIEW_ID = "preview"  # the Message-ID a preview's links carry
_TIMELINE = 500  # how far back a person's events are searched for a trigger


@dataclass(frozen=True)
class Preview:
    template: str
    profile_id: str | None
    event: str | None  # the name of the event used as `event`, if one was found
    email: RenderedEmail


@dataclass
class Previewer:
    renderer: Renderer
    contexts: ContextBuilder
    reads: ReadModel
    journeys: Sequence[JourneyDefinition]
    clock: Clock

    def triggers(self, template: str) -> set[str]:
        """The events that start a journey which sends `template`."""
        return {
            journey.trigger.event
            for journey in self.journeys
            if isinstance(journey.trigger, EventTrigger)
            and any(isinstance(s, SendStep) and s.template == template for s in journey.steps)
        }

    def preview(self, template: str, user_id: str | None) -> Preview:
        """`template` for the person with this user or anonymous id (None: nobody, every
        variable missing). Raises NotFoundError for an unknown person, TemplateError for a
        template that does not render."""
        if user_id is None:
            return Preview(template, None, None, self._render(template, {}))
        profile_id = self.reads.find(user_id)
        if profile_id is None:
            raise NotFoundError(f"no profile for {user_id!r}", where="profile")
        return self._for(template, profile_id)

    def samples(self, template: str, count: int) -> list[Preview]:
        """Previews for up to `count` people (the first by id): what lint looks at."""
        return [self._for(template, pid) for pid in self.reads.profile_ids(count, 0)]

    def _for(self, template: str, profile_id: str) -> Preview:
        view = self.reads.profile(profile_id)
        if view is None:
            raise NotFoundError(f"no profile {profile_id!r}", where="profile")
        wanted = self.triggers(template)
        found = next(
            (e.event for e in self.reads.timeline(profile_id, _TIMELINE) if e.action in wanted),
            None,
        )
        context = self.contexts.build(
            view.state,
            self.clock.now(),
            segments=view.segments,
            about={"event": trigger_payload(found) if found else {}},
        )
        event = found.name if found else None
        return Preview(template, profile_id, event, self._render(template, context))

    def _render(self, template: str, context: dict[str, Any]) -> RenderedEmail:
        return self.renderer.render(template, context, message_id=PREVIEW_ID, now=self.clock.now())
