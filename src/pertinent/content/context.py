"""What a template sees.

    profile     traits at the top; `id`; `segments` (the keys of the segments the person is
                in now); `computed` (with the clock-dependent ones as of `now`, under the
                workspace's `profiles:` settings); `first_seen` and `last_seen`
    event       the event that started the journey: `name`, `timestamp`, `properties`
    journey     `key`, `step` and `version` (a broadcast has `broadcast.id` instead)
    experiment  the variant this email belongs to (empty outside an experiment)
    recommendations, …   what the hooks add (lazy: computed only if the template asks)

The renderer adds the URLs (`unsubscribe_url`, `preferences_url`, `view_in_browser_url`).
One builder serves the compose phase and the preview, so a preview shows what would be sent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pertinent.profiles.computed import with_recency
from pertinent.profiles.settings import EngagementSettings, ProfileSettings
from pertinent.profiles.state import ProfileState

# Extra context per email (recommendations ...), from the person and the context so far.
ContextHook = Callable[[ProfileState, Mapping[str, Any]], Mapping[str, Any]]


def profile_context(
    state: ProfileState,
    now: datetime,
    segments: Collection[str] = (),
    engagement: EngagementSettings | None = None,
) -> dict[str, Any]:
    return {
        **state.traits,
        "id": state.profile_id,
        "segments": sorted(segments),
        "computed": with_recency(state.computed, now, engagement or EngagementSettings()),
        "first_seen": state.first_seen.isoformat() if state.first_seen else None,
        "last_seen": state.last_seen.isoformat() if state.last_seen else None,
    }


@dataclass
class ContextBuilder:
    hooks: list[ContextHook] = field(default_factory=list)
    profiles: ProfileSettings = field(default_factory=ProfileSettings)

    def build(
        self,
        state: ProfileState,
        now: datetime,
        *,
        segments: Collection[str] = (),
        about: Mapping[str, Any] | None = None,
        experiment: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The context for one email; `about` is what the send is about (`event` and
        `journey`, or `broadcast`)."""
        context: dict[str, Any] = {
            "profile": profile_context(state, now, segments, self.profiles.engagement),
            "event": {},
            "journey": {},
            "experiment": dict(experiment or {}),
            **(about or {}),
        }
        for hook in self.hooks:
            context.update(hook(state, context))
        return context
