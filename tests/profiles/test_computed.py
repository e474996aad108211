"""Computed properties kept up event by event agree with computing them from scratch."""

from __future__ import annotations

from conftest import START
from factories import track
from hypothesis import given
from hypothesis import strategies as st

from pertinent.profiles.computed import favourite, fold_event


@given(st.lists(st.lists(st.sampled_from(["Books", "Garden", "Kitchen", "Toys"]), max_size=3)))
def test_the_favourite_category_kept_per_event_is_the_most_frequent_with_ties_by_name(
    visits: list[list[str]],
) -> None:
    computed: dict[str, object] = {}
    for categories in visits:
        products = [{"product_id": f"p-{c}", "category": c} for c in categories]
        fold_event(computed, track("Order Completed", START, user="u", products=products))
        counts = computed["category_counts"]
        assert isinstance(counts, dict)
        assert computed["favourite_category"] == favourite(counts)


def test_the_persons_own_activity_only() -> None:
    """System events are not counted and never 'seen'; opens and clicks count and engage
    but are no visit; a machine's open is nobody's; a group call keeps the group's traits."""
    from datetime import timedelta

    from pertinent.events.model import Event
    from pertinent.events.system import system_event
    from pertinent.profiles.fold import apply_event
    from pertinent.profiles.state import ProfileState

    state = ProfileState("u")
    later = START + timedelta(hours=5)
    apply_event(state, track("Page Viewed", START, user="u"))
    apply_event(state, track("Order Completed", START, user="u", revenue=30))
    apply_event(state, track("Order Completed", START, user="u", revenue=20))
    apply_event(state, system_event("segment_entered", "u", {"segment": "s"}, later))
    apply_event(state, system_event("email_opened", "u", {"machine": True}, later))
    apply_event(state, system_event("email_clicked", "u", {}, later))
    group = Event("g", "group", START, START, user_id="u", group_id="acme", traits={"plan": "pro"})
    apply_event(state, group)
    c = state.computed
    assert c["event_counts"] == {"Page Viewed": 1, "Order Completed": 2, "email_clicked": 1}
    assert state.last_seen == START and c["last_seen_at"] == START.isoformat()
    assert c["last_engaged_at"] == later.isoformat(), "the human click engaged"
    assert c["average_order_value"] == 25.0
    assert c["preferred_send_hour"] == START.hour
    assert state.traits["groups"] == {"acme": {"plan": "pro"}}


def test_the_engagement_tier_a_segment_compiles_is_the_one_a_profile_shows() -> None:
    from datetime import timedelta

    from pertinent.profiles.computed import with_recency
    from pertinent.profiles.settings import ProfileSettings
    from pertinent.segments.derived import lower
    from pertinent.segments.evaluate import Person, holds
    from pertinent.segments.language import TraitCondition

    settings = ProfileSettings()
    for hours in (None, 0, 24 * 7 - 1, 24 * 7, 24 * 29, 24 * 30, 24 * 400):
        computed = (
            {}
            if hours is None
            else {"last_engaged_at": (START - timedelta(hours=hours)).isoformat()}
        )
        shown = with_recency(computed, START)["engagement_tier"]
        for tier in ("high", "moderate", "lapsed"):
            cond = TraitCondition(type="trait", trait="computed.engagement_tier", value=tier)
            assert holds(lower(cond, settings), Person({}, computed), START, {}) == (shown == tier)
