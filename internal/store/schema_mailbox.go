package store

// schemaV3 turns the delivery-only mailboxes of schemaV2 into IMAP folders.
//
//   - mailboxes gain a SPECIAL-USE attribute (RFC 6154), a subscription mark, the folder's
//     HIGHESTMODSEQ (RFC 7162) and the total size of its messages, kept in step with every
//     append and expunge so that quota checks read a few rows instead of summing messages.
//   - mailbox_messages gain the message's MODSEQ. Flags stay a space-separated list.
//   - mailbox_expunged records every expunged UID with the MODSEQ of the expunge, so that a
//     session can learn what vanished since the MODSEQ it last saw.
//   - group_seen holds \Seen per member of a group mailbox: one row per message and person.
//   - quotas holds storage limits per person, group mailbox or organisation.
//   - retention holds how many days an organisation keeps mail.
//   - message_text holds header and body text extracted for SEARCH.
const schemaV3 = `
ALTER TABLE mailboxes ADD COLUMN special_use TEXT NOT NULL DEFAULT '';
ALTER TABLE mailboxes ADD COLUMN subscribed BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE mailboxes ADD COLUMN highest_modseq BIGINT NOT NULL DEFAULT 1;
ALTER TABLE mailboxes ADD COLUMN size_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailboxes ADD COLUMN created_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE mailbox_messages ADD COLUMN modseq BIGINT NOT NULL DEFAULT 1;
CREATE INDEX mailbox_messages_modseq ON mailbox_messages(mailbox_id, modseq);
CREATE INDEX mailbox_messages_date ON mailbox_messages(internal_date);

CREATE TABLE mailbox_expunged (
	mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid BIGINT NOT NULL,
	modseq BIGINT NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX mailbox_expunged_modseq ON mailbox_expunged(mailbox_id, modseq);

CREATE TABLE group_seen (
	mailbox_id BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid BIGINT NOT NULL,
	person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
	PRIMARY KEY (mailbox_id, uid, person_id)
);
CREATE INDEX group_seen_person ON group_seen(person_id);

CREATE TABLE quotas (
	owner_kind TEXT NOT NULL,
	owner_id BIGINT NOT NULL,
	max_bytes BIGINT NOT NULL,
	PRIMARY KEY (owner_kind, owner_id)
);

CREATE TABLE retention (
	org_id BIGINT PRIMARY KEY REFERENCES organisations(id) ON DELETE CASCADE,
	days INTEGER NOT NULL
);

CREATE TABLE message_text (
	message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
	header_text TEXT NOT NULL,
	body_text TEXT NOT NULL
);
`
