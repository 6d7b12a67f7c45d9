package store

import (
	"context"
	"strings"
	"time"
)

// GroupHandling is one action a member took on a message of a group mailbox.
type GroupHandling struct {
	ID            int64
	GroupID       int64
	MessageID     int64 // the stored message (Message.ID)
	PersonID      int64
	PersonAddress string
	Action        string
	Folder        string // the group folder the message was in
	Detail        string // the destination folder of a move, empty otherwise
	At            time.Time
	HeaderID      string // the message's Message-ID field, filled in by GroupHandlings
}

// RecordGroupHandling inserts h and sets its ID.
func (t *Tx) RecordGroupHandling(ctx context.Context, h *GroupHandling) error {
	id, err := t.insertID(ctx, `INSERT INTO group_handling (group_id, message_id, person_id,
		person_address, action, folder, detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		h.GroupID, h.MessageID, h.PersonID, h.PersonAddress, h.Action, h.Folder, h.Detail,
		micros(h.At))
	if err != nil {
		return err
	}
	h.ID = id
	return nil
}

// GroupHandlingFilter selects handling records of one group mailbox. Zero fields other than
// GroupID do not filter.
type GroupHandlingFilter struct {
	GroupID    int64
	MessageIDs []int64
	Since      time.Time
	Limit      int // default 1000
}

// GroupHandlings returns the handling records that match f, oldest first.
func (s *Store) GroupHandlings(ctx context.Context, f GroupHandlingFilter) ([]GroupHandling,
	error) {
	where := []string{"h.group_id = ?"}
	args := []any{f.GroupID}
	if len(f.MessageIDs) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(f.MessageIDs)), ", ")
		where = append(where, "h.message_id IN ("+marks+")")
		for _, id := range f.MessageIDs {
			args = append(args, id)
		}
	}
	if !f.Since.IsZero() {
		where, args = append(where, "h.at >= ?"), append(args, micros(f.Since))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	args = append(args, limit)
	rows, err := s.query(ctx, `SELECT h.id, h.group_id, h.message_id, h.person_id,
		h.person_address, h.action, h.folder, h.detail, h.at, COALESCE(m.message_id, '')
		FROM group_handling h LEFT JOIN messages m ON m.id = h.message_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY h.at, h.id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (GroupHandling, error) {
		var h GroupHandling
		var at int64
		err := r.Scan(&h.ID, &h.GroupID, &h.MessageID, &h.PersonID, &h.PersonAddress,
			&h.Action, &h.Folder, &h.Detail, &at, &h.HeaderID)
		h.At = fromMicros(at)
		return h, err
	})
}
