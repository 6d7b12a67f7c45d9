package store

import (
	"context"
	"time"
)

// POP3Lock is the lock on one person's POP3 maildrop (RFC 1939 section 8), held by one
// session on one node until ExpiresAt unless the session renews it.
type POP3Lock struct {
	PersonID   int64
	NodeID     string // the node_id option of the node serving the session
	SessionID  string // random id of the session, unique across nodes
	AcquiredAt time.Time
	ExpiresAt  time.Time
}

// AcquirePOP3Lock stores l as the lock on l.PersonID's maildrop and returns true. When
// another session holds a lock on that person that has not expired by now, it changes
// nothing and returns false.
//
// One INSERT … ON CONFLICT DO UPDATE … WHERE statement decides, so two nodes racing for a
// free or an expired lock cannot both win. PostgreSQL locks the conflicting row and checks
// the WHERE clause against its newest version, and SQLite allows one writer at a time.
// Expiry compares the clocks of different nodes, so they must agree to well within the
// lease.
func (s *Store) AcquirePOP3Lock(ctx context.Context, l POP3Lock, now time.Time) (bool, error) {
	res, err := s.exec(ctx, `INSERT INTO pop3_locks (person_id, node_id, session_id,
		acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (person_id) DO UPDATE SET node_id = excluded.node_id,
		session_id = excluded.session_id, acquired_at = excluded.acquired_at,
		expires_at = excluded.expires_at
		WHERE pop3_locks.expires_at <= ?`,
		l.PersonID, l.NodeID, l.SessionID, micros(l.AcquiredAt), micros(l.ExpiresAt), micros(now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RenewPOP3Lock moves the expiry of the session's lock on personID to expiresAt. It returns
// false when the session no longer holds that lock, because it was released or because it
// expired and another session took it. An expired lock that no other session took yet is
// renewed.
func (s *Store) RenewPOP3Lock(ctx context.Context, personID int64, sessionID string,
	expiresAt time.Time) (bool, error) {
	res, err := s.exec(ctx, `UPDATE pop3_locks SET expires_at = ?
		WHERE person_id = ? AND session_id = ?`, micros(expiresAt), personID, sessionID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleasePOP3Lock deletes the session's lock on personID. Releasing a lock that the session
// no longer holds changes nothing and is no error.
func (s *Store) ReleasePOP3Lock(ctx context.Context, personID int64, sessionID string) error {
	_, err := s.exec(ctx, "DELETE FROM pop3_locks WHERE person_id = ? AND session_id = ?",
		personID, sessionID)
	return err
}

// ReleaseNodePOP3Locks deletes every lock held by nodeID and returns how many there were. A
// node calls it as it starts, to drop the locks that an earlier run of itself left when it
// died. Two processes with the same node id would drop each other's locks this way.
func (s *Store) ReleaseNodePOP3Locks(ctx context.Context, nodeID string) (int64, error) {
	res, err := s.exec(ctx, "DELETE FROM pop3_locks WHERE node_id = ?", nodeID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// POP3Lock returns the lock row of personID, expired or not, or ErrNotFound.
func (s *Store) POP3Lock(ctx context.Context, personID int64) (POP3Lock, error) {
	l := POP3Lock{PersonID: personID}
	var acquired, expires int64
	err := s.queryRow(ctx, `SELECT node_id, session_id, acquired_at, expires_at
		FROM pop3_locks WHERE person_id = ?`, personID).Scan(&l.NodeID, &l.SessionID,
		&acquired, &expires)
	if err != nil {
		return POP3Lock{}, s.mapErr(err)
	}
	l.AcquiredAt, l.ExpiresAt = fromMicros(acquired), fromMicros(expires)
	return l, nil
}
