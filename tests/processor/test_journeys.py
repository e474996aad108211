"""The journeys engine, without a database: triggers, steps, caps and edits as decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from conftest import START
from factories import track
from pydantic import ValidationError

from pertinent.events.model import Event
from pertinent.journeys.caps import SendPolicy, SentRecord
from pertinent.journeys.graph import Graph
from pertinent.journeys.model import Cap, Instance, JourneyDefinition
from pertinent.journeys.timing import QuietHours, zone_named
from pertinent.journeys.versions import JourneySet, Version
from pertinent.processor.journeys import (
    Advanced,
    Context,
    JourneyState,
    SendRequest,
    on_events,
    on_wake,
)
from pertinent.profiles.state import ProfileState

PARIS = zone_named("Europe/Paris")
assert PARIS is not None


def journey(spec: dict[str, Any]) -> JourneyDefinition:
    return JourneyDefinition.model_validate(spec)


def policy(
    caps: Sequence[Cap] = (), quiet: QuietHours | None = None, transactional: Sequence[str] = ()
) -> SendPolicy:
    def category(template: str) -> Any:
        return "transactional" if template in transactional else "marketing"

    return SendPolicy(list(caps), quiet, PARIS, category)  # type: ignore[arg-type]


def person(pid: str, **traits: Any) -> ProfileState:
    return ProfileState(pid, traits={"email": f"{pid}@example.com", **traits})


def run_events(
    journeys: Sequence[JourneyDefinition] | JourneySet,
    events: Sequence[tuple[str, Event]],
    now: datetime = START,
    *,
    active: dict[str, list[Instance]] | None = None,
    profiles: dict[str, ProfileState] | None = None,
    send: SendPolicy | None = None,
    merged: Sequence[str] = (),
    state: JourneyState | None = None,
) -> Advanced:
    catalogue = journeys if isinstance(journeys, JourneySet) else JourneySet.of(list(journeys))
    context = Context(profiles or {pid: person(pid) for pid, _ in events})
    return on_events(
        catalogue,
        send or policy(),
        state or JourneyState(active or {}),
        context,
        events,
        merged,
        now,
    )


def wake(
    journeys: Sequence[JourneyDefinition] | JourneySet,
    due: Sequence[Instance],
    now: datetime,
    *,
    profiles: dict[str, ProfileState] | None = None,
    send: SendPolicy | None = None,
    sent: dict[str, list[SentRecord]] | None = None,
) -> Advanced:
    catalogue = journeys if isinstance(journeys, JourneySet) else JourneySet.of(list(journeys))
    context = Context(
        profiles or {i.profile_id: person(i.profile_id) for i in due}, sent=sent or {}
    )
    return on_wake(catalogue, send or policy(), context, due, now)


def steps(advanced: Advanced) -> list[str]:
    return [
        f"send {e.template}"
        if isinstance(e, SendRequest)
        else e.properties.get("transition", f"{e.type}")
        for e in advanced.timeline
    ]


VIP = journey(
    {
        "key": "vip",
        "trigger": {
            "type": "event",
            "event": "Order Completed",
            "where": [{"property": "revenue", "op": "gt", "value": 1000}],
        },
        "steps": [{"type": "send", "template": "vip"}],
    }
)
CART = journey(
    {
        "key": "cart",
        "trigger": {"type": "event", "event": "Product Added"},
        "exit_on": ["Order Completed"],
        "steps": [
            {"type": "wait_for_event", "event": "Order Completed", "timeout": "1h"},
            {"type": "send", "template": "cart"},
        ],
    }
)


def test_a_trigger_filter_compares_like_a_segment_does() -> None:
    small = track("Order Completed", START, user="u1", revenue=20)
    big = track("Order Completed", START, user="u2", revenue=1500)
    text = track("Order Completed", START, user="u3", revenue="1500")
    advanced = run_events([VIP], [("u1", small), ("u2", big), ("u3", text)])
    assert [(i.journey_key, i.profile_id, i.status) for i in advanced.instances] == [
        ("vip", "u2", "completed")
    ]
    assert steps(advanced) == ["entered", "send vip", "completed"]


def test_a_cart_waits_for_the_order_and_sends_when_the_hour_passes() -> None:
    added = track("Product Added", START, user="u1", product_id="k1")
    [waiting] = run_events([CART], [("u1", added)]).instances
    assert (waiting.status, waiting.step, waiting.wake_at, waiting.wait_event) == (
        "waiting",
        "step1",
        START + timedelta(hours=1),
        "Order Completed",
    )
    woke = wake([CART], [waiting], START + timedelta(hours=1))
    assert steps(woke) == ["send cart", "completed"]
    ordered = run_events(
        [CART],
        [("u1", track("Order Completed", START, user="u1", revenue=5))],
        START + timedelta(minutes=30),
        active={"u1": [waiting]},
    )
    assert [(i.journey_key, i.status, i.exit_reason) for i in ordered.instances] == [
        ("cart", "exited", "event Order Completed")
    ]


def test_the_same_trigger_makes_the_same_instance_and_never_means_never() -> None:
    welcome = journey(
        {
            "key": "welcome",
            "trigger": {"type": "event", "event": "Signed Up"},
            "reentry": "never",
            "steps": [{"type": "send", "template": "welcome"}],
        }
    )
    signed = track("Signed Up", START, user="u1", message_id="m-signup")
    assert run_events([welcome], [("u1", signed)]).instances == (
        run_events([welcome], [("u1", signed)]).instances
    ), "a replay derives the same key"
    entered = JourneyState({}, {("welcome", "u1"): START - timedelta(days=400)})
    later = track("Signed Up", START, user="u1")
    assert not run_events([welcome], [("u1", later)], state=entered).instances


def test_a_cooldown_lets_a_person_in_again_only_after_it() -> None:
    cart = journey({**CART.model_dump(by_alias=True), "cooldown": "1d"})
    added = track("Product Added", START, user="u1")
    recently = JourneyState({}, {("cart", "u1"): START - timedelta(hours=2)})
    assert not run_events([cart], [("u1", added)], state=recently).instances
    long_ago = JourneyState({}, {("cart", "u1"): START - timedelta(days=2)})
    assert run_events([cart], [("u1", added)], state=long_ago).instances


BRANCHY = journey(
    {
        "key": "post_purchase",
        "trigger": {"type": "event", "event": "Order Completed"},
        "steps": [
            {
                "id": "big_spender",
                "type": "branch",
                "branches": [
                    {
                        "condition": {
                            "type": "trait",
                            "trait": "computed.revenue",
                            "op": "gt",
                            "value": 500,
                        },
                        "next": "thanks_vip",
                    }
                ],
                "else": "thanks",
            },
            {"id": "thanks_vip", "type": "send", "template": "vip", "next": "tag"},
            {"id": "thanks", "type": "send", "template": "thanks", "next": "tag"},
            {"id": "tag", "type": "update_traits", "traits": {"bought": True}},
            {
                "id": "check",
                "type": "branch",
                "branches": [
                    {
                        "condition": {"type": "trait", "trait": "bought", "value": True},
                        "next": "crm",
                    }
                ],
            },
            {"id": "crm", "type": "webhook", "url": "https://crm.example/hook"},
        ],
    }
)


def test_a_branch_takes_the_first_matching_path_and_later_steps_see_updated_traits() -> None:
    rich = ProfileState("rich", traits={"email": "r@example.com"}, computed={"revenue": 900})
    poor = ProfileState("poor", traits={"email": "p@example.com"}, computed={"revenue": 20})
    orders = [
        ("rich", track("Order Completed", START, user="rich")),
        ("poor", track("Order Completed", START, user="poor")),
    ]
    advanced = run_events([BRANCHY], orders, profiles={"rich": rich, "poor": poor})
    sends = [
        (e.instance.profile_id, e.template) for e in advanced.timeline if isinstance(e, SendRequest)
    ]
    assert sends == [("rich", "vip"), ("poor", "thanks")]
    identifies = [e for e in advanced.timeline if isinstance(e, Event) and e.type == "identify"]
    assert [(e.user_id, e.traits) for e in identifies] == [
        ("rich", {"bought": True}),
        ("poor", {"bought": True}),
    ]
    assert [(c.profile_id, c.url) for c in advanced.webhooks] == [
        ("rich", "https://crm.example/hook"),
        ("poor", "https://crm.example/hook"),
    ], "the branch after update_traits saw the new trait"
    assert '"person"' in advanced.webhooks[0].body
    assert {i.status for i in advanced.instances} == {"completed"}


def test_a_wait_until_local_time_wakes_at_that_hour_in_the_persons_zone() -> None:
    morning = journey(
        {
            "key": "digest",
            "trigger": {"type": "event", "event": "Signed Up"},
            "steps": [
                {"type": "wait", "until_time": "10:00", "weekdays": ["mon", "wed"]},
                {"type": "send", "template": "digest"},
            ],
        }
    )
    tuesday = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
    profiles = {
        "tokyo": person("tokyo", timezone="Asia/Tokyo"),
        "paris": person("paris"),  # no zone: the workspace's (Europe/Paris here)
        "bogus": person("bogus", timezone="Mars/Olympus"),
    }
    advanced = run_events(
        [morning],
        [(pid, track("Signed Up", tuesday, user=pid)) for pid in profiles],
        tuesday,
        profiles=profiles,
    )
    wakes = {i.profile_id: i.wake_at for i in advanced.instances}
    assert wakes == {
        "tokyo": datetime(2026, 3, 4, 1, 0, tzinfo=UTC),  # Wednesday 10:00 in Tokyo
        "paris": datetime(2026, 3, 4, 9, 0, tzinfo=UTC),  # Wednesday 10:00 in Paris
        "bogus": datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
    }


def test_a_wait_until_a_date_trait_minus_an_offset_and_without_a_date() -> None:
    trial = journey(
        {
            "key": "trial",
            "trigger": {"type": "event", "event": "Trial Started"},
            "steps": [
                {"type": "wait", "until_trait": "trial_ends_at", "offset": "-3d"},
                {"type": "send", "template": "trial_ending"},
            ],
        }
    )
    profiles = {
        "ann": person("ann", trial_ends_at="2026-03-20T12:00:00Z"),
        "bob": person("bob", trial_ends_at="2026-03-03"),  # already within 3 days
        "cat": person("cat"),
    }
    advanced = run_events(
        [trial],
        [(pid, track("Trial Started", START, user=pid)) for pid in profiles],
        profiles=profiles,
    )
    by = {i.profile_id: i for i in advanced.instances}
    assert by["ann"].wake_at == datetime(2026, 3, 17, 12, 0, tzinfo=UTC)
    assert by["bob"].status == "completed", "the date has passed: it goes straight on"
    assert (by["cat"].status, by["cat"].exit_reason) == ("exited", "no date in trial_ends_at")
    assert [e.instance.profile_id for e in advanced.timeline if isinstance(e, SendRequest)] == [
        "bob"
    ]


def test_an_exit_condition_ends_an_instance_at_the_next_event() -> None:
    nurture = journey(
        {
            "key": "nurture",
            "trigger": {"type": "event", "event": "Signed Up"},
            "exit": {"condition": {"type": "trait", "trait": "plan", "op": "eq", "value": "paid"}},
            "steps": [{"type": "wait", "duration": "7d"}, {"type": "send", "template": "n"}],
        }
    )
    [waiting] = run_events([nurture], [("u1", track("Signed Up", START, user="u1"))]).instances
    upgraded = {"u1": person("u1", plan="paid")}
    later = run_events(
        [nurture],
        [("u1", track("Page Viewed", START, user="u1"))],
        active={"u1": [waiting]},
        profiles=upgraded,
    )
    assert [(i.status, i.exit_reason) for i in later.instances] == [("exited", "exit condition")]


def test_loading_a_broken_graph_names_the_key_path() -> None:
    def problems(steps: list[dict[str, Any]]) -> str:
        with pytest.raises(ValidationError) as caught:
            journey({"key": "j", "trigger": {"type": "event", "event": "E"}, "steps": steps})
        return str(caught.value)

    assert "steps.0.next: no step 'nowhere'" in problems(
        [{"type": "send", "template": "t", "next": "nowhere"}]
    )
    assert "step 'orphan' cannot be reached" in problems(
        [
            {"type": "send", "template": "t", "next": "exit"},
            {"id": "orphan", "type": "send", "template": "t"},
        ]
    )
    assert "never waits" in problems(
        [
            {"id": "a", "type": "send", "template": "t", "next": "b"},
            {"id": "b", "type": "send", "template": "t", "next": "a"},
        ]
    )
    assert "used twice" in problems(
        [{"id": "a", "type": "send", "template": "t"}, {"id": "a", "type": "exit"}]
    )
    looping = journey(
        {
            "key": "j",
            "trigger": {"type": "event", "event": "E"},
            "steps": [
                {"id": "a", "type": "send", "template": "t"},
                {"id": "b", "type": "wait", "duration": "1d", "next": "a"},
            ],
        }
    )
    assert Graph(looping).first == "a", "a loop through a wait is fine"


def _versions(*definitions: JourneyDefinition) -> JourneySet:
    """Each definition as the next version of its journey; the last is live."""
    versions = [Version(d.key, n, d, Graph(d)) for n, d in enumerate(definitions, start=1)]
    return JourneySet(versions, {definitions[-1].key: len(definitions)})


WELCOME_V1 = journey(
    {
        "key": "welcome",
        "trigger": {"type": "event", "event": "Signed Up"},
        "steps": [
            {"id": "hello", "type": "send", "template": "welcome"},
            {"id": "pause", "type": "wait", "duration": "2d"},
            {"id": "tips", "type": "send", "template": "tips"},
        ],
    }
)


def test_an_edit_leaves_running_instances_on_their_version() -> None:
    [waiting] = run_events([WELCOME_V1], [("u1", track("Signed Up", START, user="u1"))]).instances
    assert (waiting.version, waiting.step) == (1, "pause")
    v2 = journey(
        {
            "key": "welcome",
            "trigger": {"type": "event", "event": "Signed Up"},
            "steps": [{"id": "hello2", "type": "send", "template": "welcome_v2"}],
        }
    )
    catalogue = _versions(WELCOME_V1, v2)
    woke = wake(catalogue, [waiting], START + timedelta(days=2))
    assert steps(woke) == ["send tips", "completed"], "the removed step finishes on version 1"
    fresh = run_events(catalogue, [("u2", track("Signed Up", START, user="u2"))])
    assert steps(fresh) == ["entered", "send welcome_v2", "completed"]
    assert fresh.instances[0].version == 2


def test_migrate_moves_waiting_instances_and_their_wait_counts_from_arrival() -> None:
    [waiting] = run_events([WELCOME_V1], [("u1", track("Signed Up", START, user="u1"))]).instances
    v2 = journey(
        {
            "key": "welcome",
            "trigger": {"type": "event", "event": "Signed Up"},
            "migrate": {"pause": "short_pause"},
            "steps": [
                {"id": "hello", "type": "send", "template": "welcome"},
                {"id": "short_pause", "type": "wait", "duration": "1d"},
                {"id": "tips2", "type": "send", "template": "tips_v2"},
            ],
        }
    )
    woke = wake(
        _versions(WELCOME_V1, v2), [replace(waiting, wake_at=START)], START + timedelta(hours=1)
    )
    [moved] = woke.instances
    assert (moved.version, moved.step, moved.wake_at) == (
        2,
        "short_pause",
        START + timedelta(days=1),
    )
    done = wake(_versions(WELCOME_V1, v2), [moved], START + timedelta(days=1))
    assert steps(done) == ["send tips_v2", "completed"]


def test_a_removed_journey_or_step_ends_its_instances_without_an_error() -> None:
    [waiting] = run_events([WELCOME_V1], [("u1", track("Signed Up", START, user="u1"))]).instances
    gone = JourneySet([Version("welcome", 1, WELCOME_V1, Graph(WELCOME_V1))], {})
    [ended] = wake(gone, [waiting], START + timedelta(days=2)).instances
    assert (ended.status, ended.exit_reason) == ("exited", "journey removed")
    [lost] = wake([WELCOME_V1], [replace(waiting, step="no_such_step")], START).instances
    assert (lost.status, lost.exit_reason) == ("exited", "step no_such_step gone")


def test_after_a_merge_the_older_instance_goes_on_and_the_other_exits() -> None:
    older = Instance(
        "a", "cart", "u1", "step1", "waiting", START, wake_at=START + timedelta(hours=1)
    )
    newer = replace(older, key="b", started_at=START + timedelta(minutes=5))
    advanced = run_events([CART], [], active={"u1": [newer, older]}, merged=["u1"])
    assert [(i.key, i.status, i.exit_reason) for i in advanced.instances] == [
        ("b", "exited", "merged")
    ]


def test_imported_history_starts_and_ends_nothing() -> None:
    old = track("Product Added", START, user="u1")
    old.context["pertinent"] = {"historic": True}
    assert not run_events([CART], [("u1", old)]).instances


def test_quiet_hours_hold_a_marketing_email_until_morning_in_the_persons_zone() -> None:
    quiet = policy(quiet=QuietHours(time(21), time(8)), transactional=["receipt"])
    late = datetime(2026, 3, 2, 21, 20, tzinfo=UTC)  # 22:20 in Paris
    receipt = journey(
        {
            "key": "receipt",
            "trigger": {"type": "event", "event": "Order Completed"},
            "steps": [{"type": "send", "template": "receipt"}],
        }
    )
    held = run_events(
        [VIP, receipt],
        [("u1", track("Order Completed", late, user="u1", revenue=5000))],
        late,
        send=quiet,
    )
    by_journey = {i.journey_key: i for i in held.instances}
    vip, sent = by_journey["vip"], by_journey["receipt"]
    assert (vip.status, vip.step, vip.wake_at) == (
        "waiting",
        "step1",
        datetime(2026, 3, 3, 7, 0, tzinfo=UTC),  # 08:00 in Paris
    )
    assert sent.status == "completed", "a transactional email goes at once"
    assert held.counts[("vip", 1, "step1", "delayed")] == 1
    morning = wake([VIP], [vip], datetime(2026, 3, 3, 7, 0, tzinfo=UTC), send=quiet)
    assert steps(morning) == ["send vip", "completed"]


def test_caps_skip_marketing_sends_and_count_them_at_their_step() -> None:
    capped = policy(caps=[Cap(max=1, per=timedelta(days=1))])
    earlier = SentRecord("u1", START - timedelta(hours=3), "marketing", "other", "s")
    [waiting] = run_events([CART], [("u1", track("Product Added", START, user="u1"))]).instances
    woke = wake([CART], [waiting], START + timedelta(hours=1), send=capped, sent={"u1": [earlier]})
    assert steps(woke) == ["send", "completed"]
    assert woke.timeline[0].properties["outcome"] == "capped"  # type: ignore[union-attr]
    assert woke.counts[("cart", 1, "step2", "capped")] == 1
    a_day_later = SentRecord("u1", START - timedelta(days=2), "marketing", "other", "s")
    free = wake(
        [CART], [waiting], START + timedelta(hours=1), send=capped, sent={"u1": [a_day_later]}
    )
    assert steps(free) == ["send cart", "completed"]


def test_a_journey_cap_counts_only_its_own_emails() -> None:
    own_cap = journey({**CART.model_dump(by_alias=True), "caps": [{"max": 1, "per": "7d"}]})
    others = [SentRecord("u1", START, "marketing", "welcome", "hello")]
    mine = [SentRecord("u1", START, "marketing", "cart", "step2")]
    [waiting] = run_events([own_cap], [("u1", track("Product Added", START, user="u1"))]).instances
    later = START + timedelta(hours=1)
    assert steps(wake([own_cap], [waiting], later, sent={"u1": others})) == [
        "send cart",
        "completed",
    ]
    assert steps(wake([own_cap], [waiting], later, sent={"u1": mine}))[0] == "send"


def test_a_step_already_sent_in_this_entry_is_not_sent_again() -> None:
    [waiting] = run_events([CART], [("u1", track("Product Added", START, user="u1"))]).instances
    already = [SentRecord("u1", START + timedelta(minutes=1), "marketing", "cart", "step2")]
    woke = wake([CART], [waiting], START + timedelta(hours=1), sent={"u1": already})
    assert woke.timeline[0].properties["outcome"] == "already sent"  # type: ignore[union-attr]
    assert not [e for e in woke.timeline if isinstance(e, SendRequest)]


def test_a_goal_converts_an_instance_entered_within_its_window_once() -> None:
    cart = journey(
        {**CART.model_dump(by_alias=True), "goal": {"event": "Order Completed", "within": "3d"}}
    )
    [waiting] = run_events([cart], [("u1", track("Product Added", START, user="u1"))]).instances
    [done] = wake([cart], [waiting], START + timedelta(hours=1)).instances
    order = track("Order Completed", START + timedelta(days=1), user="u1")
    state = JourneyState({}, recent={"u1": [done]})
    converted = run_events([cart], [("u1", order)], order.timestamp, state=state)
    assert [(i.key, i.goal_at) for i in converted.instances] == [(done.key, order.timestamp)]
    assert converted.counts[("cart", 1, "step2", "goal")] == 1
    again = run_events(
        [cart],
        [("u1", order)],
        order.timestamp,
        state=JourneyState({}, recent={"u1": converted.instances}),
    )
    assert not again.counts


TIMED = journey(
    {
        "key": "timed",
        "trigger": {"type": "event", "event": "E"},
        "steps": [
            {"type": "wait", "until_time": "10:30", "weekdays": ["mon"]},
            {"type": "wait", "until_trait": "trial_ends_at", "offset": "-3d"},
            {"type": "wait_for_event", "event": "F", "timeout": "90m", "on_event": "exit"},
        ],
    }
)


@pytest.mark.parametrize("definition", [WELCOME_V1, CART, BRANCHY, VIP, TIMED])
def test_a_stored_version_loads_back_as_the_same_definition(definition: JourneyDefinition) -> None:
    from pertinent.journeys.versions import stored_form

    again = JourneyDefinition.model_validate(stored_form(definition))
    assert again == definition and again.digest() == definition.digest()
