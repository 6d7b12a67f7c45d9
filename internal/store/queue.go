package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Queue entry states.
const (
	QueueQueued    = "queued"    // waiting for delivery or a retry
	QueueDelivered = "delivered" // accepted by the receiving server
	QueueBounced   = "bounced"   // failed permanently or expired; the sender was told
	QueueDeleted   = "deleted"   // removed by an operator without telling the sender
)

// QueueEntry is one recipient of one message, waiting for remote delivery.
type QueueEntry struct {
	ID            int64
	MessageID     int64
	QueueID       string // the message's queue id, filled in by queries that join messages
	Sender        string // envelope sender; empty for the null sender
	Recipient     string
	ORcpt         string
	Notify        string
	Domain        string
	Route         string // "trusted:<domain>" or "connector:<name>"
	State         string
	Attempts      int
	NextAttempt   time.Time
	LastError     string
	LeaseOwner    string
	LeaseUntil    time.Time
	DelayNotified bool
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UpdatedAt     time.Time
}

const queueColumns = `q.id, q.message_id, m.queue_id, q.sender, q.recipient, q.orcpt, q.notify,
	q.domain, q.route, q.state, q.attempts, q.next_attempt, q.last_error, q.lease_owner,
	q.lease_until, q.delay_notified, q.created_at, q.expires_at, q.updated_at`

func scanQueueEntry(r rowScanner) (QueueEntry, error) {
	var e QueueEntry
	var next, lease, created, expires, updated int64
	err := r.Scan(&e.ID, &e.MessageID, &e.QueueID, &e.Sender, &e.Recipient, &e.ORcpt, &e.Notify,
		&e.Domain, &e.Route, &e.State, &e.Attempts, &next, &e.LastError, &e.LeaseOwner, &lease,
		&e.DelayNotified, &created, &expires, &updated)
	e.NextAttempt, e.LeaseUntil = fromMicros(next), fromMicros(lease)
	e.CreatedAt, e.ExpiresAt, e.UpdatedAt = fromMicros(created), fromMicros(expires), fromMicros(updated)
	return e, err
}

// CreateQueueEntry inserts e and sets its ID.
func (t *Tx) CreateQueueEntry(ctx context.Context, e *QueueEntry) error {
	now := time.Now().UTC()
	if e.State == "" {
		e.State = QueueQueued
	}
	if e.NextAttempt.IsZero() {
		e.NextAttempt = now
	}
	e.CreatedAt, e.UpdatedAt = now, now
	id, err := t.insertID(ctx, `INSERT INTO queue (message_id, sender, recipient, orcpt, notify,
		domain, route, state, attempts, next_attempt, last_error, lease_owner, lease_until,
		delay_notified, created_at, expires_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '', '', 0, FALSE, ?, ?, ?)`,
		e.MessageID, e.Sender, e.Recipient, e.ORcpt, e.Notify, e.Domain, e.Route, e.State,
		micros(e.NextAttempt), micros(now), micros(e.ExpiresAt), micros(now))
	if err != nil {
		return err
	}
	e.ID = id
	return nil
}

// LeaseDue claims up to limit queued entries that are due and not leased by a live node, for
// owner until leaseUntil, and returns them. On PostgreSQL, FOR UPDATE SKIP LOCKED lets
// several nodes lease at once without taking the same entry; SQLite has one writer, so its
// IMMEDIATE transactions serialise the claim.
func (s *Store) LeaseDue(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]QueueEntry, error) {
	lock := ""
	if s.dialect == PostgreSQL {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []QueueEntry
	err := s.InTx(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT id FROM queue WHERE state = 'queued'
			AND next_attempt <= ? AND lease_until < ? ORDER BY next_attempt, id LIMIT ?`+lock,
			micros(now), micros(now), limit)
		if err != nil {
			return err
		}
		ids, err := collect(rows, func(r rowScanner) (int64, error) {
			var id int64
			return id, r.Scan(&id)
		})
		if err != nil || len(ids) == 0 {
			return err
		}
		args := []any{owner, micros(leaseUntil)}
		marks := make([]string, len(ids))
		for i, id := range ids {
			marks[i] = "?"
			args = append(args, id)
		}
		in := strings.Join(marks, ",")
		if _, err := tx.exec(ctx, "UPDATE queue SET lease_owner = ?, lease_until = ? WHERE id IN ("+in+")",
			args...); err != nil {
			return err
		}
		rows, err = tx.query(ctx, "SELECT "+queueColumns+` FROM queue q JOIN messages m
			ON m.id = q.message_id WHERE q.id IN (`+in+") ORDER BY q.message_id, q.id", args[2:]...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scanQueueEntry)
		return err
	})
	return out, err
}

// QueueOutcome is what happened to a leased entry.
type QueueOutcome struct {
	State         string // QueueQueued to retry, QueueDelivered or QueueBounced
	NextAttempt   time.Time
	LastError     string
	DelayNotified bool
}

// FinishLeased records the outcome of a delivery attempt, but only while owner still holds
// the lease: it returns false when another node took the entry over in the meantime.
func (s *Store) FinishLeased(ctx context.Context, id int64, owner string, o QueueOutcome) (bool, error) {
	res, err := s.exec(ctx, `UPDATE queue SET state = ?, attempts = attempts + 1, next_attempt = ?,
		last_error = ?, delay_notified = ?, lease_owner = '', lease_until = 0, updated_at = ?
		WHERE id = ? AND lease_owner = ?`, o.State, micros(o.NextAttempt), o.LastError,
		o.DelayNotified, micros(time.Now()), id, owner)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// QueueFilter selects queue entries.
type QueueFilter struct {
	State   string // empty: queued
	QueueID string
	Limit   int
}

// QueueEntries lists queue entries, oldest first.
func (s *Store) QueueEntries(ctx context.Context, f QueueFilter) ([]QueueEntry, error) {
	state := f.State
	if state == "" {
		state = QueueQueued
	}
	q := "SELECT " + queueColumns + " FROM queue q JOIN messages m ON m.id = q.message_id WHERE q.state = ?"
	args := []any{state}
	if f.QueueID != "" {
		q += " AND m.queue_id = ?"
		args = append(args, f.QueueID)
	}
	q += " ORDER BY q.created_at, q.id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanQueueEntry)
}

// QueueEntry returns one entry by id.
func (s *Store) QueueEntry(ctx context.Context, id int64) (QueueEntry, error) {
	e, err := scanQueueEntry(s.queryRow(ctx, "SELECT "+queueColumns+
		" FROM queue q JOIN messages m ON m.id = q.message_id WHERE q.id = ?", id))
	return e, s.mapErr(err)
}

// SetQueueEntry changes an entry's state and next attempt, for operator commands; it clears
// any lease so that the change takes effect at once.
func (t *Tx) SetQueueEntry(ctx context.Context, id int64, state string, next time.Time, lastError string) error {
	res, err := t.exec(ctx, `UPDATE queue SET state = ?, next_attempt = ?, last_error = ?,
		lease_owner = '', lease_until = 0, updated_at = ? WHERE id = ?`, state, micros(next),
		lastError, micros(time.Now()), id)
	return affectedOne(res, err)
}

// ReleaseLeases clears every lease held by owner and returns how many there were.
func (s *Store) ReleaseLeases(ctx context.Context, owner string) (int64, error) {
	res, err := s.exec(ctx, "UPDATE queue SET lease_owner = '', lease_until = 0 WHERE lease_owner = ?", owner)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// FinishLeasedWithEvent is FinishLeased that also records ev in the same transaction, when
// the outcome is recorded.
func (s *Store) FinishLeasedWithEvent(ctx context.Context, id int64, owner string, o QueueOutcome, ev *Event) (bool, error) {
	ok := false
	err := s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE queue SET state = ?, attempts = attempts + 1,
			next_attempt = ?, last_error = ?, delay_notified = ?, lease_owner = '',
			lease_until = 0, updated_at = ? WHERE id = ? AND lease_owner = ?`, o.State,
			micros(o.NextAttempt), o.LastError, o.DelayNotified, micros(time.Now()), id, owner)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n != 1 {
			return err
		}
		ok = true
		return tx.AddEvent(ctx, ev)
	})
	return ok, err
}
