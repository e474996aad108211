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
