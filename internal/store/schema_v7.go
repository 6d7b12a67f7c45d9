package store

// schemaV7 records who handled group mail and the last UIDVALIDITY issued:
//   - group_handling has one row per action a member took on a message of a group mailbox
//     (read, answered, forwarded, flagged, deleted, moved). message_id is the stored
//     message, so the history follows a message filed from one folder of the group to
//     another. The person's address is copied, so the history outlives the person's row.
//   - counters holds the last UIDVALIDITY issued, so that a folder created again within the
//     same second still gets a greater one (RFC 3501 section 2.3.1.1). SQLite needs the
//     WHERE of its INSERT ... SELECT to tell ON CONFLICT from a join's ON.
const schemaV7 = `
CREATE TABLE group_handling (
	id {{ID}},
	group_id BIGINT NOT NULL REFERENCES group_mailboxes(id) ON DELETE CASCADE,
	message_id BIGINT NOT NULL,
	person_id BIGINT NOT NULL,
	person_address TEXT NOT NULL,
	action TEXT NOT NULL,
	folder TEXT NOT NULL,
	detail TEXT NOT NULL DEFAULT '',
	at BIGINT NOT NULL
);
CREATE INDEX group_handling_message ON group_handling(group_id, message_id);
CREATE INDEX group_handling_at ON group_handling(group_id, at);
CREATE TABLE IF NOT EXISTS counters (
	name TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);
INSERT INTO counters (name, value)
	SELECT 'uidvalidity', COALESCE(MAX(uidvalidity), 0) FROM mailboxes WHERE true
	ON CONFLICT (name) DO NOTHING;
`
