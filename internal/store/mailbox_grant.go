package store

import (
	"context"
	"strings"
	"time"
)

// MailboxGrant is read access to one person's mailbox, granted to another person by an
// operator for a stated reason (absence, departure) until ExpiresAt. The owner is notified at
// their next sign-in, and NotifiedAt records when.
type MailboxGrant struct {
	ID             int64
	OwnerID        int64  // the person whose mailbox may be read
	OwnerAddress   string // filled in from people by the queries of this file
	GranteeID      int64  // the person who may read it
	GranteeAddress string // filled in from people by the queries of this file
	Reason         string
	GrantedBy      string // the actor, as in the audit trail
	CreatedAt      time.Time
	ExpiresAt      time.Time
	RevokedAt      time.Time // zero unless revoked
	NotifiedAt     time.Time // zero until the owner has been notified
}

// ActiveAt reports whether the grant gives access at the time at: it is not revoked and at
// is before its expiry.
func (g MailboxGrant) ActiveAt(at time.Time) bool {
	return g.RevokedAt.IsZero() && at.Before(g.ExpiresAt)
}

const grantColumns = `g.id, g.owner_id, o.address, g.grantee_id, r.address, g.reason,
	g.granted_by, g.created_at, g.expires_at, g.revoked_at, g.notified_at`

const grantFrom = ` FROM mailbox_grants g JOIN people o ON o.id = g.owner_id
	JOIN people r ON r.id = g.grantee_id`

func scanGrant(r rowScanner) (MailboxGrant, error) {
	var g MailboxGrant
	var created, expires, revoked, notified int64
	err := r.Scan(&g.ID, &g.OwnerID, &g.OwnerAddress, &g.GranteeID, &g.GranteeAddress,
		&g.Reason, &g.GrantedBy, &created, &expires, &revoked, &notified)
	g.CreatedAt, g.ExpiresAt = fromMicros(created), fromMicros(expires)
	g.RevokedAt, g.NotifiedAt = fromMicros(revoked), fromMicros(notified)
	return g, err
}

// CreateMailboxGrant inserts g and sets its ID and CreatedAt.
func (t *Tx) CreateMailboxGrant(ctx context.Context, g *MailboxGrant) error {
	now := time.Now().UTC()
	id, err := t.insertID(ctx, `INSERT INTO mailbox_grants (owner_id, grantee_id, reason,
		granted_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`, g.OwnerID, g.GranteeID,
		g.Reason, g.GrantedBy, micros(now), micros(g.ExpiresAt))
	if err != nil {
		return err
	}
	g.ID, g.CreatedAt = id, now
	return nil
}

// RevokeMailboxGrant ends a grant at the time at. It returns ErrNotFound when no grant has
// that id or the grant is revoked already.
func (t *Tx) RevokeMailboxGrant(ctx context.Context, id int64, at time.Time) error {
	res, err := t.exec(ctx, "UPDATE mailbox_grants SET revoked_at = ? WHERE id = ? AND revoked_at = 0",
		micros(at), id)
	return affectedOne(res, err)
}

// MailboxGrant returns a grant by id.
func (s *Store) MailboxGrant(ctx context.Context, id int64) (MailboxGrant, error) {
	g, err := scanGrant(s.queryRow(ctx, "SELECT "+grantColumns+grantFrom+" WHERE g.id = ?", id))
	return g, s.mapErr(err)
}

// MailboxGrantFilter selects grants. Zero fields do not filter.
type MailboxGrantFilter struct {
	OwnerID   int64
	GranteeID int64
	ActiveAt  time.Time // only grants that give access at this time
}

// MailboxGrants returns the grants that match f, newest first.
func (s *Store) MailboxGrants(ctx context.Context, f MailboxGrantFilter) ([]MailboxGrant,
	error) {
	var where []string
	var args []any
	if f.OwnerID > 0 {
		where, args = append(where, "g.owner_id = ?"), append(args, f.OwnerID)
	}
	if f.GranteeID > 0 {
		where, args = append(where, "g.grantee_id = ?"), append(args, f.GranteeID)
	}
	if !f.ActiveAt.IsZero() {
		where = append(where, "g.revoked_at = 0", "g.expires_at > ?")
		args = append(args, micros(f.ActiveAt))
	}
	q := "SELECT " + grantColumns + grantFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.query(ctx, q+" ORDER BY g.id DESC", args...)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGrant)
}

// HasActiveMailboxGrant reports whether granteeID may read ownerID's mailbox at the time at
// through a grant that is neither revoked nor expired.
func (s *Store) HasActiveMailboxGrant(ctx context.Context, ownerID, granteeID int64,
	at time.Time) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM mailbox_grants WHERE owner_id = ?
		AND grantee_id = ? AND revoked_at = 0 AND expires_at > ?`, ownerID, granteeID,
		micros(at)).Scan(&n)
	return n > 0, err
}

// UnnotifiedMailboxGrants returns the grants on ownerID's mailbox whose owner has not been
// notified yet, oldest first, whether or not they are still active.
func (s *Store) UnnotifiedMailboxGrants(ctx context.Context, ownerID int64) ([]MailboxGrant,
	error) {
	rows, err := s.query(ctx, "SELECT "+grantColumns+grantFrom+
		" WHERE g.owner_id = ? AND g.notified_at = 0 ORDER BY g.id", ownerID)
	if err != nil {
		return nil, err
	}
	return collect(rows, scanGrant)
}

// MarkMailboxGrantNotified records that the owner was notified of the grant at the time at. It
// returns ErrNotFound when the grant does not exist or was marked already, so that of two
// sign-ins racing to file the notice only one succeeds.
func (t *Tx) MarkMailboxGrantNotified(ctx context.Context, id int64, at time.Time) error {
	res, err := t.exec(ctx, `UPDATE mailbox_grants SET notified_at = ?
		WHERE id = ? AND notified_at = 0`, micros(at), id)
	return affectedOne(res, err)
}
