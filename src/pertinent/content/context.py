"""What a template sees as `profile`: traits at the top, computed properties under
`computed` (with the clock-dependent ones as of `now`, under the workspace's `profiles:`
settings), first and last seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pertinent.profiles.computed import with_recency
from pertinent.profiles.settings import ProfileSettings
from pertinent.profiles.state import ProfileState


def profile_context(
    state: ProfileState, now: datetime, settings: ProfileSettings | None = None
) -> dict[str, Any]:
    engagement = (settings or ProfileSettings()).engagement
    return {
        **state.traits,
        "id": state.profile_id,
        "computed": with_recency(state.computed, now, engagement),
        "first_seen": state.first_seen.isoformat() if state.first_seen else None,
        "last_seen": state.last_seen.isoformat() if state.last_seen else None,
    }
