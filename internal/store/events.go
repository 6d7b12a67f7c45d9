package store

import (
	"context"
	"fmt"
	"time"
)

// Tracking event kinds.
const (
	EventAccepted  = "accepted"
	EventRejected  = "rejected"
	EventDelivered = "delivered"
	EventDeferred  = "deferred"
	EventBounced   = "bounced"
	EventDelayed   = "delayed" // a delay notice was sent
	EventDeleted   = "deleted"
)

// Event is one step in the life of a message, for tracking. It holds metadata only, never
// content.
type Event struct {
	ID        int64
	At        time.Time
	Kind      string
	QueueID   string
	MessageID string // the Message-ID header field
	Sender    string
	Recipient string
	OrgID     int64
	Remote    string // remote host or client address
	Detail    string // plain-language reason or result
}

// AddEvent records an event.
func (s *Store) AddEvent(ctx context.Context, e *Event) error {
	_, err := s.exec(ctx, insertEvent, eventArgs(e)...)
	return err
}

// AddEvent records an event inside the transaction.
func (t *Tx) AddEvent(ctx context.Context, e *Event) error {
	_, err := t.exec(ctx, insertEvent, eventArgs(e)...)
	return err
}

const insertEvent = `INSERT INTO events (at, kind, queue_id, message_id, sender, recipient,
	org_id, remote, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

func eventArgs(e *Event) []any {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	return []any{micros(e.At), e.Kind, e.QueueID, e.MessageID, e.Sender, e.Recipient,
		nullID(e.OrgID), e.Remote, e.Detail}
}

// EventFilter selects events for tracking. Empty fields match everything.
type EventFilter struct {
	QueueID   string
	MessageID string
	Sender    string
	Recipient string
	OrgID     int64
	Since     time.Time
	Until     time.Time
	Limit     int // 0 means 1000
}

// Events returns matching events in time order.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	q := `SELECT id, at, kind, queue_id, message_id, sender, recipient, COALESCE(org_id, 0),
		remote, detail FROM events WHERE 1 = 1`
	var args []any
	add := func(cond string, v any) {
		q += " AND " + cond
		args = append(args, v)
	}
	if f.QueueID != "" {
		add("queue_id = ?", f.QueueID)
	}
	if f.MessageID != "" {
		add("message_id = ?", f.MessageID)
	}
	if f.Sender != "" {
		add("sender = ?", f.Sender)
	}
	if f.Recipient != "" {
		add("recipient = ?", f.Recipient)
	}
	if f.OrgID != 0 {
		add("org_id = ?", f.OrgID)
	}
	if !f.Since.IsZero() {
		add("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("at <= ?", micros(f.Until))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q += fmt.Sprintf(" ORDER BY at, id LIMIT %d", limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (Event, error) {
		var e Event
		var at int64
		err := r.Scan(&e.ID, &at, &e.Kind, &e.QueueID, &e.MessageID, &e.Sender, &e.Recipient,
			&e.OrgID, &e.Remote, &e.Detail)
		e.At = fromMicros(at)
		return e, err
	})
}
