package store

// schemaV8 moves the POP3 maildrop lock (RFC 1939 section 8) into the store, so that nodes
// sharing one database exclude each other. pop3_locks has at most one row per person: the
// node and the POP3 session holding the lock, and when the lock lapses unless the session
// renews it. A row whose expires_at has passed is free to take. Times are microseconds since
// the Unix epoch, as elsewhere in the schema.
const schemaV8 = `
CREATE TABLE pop3_locks (
	person_id BIGINT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
	node_id TEXT NOT NULL,
	session_id TEXT NOT NULL,
	acquired_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX pop3_locks_node ON pop3_locks(node_id);
`
