package store

// schemaV4 adds list moderation, exceptional access to another person's mailbox and the
// periodic review of group mailbox membership.
//
//   - distribution_lists gain a moderated mark, and list_owners names the people who own a
//     list. Mail to a moderated list from anyone but an owner goes to the owners.
//   - mailbox_grants records read access to one person's mailbox granted to another by an
//     operator, with the reason, the expiry, an optional revocation time and the time the
//     mailbox's owner was told.
//   - group_members gain the time the membership was added and the time and actor of its
//     last confirmation. Rows that exist before this migration keep 0 in both times, so
//     they count as never confirmed.
const schemaV4 = `
ALTER TABLE distribution_lists ADD COLUMN moderated BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE list_owners (
	list_id BIGINT NOT NULL REFERENCES distribution_lists(id) ON DELETE CASCADE,
	person_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
	PRIMARY KEY (list_id, person_id)
);
CREATE INDEX list_owners_person ON list_owners(person_id);

CREATE TABLE mailbox_grants (
	id {{ID}},
	owner_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
	grantee_id BIGINT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
	reason TEXT NOT NULL,
	granted_by TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0,
	notified_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mailbox_grants_grantee ON mailbox_grants(grantee_id, owner_id);
CREATE INDEX mailbox_grants_owner ON mailbox_grants(owner_id, notified_at);

ALTER TABLE group_members ADD COLUMN added_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE group_members ADD COLUMN confirmed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE group_members ADD COLUMN confirmed_by TEXT NOT NULL DEFAULT '';
`
