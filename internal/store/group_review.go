package store

import (
	"context"
	"strings"
	"time"
)

// GroupMembershipReview is one membership of a group mailbox as the periodic review sees
// it: who holds which permissions, since when, and when an operator last confirmed that
// the person still needs them.
type GroupMembershipReview struct {
	GroupID       int64
	GroupAddress  string
	PersonID      int64
	PersonAddress string
	Read          bool
	Write         bool
	Send          bool
	AddedAt       time.Time // zero for memberships created before schema version 4
	ConfirmedAt   time.Time // zero when never confirmed
	ConfirmedBy   string
}

// LastReviewed returns the later of AddedAt and ConfirmedAt: adding a member counts as the
// first confirmation. It is zero when neither is known.
func (m GroupMembershipReview) LastReviewed() time.Time {
	if m.ConfirmedAt.After(m.AddedAt) {
		return m.ConfirmedAt
	}
	return m.AddedAt
}

// MarkGroupMemberAdded records when a membership was added. It changes nothing when the
// time is recorded already, so calling it after every SetGroupMember keeps the first time.
func (t *Tx) MarkGroupMemberAdded(ctx context.Context, groupID, personID int64,
	at time.Time) error {
	_, err := t.exec(ctx, `UPDATE group_members SET added_at = ?
		WHERE group_id = ? AND person_id = ? AND added_at = 0`, micros(at), groupID, personID)
	return err
}

// ConfirmGroupMember records that actor confirmed the membership at the time at, or
// returns ErrNotFound when the person is not a member.
func (t *Tx) ConfirmGroupMember(ctx context.Context, groupID, personID int64, at time.Time,
	actor string) error {
	res, err := t.exec(ctx, `UPDATE group_members SET confirmed_at = ?, confirmed_by = ?
		WHERE group_id = ? AND person_id = ?`, micros(at), actor, groupID, personID)
	return affectedOne(res, err)
}

// GroupMembershipReviews lists memberships ordered by group and person address. groupID > 0
// restricts them to one group mailbox. A non-zero reviewedBefore keeps only memberships
// whose LastReviewed time is before it, never-confirmed ones of unknown age included.
func (s *Store) GroupMembershipReviews(ctx context.Context, groupID int64,
	reviewedBefore time.Time) ([]GroupMembershipReview, error) {
	var where []string
	var args []any
	if groupID > 0 {
		where, args = append(where, "m.group_id = ?"), append(args, groupID)
	}
	if !reviewedBefore.IsZero() {
		where = append(where, `(CASE WHEN m.confirmed_at > m.added_at THEN m.confirmed_at
			ELSE m.added_at END) < ?`)
		args = append(args, micros(reviewedBefore))
	}
	q := `SELECT m.group_id, g.address, m.person_id, p.address, m.can_read, m.can_write,
		m.can_send, m.added_at, m.confirmed_at, m.confirmed_by
		FROM group_members m JOIN group_mailboxes g ON g.id = m.group_id
		JOIN people p ON p.id = m.person_id`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.query(ctx, q+" ORDER BY g.address_key, p.address_key", args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, func(r rowScanner) (GroupMembershipReview, error) {
		var m GroupMembershipReview
		var added, confirmed int64
		err := r.Scan(&m.GroupID, &m.GroupAddress, &m.PersonID, &m.PersonAddress, &m.Read,
			&m.Write, &m.Send, &added, &confirmed, &m.ConfirmedBy)
		m.AddedAt, m.ConfirmedAt = fromMicros(added), fromMicros(confirmed)
		return m, err
	})
}
