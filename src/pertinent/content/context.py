"""What a template sees as `profile`: traits at the top, computed properties under
`computed` (with the clock-dependent ones as of `now`), first and last seen."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pertinent.profiles.computed import with_recency
from pertinent.profiles.state import ProfileState


def profile_context(state: ProfileState, now: datetime) -> dict[str, Any]:
    return {
        **state.traits,
        "id": state.profile_id,
        "computed": with_recency(state.computed, now),
        "first_seen": state.first_seen.isoformat() if state.first_seen else None,
        "last_seen": state.last_seen.isoformat() if state.last_seen else None,
    }
