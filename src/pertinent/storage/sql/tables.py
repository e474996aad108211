"""Every table Pertinent keeps. Migrations (`migrations.py`) create and change them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    false,
    text,
)

from pertinent.storage.sql.types import Json, SeqInt, UtcDateTime

metadata = MetaData()

# The event log: append-only, ordered by seq, the single source of truth.
events = Table(
    "events",
    metadata,
    Column("seq", SeqInt, primary_key=True, autoincrement=True),
    Column("message_id", String(512), nullable=False, unique=True),
    Column("type", String(16), nullable=False),
    Column("name", String(512)),
    Column("user_id", String(512)),
    Column("anonymous_id", String(512)),
    Column("previous_id", String(512)),
    Column("group_id", String(512)),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("properties", Json, nullable=False),
    Column("traits", Json, nullable=False),
    Column("context", Json, nullable=False),
    Column("is_bot", Boolean, nullable=False),
    # Sent with a browser write key (`Event.browser_key`): never written into the catalogue.
    Column("browser_key", Boolean, nullable=False, server_default=false()),
    # The partition key (`storage.ports.event_partition_key`); partition = pkey % count.
    Column("pkey", BigInteger, nullable=False, server_default="0"),
    # Why ingestion marked the event (`events.model.Flag`), as a JSON list; "[]" for most.
    Column("flags", Json, nullable=False, server_default="[]"),
    # A seq is a position readers keep: SQLite must never hand out one again after the
    # newest events are erased (without AUTOINCREMENT it reuses max(rowid) + 1).
    sqlite_autoincrement=True,
)

# Where each processor has got to in the log.
cursors = Table(
    "cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("seq", SeqInt, nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("profile_id", String(520), primary_key=True),
    Column("traits", Json, nullable=False),
    Column("trait_times", Json, nullable=False),
    Column("computed", Json, nullable=False),
    Column("first_seen", UtcDateTime),
    Column("last_seen", UtcDateTime),
    Column("version", Integer, nullable=False, server_default="1"),
)

# The identity graph: which profile a user id or anonymous id belongs to.
identities = Table(
    "identities",
    metadata,
    Column("kind", String(8), nullable=False),
    Column("value", String(512), nullable=False),
    Column("profile_id", String(520), nullable=False, index=True),
    PrimaryKeyConstraint("kind", "value"),
)

# Each processed event, attributed to its profile: what segments count and timelines show.
profile_events = Table(
    "profile_events",
    metadata,
    Column("seq", SeqInt, primary_key=True, autoincrement=False),
    Column("profile_id", String(520), nullable=False),
    Column("action", String(512)),
    Column("timestamp", UtcDateTime, nullable=False),
    Column("properties", Json, nullable=False),
    Index("ix_profile_events_lookup", "profile_id", "action", "timestamp"),
    # A segment over everyone reads each event of a window once, by action and time.
    Index("ix_profile_events_action", "action", "timestamp", "profile_id"),
)

segment_membership = Table(
    "segment_membership",
    metadata,
    Column("id", SeqInt, primary_key=True, autoincrement=True),
    Column("segment_key", String(128), nullable=False),
    Column("profile_id", String(520), nullable=False),
    Column("entered_at", UtcDateTime, nullable=False),
    Column("exited_at", UtcDateTime),
    Index("ix_membership_current", "segment_key", "exited_at", "profile_id"),
    Index("ix_membership_profile", "profile_id"),
    Index("ix_membership_entered", "segment_key", "entered_at"),
    # One open membership per person and segment, whoever writes it.
    Index(
        "ux_membership_open",
        "segment_key",
        "profile_id",
        unique=True,
        sqlite_where=text("exited_at IS NULL"),
        postgresql_where=text("exited_at IS NULL"),
    ),
)

# Every saved version of each segment's definition; the newest without `removed_at` is live.
segment_versions = Table(
    "segment_versions",
    metadata,
    Column("segment_key", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", Json, nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("removed_at", UtcDateTime),
    PrimaryKeyConstraint("segment_key", "version"),
)

# Due-time wake-ups for segment window edges.
timers = Table(
    "timers",
    metadata,
    Column("segment_key", String(128), nullable=False),
    Column("profile_id", String(520), nullable=False),
    Column("due_at", UtcDateTime, nullable=False, index=True),
    Column("pkey", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("segment_key", "profile_id"),
)

journey_instances = Table(
    "journey_instances",
    metadata,
    Column("id", SeqInt, primary_key=True, autoincrement=True),
    Column("instance_key", String(64), nullable=False, unique=True),
    Column("journey_key", String(128), nullable=False),
    Column("profile_id", String(520), nullable=False, index=True),
    Column("pkey", BigInteger, nullable=False, server_default="0"),
    # A step id (`journeys.model.StepId`, always starting with a letter). Databases from
    # before step ids keep this column's INTEGER type on SQLite, whose affinity stores text
    # that is not a number as text.
    Column("step", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("wake_at", UtcDateTime),
    Column("wait_event", String(512)),
    Column("trigger", Json, nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("version", Integer, nullable=False, server_default="1"),
    Column("step_at", UtcDateTime),
    Column("exit_reason", String(200)),
    Column("goal_at", UtcDateTime),
    Index("ix_journey_due", "status", "wake_at"),
    Index("ix_journey_active", "journey_key", "profile_id", "status"),
)

# Every version of every journey's definition: instances run on the one they started on.
journey_versions = Table(
    "journey_versions",
    metadata,
    Column("journey_key", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("definition", Json, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("journey_key", "version"),
)

# Numbers per journey, version and step (entered, sent, capped, delayed, goal, exits ...),
# added to in the transaction of the transitions they count; the journey_step events in the
# log say the same, this is their running total.
journey_counts = Table(
    "journey_counts",
    metadata,
    Column("journey_key", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("step", String(64), nullable=False),
    Column("metric", String(200), nullable=False),
    Column("n", BigInteger, nullable=False),
    PrimaryKeyConstraint("journey_key", "version", "step", "metric"),
)

# When each scheduled journey next fires.
journey_schedules = Table(
    "journey_schedules",
    metadata,
    Column("journey_key", String(128), primary_key=True),
    Column("next_at", UtcDateTime, nullable=False),
)

# Broadcasts: a template to a segment's members at a time; each member a recipient row
# that keeps its outcome (one email per person per broadcast).
broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", SeqInt, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("template", String(128), nullable=False),
    Column("segment", String(128), nullable=False),
    Column("send_at", UtcDateTime, nullable=False),
    Column("local_time", Boolean, nullable=False),
    Column("per_hour", Integer),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("targeted", Integer, nullable=False, server_default="0"),
    Index("ix_broadcasts_status", "status", "send_at"),
)

broadcast_recipients = Table(
    "broadcast_recipients",
    metadata,
    Column("broadcast_id", BigInteger, nullable=False),
    Column("profile_id", String(520), nullable=False, index=True),
    Column("pkey", BigInteger, nullable=False, server_default="0"),
    Column("due_at", UtcDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending | done
    Column("outcome", String(200)),
    PrimaryKeyConstraint("broadcast_id", "profile_id"),
    Index("ix_recipients_due", "status", "due_at"),
)

# Webhook calls of journey steps, and every attempt at each.
webhook_calls = Table(
    "webhook_calls",
    metadata,
    Column("id", SeqInt, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("journey_key", String(128), nullable=False),
    Column("step", String(64), nullable=False),
    Column("profile_id", String(520), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("headers", Json, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("lease_owner", String(200)),
    Index("ix_webhook_due", "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", SeqInt, primary_key=True, autoincrement=True),
    Column("call_id", BigInteger, nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", SeqInt, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(256), nullable=False, unique=True),
    Column("message_id", String(128), nullable=False, unique=True),
    Column("profile_id", String(520), nullable=False, index=True),
    Column("journey_key", String(128)),
    Column("template", String(128), nullable=False),
    Column("to_address", String(512), nullable=False),
    Column("subject", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("unsubscribe_url", Text, nullable=False),
    Column("meta", Json, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("last_error", Text),
    Column("lease_owner", String(200)),
    Index("ix_outbox_due", "status", "next_attempt_at"),
    # A bounce or complaint that names only the address finds its person through here.
    Index("ix_outbox_to_address", "to_address", "created_at"),
)

# Addresses never to send to again, for each reason (unsubscribed, complained, bounced).
suppressions = Table(
    "suppressions",
    metadata,
    Column("address", String(512), nullable=False),
    Column("profile_id", String(520), index=True),
    Column("reason", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("address", "reason"),
)

products = Table(
    "products",
    metadata,
    Column("item_id", String(256), primary_key=True),
    Column("title", Text),
    Column("url", Text),
    Column("image", Text),
    Column("price", Float),
    Column("category", String(256), index=True),
    Column("in_stock", Boolean, nullable=False),
    Column("created_at", UtcDateTime),
    Column("extra", Json, nullable=False),
    # The person whose event last changed the row (None: an import or the products API), so
    # that erasing them removes what they wrote into the shared catalogue.
    Column("described_by", String(520), index=True),
)

# Each person's consent per topic, as history: the newest row of a topic (or of "*", every
# topic) is the person's choice now. A pending opt-in names the address that must confirm it.
consent = Table(
    "consent",
    metadata,
    Column("id", SeqInt, primary_key=True, autoincrement=True),
    Column("profile_id", String(520), nullable=False, index=True),
    Column("topic", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("source", String(32), nullable=False),
    Column("address", String(512)),
    sqlite_autoincrement=True,  # history is in id order; an id is never handed out twice
)

# Trained models, as versioned blobs every process can load.
artefacts = Table(
    "artefacts",
    metadata,
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("meta", Json, nullable=False),
    Column("blob", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("name", "version"),
)

# People erased since the newest model was trained: what every loaded model must forget.
erasures = Table(
    "erasures",
    metadata,
    Column("id", SeqInt, primary_key=True, autoincrement=True),
    Column("profile_id", String(520), nullable=False),
    Column("erased_at", UtcDateTime, nullable=False),
    sqlite_autoincrement=True,  # ids are marks that loaded models compare against
)

# Live processes (by a stable name) and which processor holds which partition until when.
workers = Table(
    "workers",
    metadata,
    Column("owner", String(200), primary_key=True),
    Column("role", String(32), nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

partition_leases = Table(
    "partition_leases",
    metadata,
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("owner", String(200), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# Tracking-plan violations per event name, field (a JSON pointer) and outcome.
tracking_plan_violations = Table(
    "tracking_plan_violations",
    metadata,
    Column("event", String(512), nullable=False),
    Column("field", String(512), nullable=False),
    Column("rejected", Boolean, nullable=False),
    Column("count", BigInteger, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("event", "field", "rejected"),
)

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UtcDateTime, nullable=False),
)
