package store

import (
	"context"
	"time"
)

// CreateMessage inserts m and sets its ID. The blob must already be stored durably.
func (t *Tx) CreateMessage(ctx context.Context, m *Message) error {
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = time.Now().UTC()
	}
	id, err := t.insertID(ctx, `INSERT INTO messages (queue_id, blob, size, message_id, sender,
		org_id, received_at, dsn_ret, dsn_envid, require_tls) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.QueueID, m.Blob, m.Size, m.MessageID, m.Sender, nullID(m.OrgID), micros(m.ReceivedAt),
		m.DSNRet, m.DSNEnvID, m.RequireTLS)
	if err != nil {
		return err
	}
	m.ID = id
	return nil
}

const messageColumns = `id, queue_id, blob, size, message_id, sender, COALESCE(org_id, 0),
	received_at, dsn_ret, dsn_envid, require_tls`

func scanMessage(r rowScanner) (Message, error) {
	var m Message
	var received int64
	err := r.Scan(&m.ID, &m.QueueID, &m.Blob, &m.Size, &m.MessageID, &m.Sender, &m.OrgID,
		&received, &m.DSNRet, &m.DSNEnvID, &m.RequireTLS)
	m.ReceivedAt = fromMicros(received)
	return m, err
}

// Message returns a message by id.
func (s *Store) Message(ctx context.Context, id int64) (Message, error) {
	m, err := scanMessage(s.queryRow(ctx, "SELECT "+messageColumns+" FROM messages WHERE id = ?",
		id))
	return m, s.mapErr(err)
}

// MessageByQueueID returns a message by its queue id.
func (s *Store) MessageByQueueID(ctx context.Context, queueID string) (Message, error) {
	m, err := scanMessage(s.queryRow(ctx, "SELECT "+messageColumns+
		" FROM messages WHERE queue_id = ?", queueID))
	return m, s.mapErr(err)
}

// BlobReferences returns every blob key that a row refers to.
func (s *Store) BlobReferences(ctx context.Context) (map[string]bool, error) {
	rows, err := s.query(ctx, "SELECT DISTINCT blob FROM messages")
	if err != nil {
		return nil, err
	}
	keys, err := collect(rows, func(r rowScanner) (string, error) {
		var k string
		return k, r.Scan(&k)
	})
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(keys))
	for _, k := range keys {
		out[k] = true
	}
	return out, nil
}

// CountRows returns the number of rows in each main table, for status output and benchmarks.
func (s *Store) CountRows(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	for _, table := range []string{"organisations", "domains", "trusted_domains", "people",
		"group_mailboxes", "distribution_lists", "connectors", "messages", "queue", "audit_log"} {
		var n int64
		if err := s.queryRow(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
			return nil, err
		}
		out[table] = n
	}
	return out, nil
}
