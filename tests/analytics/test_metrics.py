"""Per-recipient metrics read off the log rows: what counts as delivered, a human open or
click, a conversion in its window, revenue once, an unsubscribe; and what does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pertinent.analytics.metrics import ActionRow, read_experiments

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
DAYS3 = timedelta(days=3)
GOAL = "Order Completed"


def sent(pid: str, msg: str, variant: str, at: datetime = T0, **extra: Any) -> ActionRow:
    props = {"message_id": msg, "experiment": "subject", "variant": variant, **extra}
    return (pid, "email_sent", at, props)


def event(pid: str, action: str, msg: str, at: datetime, **extra: Any) -> ActionRow:
    return (pid, action, at, {"message_id": msg, **extra})


def order(pid: str, at: datetime, revenue: Any = 40.0) -> ActionRow:
    return (pid, GOAL, at, {"order_id": f"o-{at.isoformat()}", "revenue": revenue})


def test_a_human_open_click_and_order_in_the_window_count() -> None:
    rows = [
        sent("ann", "m1", "b"),
        event("ann", "email_opened", "m1", T0 + timedelta(hours=2)),
        event("ann", "email_clicked", "m1", T0 + timedelta(hours=2, minutes=1)),
        order("ann", T0 + timedelta(days=2)),
    ]
    ann = read_experiments(rows, GOAL, DAYS3).experiments["subject"].recipients["ann"]
    assert (ann.variant, ann.delivered, ann.opened, ann.clicked) == ("b", True, True, True)
    assert ann.converted and ann.revenue == 40.0 and not ann.unsubscribed


def test_machine_engagement_and_orders_outside_the_window_do_not_count() -> None:
    rows = [
        order("ben", T0 - timedelta(hours=1)),
        sent("ben", "m2", "control"),
        event("ben", "email_opened", "m2", T0 + timedelta(seconds=2), machine=True),
        event("ben", "email_clicked", "m2", T0 + timedelta(seconds=3), machine=True),
        order("ben", T0 + DAYS3 + timedelta(seconds=1)),
    ]
    ben = read_experiments(rows, GOAL, DAYS3).experiments["subject"].recipients["ben"]
    assert ben.delivered and not ben.opened and not ben.clicked
    assert not ben.converted and ben.revenue == 0.0


def test_an_order_in_two_windows_counts_once_and_at_the_window_end() -> None:
    rows = [
        sent("cy", "m3", "b"),
        sent("cy", "m4", "b", at=T0 + timedelta(days=1)),
        order("cy", T0 + DAYS3, revenue=25),
        order("cy", T0 + timedelta(days=1, hours=5), revenue="lots"),
    ]
    cy = read_experiments(rows, GOAL, DAYS3).experiments["subject"].recipients["cy"]
    assert cy.converted and cy.revenue == 25.0, "a revenue that is not a number counts 0"
    assert len(cy.sends) == 2


def test_bounced_recipients_count_as_recipients_not_delivered() -> None:
    rows = [
        (
            "dee",
            "email_bounced",
            T0,
            {"message_id": "m5", "experiment": "subject", "variant": "b", "permanent": True},
        ),
        sent("eve", "m6", "b"),
        event("eve", "email_bounced", "m6", T0 + timedelta(minutes=5)),
        sent("fay", "m7", "b"),
    ]
    recipients = read_experiments(rows, GOAL, DAYS3).experiments["subject"].recipients
    assert {p: r.delivered for p, r in recipients.items()} == {
        "dee": False,
        "eve": False,
        "fay": True,
    }


def test_engagement_counts_only_for_the_email_s_own_recipient() -> None:
    rows = [
        sent("gus", "m8", "b"),
        event("hal", "email_clicked", "m8", T0 + timedelta(hours=1)),
        event("gus", "email_clicked", "unknown", T0 + timedelta(hours=1)),
        event("gus", "unsubscribed", "m8", T0 + timedelta(hours=2)),
    ]
    gus = read_experiments(rows, GOAL, DAYS3).experiments["subject"].recipients["gus"]
    assert not gus.clicked and gus.unsubscribed


def test_hostile_properties_are_skipped_and_counted() -> None:
    rows = [
        ("ivy", "email_sent", T0, {"message_id": "m9", "experiment": 7, "variant": "b"}),
        (
            "jo",
            "email_sent",
            T0,
            {"message_id": "m10", "experiment": "subject", "variant": "x" * 500},
        ),
        ("kim", "email_sent", T0, {"experiment": "subject", "variant": "b"}),
        sent("lee", "m11", "b", experiment_weights={"b": "half", "control": 1}),
        ("mo", "email_sent", T0, {"message_id": "m12"}),
    ]
    readout = read_experiments(rows, GOAL, DAYS3)
    assert readout.skipped == 3
    assert list(readout.experiments["subject"].recipients) == ["lee"]
    assert readout.experiments["subject"].recipients["lee"].weights is None


def test_a_person_who_saw_two_variants_counts_under_the_first() -> None:
    rows = [
        sent("nia", "m13", "control", at=T0),
        sent("nia", "m14", "b", at=T0 + timedelta(days=1)),
    ]
    nia = read_experiments(rows, GOAL, DAYS3).experiments["subject"].recipients["nia"]
    assert nia.variant == "control" and nia.crossed_over


def test_one_experiment_can_be_read_alone_and_the_control_is_named_on_the_emails() -> None:
    rows = [
        sent("oz", "m15", "plain", experiment_control="plain"),
        ("pat", "email_sent", T0, {"message_id": "m16", "experiment": "other", "variant": "v"}),
        sent("quin", "m17", "fancy"),
    ]
    readout = read_experiments(rows, GOAL, DAYS3, experiment="subject")
    assert list(readout.experiments) == ["subject"]
    assert readout.experiments["subject"].control == "plain"
    assert readout.experiments["subject"].variants == ["plain", "fancy"]
