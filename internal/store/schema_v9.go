package store

// schemaV9 records when a notice was last sent, so that nodes sharing one database send a
// periodic notice, such as the quota warning or a group's review reminder, once per period
// between them. notice_claims
// has one row per kind of notice and subject (for example "quota" and "person:12"). Times
// are microseconds since the Unix epoch.
const schemaV9 = `
CREATE TABLE notice_claims (
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	sent_at BIGINT NOT NULL,
	PRIMARY KEY (kind, subject)
);
`
