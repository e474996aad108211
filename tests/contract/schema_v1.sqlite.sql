-- The schema of version 1 (as released), for the migration test.
CREATE TABLE cursors (
	name VARCHAR(64) NOT NULL, 
	seq INTEGER NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE events (
	seq INTEGER NOT NULL, 
	message_id VARCHAR(512) NOT NULL, 
	type VARCHAR(16) NOT NULL, 
	name VARCHAR(512), 
	user_id VARCHAR(512), 
	anonymous_id VARCHAR(512), 
	previous_id VARCHAR(512), 
	group_id VARCHAR(512), 
	timestamp DATETIME NOT NULL, 
	received_at DATETIME NOT NULL, 
	properties JSON NOT NULL, 
	traits JSON NOT NULL, 
	context JSON NOT NULL, 
	is_bot BOOLEAN NOT NULL, 
	PRIMARY KEY (seq), 
	UNIQUE (message_id)
);
CREATE TABLE identities (
	kind VARCHAR(8) NOT NULL, 
	value VARCHAR(512) NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	PRIMARY KEY (kind, value)
);
CREATE INDEX ix_identities_profile_id ON identities (profile_id);
CREATE TABLE journey_instances (
	id INTEGER NOT NULL, 
	journey_key VARCHAR(128) NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	step INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	wake_at DATETIME, 
	wait_event VARCHAR(512), 
	"trigger" JSON NOT NULL, 
	started_at DATETIME NOT NULL, 
	ended_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_journey_due ON journey_instances (status, wake_at);
CREATE INDEX ix_journey_instances_profile_id ON journey_instances (profile_id);
CREATE INDEX ix_journey_active ON journey_instances (journey_key, profile_id, status);
CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	idempotency_key VARCHAR(256) NOT NULL, 
	message_id VARCHAR(128) NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	journey_key VARCHAR(128), 
	template VARCHAR(128) NOT NULL, 
	to_address VARCHAR(512) NOT NULL, 
	subject TEXT NOT NULL, 
	html TEXT NOT NULL, 
	text TEXT NOT NULL, 
	unsubscribe_url TEXT NOT NULL, 
	meta JSON NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	created_at DATETIME NOT NULL, 
	sent_at DATETIME, 
	last_error TEXT, 
	PRIMARY KEY (id), 
	UNIQUE (idempotency_key), 
	UNIQUE (message_id)
);
CREATE INDEX ix_outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX ix_outbox_profile_id ON outbox (profile_id);
CREATE TABLE products (
	item_id VARCHAR(256) NOT NULL, 
	title TEXT, 
	url TEXT, 
	image TEXT, 
	price FLOAT, 
	category VARCHAR(256), 
	in_stock BOOLEAN NOT NULL, 
	created_at DATETIME, 
	extra JSON NOT NULL, 
	PRIMARY KEY (item_id)
);
CREATE INDEX ix_products_category ON products (category);
CREATE TABLE profile_events (
	seq INTEGER NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	action VARCHAR(512), 
	timestamp DATETIME NOT NULL, 
	properties JSON NOT NULL, 
	PRIMARY KEY (seq)
);
CREATE INDEX ix_profile_events_lookup ON profile_events (profile_id, action, timestamp);
CREATE TABLE profiles (
	profile_id VARCHAR(520) NOT NULL, 
	traits JSON NOT NULL, 
	trait_times JSON NOT NULL, 
	computed JSON NOT NULL, 
	first_seen DATETIME, 
	last_seen DATETIME, 
	PRIMARY KEY (profile_id)
);
CREATE TABLE schema_migrations (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	PRIMARY KEY (version)
);
CREATE TABLE segment_membership (
	id INTEGER NOT NULL, 
	segment_key VARCHAR(128) NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	entered_at DATETIME NOT NULL, 
	exited_at DATETIME, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_membership_current ON segment_membership (segment_key, exited_at, profile_id);
CREATE INDEX ix_membership_profile ON segment_membership (profile_id);
CREATE TABLE suppressions (
	address VARCHAR(512) NOT NULL, 
	profile_id VARCHAR(520), 
	reason VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (address)
);
CREATE INDEX ix_suppressions_profile_id ON suppressions (profile_id);
CREATE TABLE timers (
	segment_key VARCHAR(128) NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	due_at DATETIME NOT NULL, 
	PRIMARY KEY (segment_key, profile_id)
);
CREATE INDEX ix_timers_due_at ON timers (due_at);
