package mailbox

import (
	"context"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// retentionBatch bounds the messages one retention pass loads at once.
const retentionBatch = 500

// SetRetention sets how many days an organisation keeps mail; 0 keeps it for ever.
func (s *Service) SetRetention(ctx context.Context, orgID int64, days int) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error { return tx.SetRetention(ctx, orgID, days) })
}

// ApplyRetention expunges, from every folder of every organisation with a retention period,
// the messages whose internal date is older than that period at now, and returns how many
// it removed. Run it daily; it is safe to run on several nodes at once because an expunge
// of a UID already gone is skipped.
//
// NOTE: the stored message rows and blobs stay. Nothing yet removes messages that no folder
// or queue entry refers to any more.
func (s *Service) ApplyRetention(ctx context.Context, now time.Time) (int, error) {
	periods, err := s.st.Retentions(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	for orgID, days := range periods {
		before := now.Add(-time.Duration(days) * 24 * time.Hour)
		for {
			old, err := s.st.MessagesOlderThan(ctx, orgID, before, retentionBatch)
			if err != nil {
				return removed, err
			}
			if len(old) == 0 {
				break
			}
			byFolder := map[int64][]int64{}
			for _, m := range old {
				byFolder[m.MailboxID] = append(byFolder[m.MailboxID], m.UID)
			}
			for mailboxID, uids := range byFolder {
				var gone []int64
				err := s.st.InTx(ctx, func(tx *store.Tx) error {
					modseq, err := tx.NextModSeq(ctx, mailboxID)
					if err != nil {
						return err
					}
					gone, err = tx.ExpungeMessages(ctx, mailboxID, uids, modseq)
					return err
				})
				if err != nil {
					return removed, err
				}
				removed += len(gone)
				s.Changed(mailboxID)
			}
			s.log.Info("retention expunged messages", "org", orgID, "days", days,
				"count", len(old))
		}
	}
	return removed, nil
}
