package store

// schemaV5 adds an index on mailbox_messages that contains every column IMAP SELECT reads
// (Store.MessageUIDFlags), so that SELECT of a large folder scans the index alone instead of
// looking up each row of the table as well.
const schemaV5 = `
CREATE INDEX mailbox_messages_uid_flags ON mailbox_messages(mailbox_id, uid, flags);
`
