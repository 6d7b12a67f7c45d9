package store

import (
	"context"
	"time"
)

// ClaimNotice records that the notice of kind about subject is being sent at the time at,
// unless one was sent after notBefore, and reports whether this caller won the claim. Of
// several nodes checking at once, only one wins.
func (s *Store) ClaimNotice(ctx context.Context, kind, subject string, at,
	notBefore time.Time) (bool, error) {
	var won bool
	err := s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO notice_claims (kind, subject, sent_at)
			VALUES (?, ?, 0) ON CONFLICT (kind, subject) DO NOTHING`, kind, subject)
		if err != nil {
			return err
		}
		res, err := tx.exec(ctx, `UPDATE notice_claims SET sent_at = ?
			WHERE kind = ? AND subject = ? AND sent_at < ?`, micros(at), kind, subject,
			micros(notBefore))
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		won = n == 1
		return err
	})
	return won, err
}
