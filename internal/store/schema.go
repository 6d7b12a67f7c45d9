package store

// Times are stored as BIGINT microseconds since the Unix epoch (0 when unset) so that both back
// ends compare and index them the same way. Addresses are stored twice: as shown, and as a
// lookup key (domain in A-label form, local part folded to lower case).

const schemaV1 = `
CREATE TABLE organisations (
	id {{ID}},
	parent_id BIGINT REFERENCES organisations(id),
	name TEXT NOT NULL,
	slug TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	status TEXT NOT NULL,
	sector TEXT NOT NULL DEFAULT '',
	postal_address TEXT NOT NULL DEFAULT '',
	postcode TEXT NOT NULL DEFAULT '',
	signatory_name TEXT NOT NULL DEFAULT '',
	signatory_email TEXT NOT NULL DEFAULT '',
	terms_accepted_at BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX organisations_parent ON organisations(parent_id);

CREATE TABLE domains (
	id {{ID}},
	org_id BIGINT NOT NULL REFERENCES organisations(id),
	name TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	verification_token TEXT NOT NULL DEFAULT '',
	verification_state TEXT NOT NULL,
	verified_at BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
);
CREATE INDEX domains_org ON domains(org_id);

CREATE TABLE trusted_domains (
	id {{ID}},
	name TEXT NOT NULL UNIQUE,
	description TEXT NOT NULL DEFAULT '',
	tls_policy TEXT NOT NULL,
	pinned_names TEXT NOT NULL DEFAULT '',
	pinned_fingerprints TEXT NOT NULL DEFAULT '',
	source_networks TEXT NOT NULL DEFAULT '',
	source_cert_names TEXT NOT NULL DEFAULT '',
	route TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE people (
	id {{ID}},
	org_id BIGINT NOT NULL REFERENCES organisations(id),
	first_name TEXT NOT NULL,
	last_name TEXT NOT NULL,
	job_title TEXT NOT NULL DEFAULT '',
	phone TEXT NOT NULL DEFAULT '',
	address TEXT NOT NULL,
	address_key TEXT NOT NULL UNIQUE,
	plain_address TEXT NOT NULL DEFAULT '',
	contact_address TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL,
	ex_directory BOOLEAN NOT NULL DEFAULT FALSE,
	roles TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	last_sign_in BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX people_org ON people(org_id);
CREATE INDEX people_name ON people(last_name, first_name);

CREATE TABLE group_mailboxes (
	id {{ID}},
	org_id BIGINT NOT NULL REFERENCES organisations(id),
	name TEXT NOT NULL,
	address TEXT NOT NULL,
	address_key TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);

CREATE TABLE group_members (
	group_id BIGINT NOT NULL REFERENCES group_mailboxes(id) ON DELETE CASCADE,
	person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
	can_read BOOLEAN NOT NULL,
	can_write BOOLEAN NOT NULL,
	can_send BOOLEAN NOT NULL,
	PRIMARY KEY (group_id, person_id)
);
CREATE INDEX group_members_person ON group_members(person_id);

CREATE TABLE distribution_lists (
	id {{ID}},
	org_id BIGINT NOT NULL REFERENCES organisations(id),
	name TEXT NOT NULL,
	address TEXT NOT NULL,
	address_key TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);

CREATE TABLE list_members (
	list_id BIGINT NOT NULL REFERENCES distribution_lists(id) ON DELETE CASCADE,
	address_key TEXT NOT NULL,
	PRIMARY KEY (list_id, address_key)
);

CREATE TABLE connectors (
	id {{ID}},
	org_id BIGINT NOT NULL REFERENCES organisations(id),
	name TEXT NOT NULL UNIQUE,
	inbound_cert_names TEXT NOT NULL DEFAULT '',
	inbound_networks TEXT NOT NULL DEFAULT '',
	inbound_username TEXT NOT NULL DEFAULT '',
	inbound_password_hash TEXT NOT NULL DEFAULT '',
	outbound_host TEXT NOT NULL DEFAULT '',
	outbound_port INTEGER NOT NULL DEFAULT 25,
	outbound_tls_name TEXT NOT NULL DEFAULT '',
	outbound_tls_fingerprint TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE messages (
	id {{ID}},
	queue_id TEXT NOT NULL UNIQUE,
	blob TEXT NOT NULL,
	size BIGINT NOT NULL,
	message_id TEXT NOT NULL DEFAULT '',
	sender TEXT NOT NULL DEFAULT '',
	org_id BIGINT,
	received_at BIGINT NOT NULL
);
CREATE INDEX messages_blob ON messages(blob);

CREATE TABLE audit_log (
	seq BIGINT PRIMARY KEY,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	source TEXT NOT NULL,
	detail TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
`

const schemaV2 = `
ALTER TABLE messages ADD COLUMN dsn_ret TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN dsn_envid TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN require_tls BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE queue (
	id {{ID}},
	message_id BIGINT NOT NULL REFERENCES messages(id),
	sender TEXT NOT NULL,
	recipient TEXT NOT NULL,
	orcpt TEXT NOT NULL DEFAULT '',
	notify TEXT NOT NULL DEFAULT '',
	domain TEXT NOT NULL,
	route TEXT NOT NULL,
	state TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt BIGINT NOT NULL,
	last_error TEXT NOT NULL DEFAULT '',
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	delay_notified BOOLEAN NOT NULL DEFAULT FALSE,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX queue_due ON queue(state, next_attempt);
CREATE INDEX queue_message ON queue(message_id);

CREATE TABLE mailboxes (
	id {{ID}},
	owner_kind TEXT NOT NULL,
	owner_id BIGINT NOT NULL,
	name TEXT NOT NULL,
	uidvalidity BIGINT NOT NULL,
	uidnext BIGINT NOT NULL,
	UNIQUE (owner_kind, owner_id, name)
);

CREATE TABLE mailbox_messages (
	mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid BIGINT NOT NULL,
	message_id BIGINT NOT NULL REFERENCES messages(id),
	flags TEXT NOT NULL DEFAULT '',
	internal_date BIGINT NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX mailbox_messages_message ON mailbox_messages(message_id);

CREATE TABLE events (
	id {{ID}},
	at BIGINT NOT NULL,
	kind TEXT NOT NULL,
	queue_id TEXT NOT NULL DEFAULT '',
	message_id TEXT NOT NULL DEFAULT '',
	sender TEXT NOT NULL DEFAULT '',
	recipient TEXT NOT NULL DEFAULT '',
	org_id BIGINT,
	remote TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_queue ON events(queue_id);
CREATE INDEX events_message ON events(message_id);
CREATE INDEX events_sender ON events(sender, at);
CREATE INDEX events_recipient ON events(recipient, at);
CREATE INDEX events_at ON events(at);
`
