"""Consent per topic as history: a person's choice is what they last said, "everything off"
stops every topic until they opt back in, and coming back brings back only what they chose."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import START
from hypothesis import given
from hypothesis import strategies as st

from pertinent.errors import InputError
from pertinent.privacy.consent import (
    EVERY_TOPIC,
    ConsentChange,
    ConsentPolicy,
    ConsentStatus,
    changes_to,
)
from pertinent.privacy.settings import ConsentSettings

TOPICS = ["newsletter", "reminders", "offers"]
POLICY = ConsentPolicy(
    ConsentSettings.model_validate(
        {
            "topics": {
                "newsletter": {"name": "Newsletter", "default": "opted_out"},
                "reminders": {"name": "Reminders"},
                "offers": {"name": "Offers"},
            }
        }
    )
)


def _apply(
    history: list[ConsentChange], wanted: dict[str, ConsentStatus], address: str | None = None
) -> list[ConsentChange]:
    at = START + timedelta(minutes=len(history))
    made = changes_to(POLICY, "u1", history, wanted, "admin", at, address=address)
    return [*history, *made]


def test_before_a_person_says_anything_each_topic_has_its_default() -> None:
    assert POLICY.statuses([]) == {
        "newsletter": "opted_out",
        "reminders": "opted_in",
        "offers": "opted_in",
    }
    assert POLICY.refusal("newsletter", []) == "opted out of newsletter"
    assert POLICY.refusal("reminders", []) is None
    assert POLICY.refusal(None, []) is None, "no topic: only everything-off stops it"


def test_leaving_one_topic_leaves_the_others() -> None:
    history = _apply([], {"reminders": "opted_out"})
    assert POLICY.statuses(history) == {
        "newsletter": "opted_out",
        "reminders": "opted_out",
        "offers": "opted_in",
    }


def test_everything_off_stops_every_topic_and_coming_back_brings_only_what_was_chosen() -> None:
    history = _apply([], {EVERY_TOPIC: "opted_out"})
    assert set(POLICY.statuses(history).values()) == {"opted_out"}
    assert POLICY.refusal(None, history) == "opted out of every topic"
    history = _apply(history, {"newsletter": "opted_in"})
    assert POLICY.statuses(history) == {
        "newsletter": "opted_in",
        "reminders": "opted_out",
        "offers": "opted_out",
    }
    assert POLICY.status(history, EVERY_TOPIC) == "opted_in"


def test_a_pending_sign_up_is_not_an_opt_in_and_does_not_end_everything_off() -> None:
    history = _apply([], {EVERY_TOPIC: "opted_out"})
    history = _apply(history, {"newsletter": "pending"}, address="Ann@Example.com")
    assert POLICY.status(history, "newsletter") == "pending"
    assert POLICY.refusal("newsletter", history) == (
        "the opt-in to newsletter waits for its confirmation"
    )
    assert POLICY.status(history, EVERY_TOPIC) == "opted_out"
    assert POLICY.pending(history, "ann@example.com") == ["newsletter"]
    assert POLICY.pending(history, "someone@else.example") == []


def test_only_real_changes_are_written_and_unknown_topics_are_refused() -> None:
    history = _apply([], {"reminders": "opted_in", "offers": "opted_out"})
    assert [(c.topic, c.status) for c in history] == [("offers", "opted_out")]
    with pytest.raises(InputError) as caught:
        _apply(history, {"newsletters": "opted_in"})
    assert caught.value.where == "topics.newsletters"
    assert "newsletter" in caught.value.message


# What a person can do, as (operation, topic or topics); the model is what they chose.
operations = st.one_of(
    st.tuples(st.just("save"), st.frozensets(st.sampled_from(TOPICS))),
    st.tuples(st.just("leave"), st.sampled_from(TOPICS)),
    st.tuples(st.just("leave_all"), st.none()),
    st.tuples(st.just("sign_up"), st.sampled_from(TOPICS)),
    st.tuples(st.just("confirm"), st.none()),
)


@given(st.lists(operations, max_size=25))
def test_the_status_is_always_what_the_person_chose_last(
    steps: list[tuple[str, object]],
) -> None:
    model: dict[str, ConsentStatus] = POLICY.statuses([])
    everything_off = False
    history: list[ConsentChange] = []
    for op, arg in steps:
        if op == "save":
            chosen = arg if isinstance(arg, frozenset) else frozenset()
            wanted: dict[str, ConsentStatus] = {
                t: "opted_in" if t in chosen else "opted_out" for t in TOPICS
            }
            history = _apply(history, wanted)
            model = dict(wanted)
            everything_off = everything_off and not chosen
        elif op == "leave":
            history = _apply(history, {str(arg): "opted_out"})
            model[str(arg)] = "opted_out"
        elif op == "leave_all":
            history = _apply(history, {EVERY_TOPIC: "opted_out"})
            model = dict.fromkeys(TOPICS, "opted_out")
            everything_off = True
        elif op == "sign_up" and model[str(arg)] != "opted_in":
            history = _apply(history, {str(arg): "pending"}, address="ann@example.com")
            model[str(arg)] = "pending"
        elif op == "confirm":
            waiting = POLICY.pending(history, "ann@example.com")
            history = _apply(history, dict.fromkeys(waiting, "opted_in"))
            model.update(dict.fromkeys(waiting, "opted_in"))
            everything_off = everything_off and not waiting
        assert POLICY.statuses(history) == model, (op, arg)
        assert (POLICY.status(history, EVERY_TOPIC) == "opted_out") == everything_off
