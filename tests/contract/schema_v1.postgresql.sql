-- The schema of version 1 (as released), for the migration test.
CREATE TABLE cursors (
	name VARCHAR(64) NOT NULL, 
	seq BIGINT NOT NULL, 
	PRIMARY KEY (name)
);
CREATE TABLE events (
	seq BIGSERIAL NOT NULL, 
	message_id VARCHAR(512) NOT NULL, 
	type VARCHAR(16) NOT NULL, 
	name VARCHAR(512), 
	user_id VARCHAR(512), 
	anonymous_id VARCHAR(512), 
	previous_id VARCHAR(512), 
	group_id VARCHAR(512), 
	timestamp TIMESTAMP WITH TIME ZONE NOT NULL, 
	received_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	properties JSONB NOT NULL, 
	traits JSONB NOT NULL, 
	context JSONB NOT NULL, 
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
	id BIGSERIAL NOT NULL, 
	journey_key VARCHAR(128) NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	step INTEGER NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	wake_at TIMESTAMP WITH TIME ZONE, 
	wait_event VARCHAR(512), 
	trigger JSONB NOT NULL, 
	started_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	ended_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_journey_due ON journey_instances (status, wake_at);
CREATE INDEX ix_journey_instances_profile_id ON journey_instances (profile_id);
CREATE INDEX ix_journey_active ON journey_instances (journey_key, profile_id, status);
CREATE TABLE outbox (
	id BIGSERIAL NOT NULL, 
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
	meta JSONB NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	sent_at TIMESTAMP WITH TIME ZONE, 
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
	created_at TIMESTAMP WITH TIME ZONE, 
	extra JSONB NOT NULL, 
	PRIMARY KEY (item_id)
);
CREATE INDEX ix_products_category ON products (category);
CREATE TABLE profile_events (
	seq BIGINT NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	action VARCHAR(512), 
	timestamp TIMESTAMP WITH TIME ZONE NOT NULL, 
	properties JSONB NOT NULL, 
	PRIMARY KEY (seq)
);
CREATE INDEX ix_profile_events_lookup ON profile_events (profile_id, action, timestamp);
CREATE TABLE profiles (
	profile_id VARCHAR(520) NOT NULL, 
	traits JSONB NOT NULL, 
	trait_times JSONB NOT NULL, 
	computed JSONB NOT NULL, 
	first_seen TIMESTAMP WITH TIME ZONE, 
	last_seen TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (profile_id)
);
CREATE TABLE schema_migrations (
	version INTEGER NOT NULL, 
	applied_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (version)
);
CREATE TABLE segment_membership (
	id BIGSERIAL NOT NULL, 
	segment_key VARCHAR(128) NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	entered_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	exited_at TIMESTAMP WITH TIME ZONE, 
	PRIMARY KEY (id)
);
CREATE INDEX ix_membership_current ON segment_membership (segment_key, exited_at, profile_id);
CREATE INDEX ix_membership_profile ON segment_membership (profile_id);
CREATE TABLE suppressions (
	address VARCHAR(512) NOT NULL, 
	profile_id VARCHAR(520), 
	reason VARCHAR(64) NOT NULL, 
	created_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (address)
);
CREATE INDEX ix_suppressions_profile_id ON suppressions (profile_id);
CREATE TABLE timers (
	segment_key VARCHAR(128) NOT NULL, 
	profile_id VARCHAR(520) NOT NULL, 
	due_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (segment_key, profile_id)
);
CREATE INDEX ix_timers_due_at ON timers (due_at);
