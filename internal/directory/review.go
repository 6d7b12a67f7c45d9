package directory

import (
	"context"
	"errors"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// ConfirmGroupMember records that the actor confirmed, at a periodic review, that a person
// still needs their permissions on a group mailbox.
func (s *Service) ConfirmGroupMember(ctx context.Context, a Actor, groupAddr,
	personAddr string) error {
	g, err := s.GroupMailbox(ctx, groupAddr)
	if err != nil {
		return err
	}
	p, err := s.Person(ctx, personAddr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		err := tx.ConfirmGroupMember(ctx, g.ID, p.ID, time.Now(), actorName(a))
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("member", personAddr, "is not a member of %s", g.Address)
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, a, "group.member.confirm", "group:"+g.AddressKey,
			"person="+p.AddressKey)
	})
}

// ReviewGroupMembers lists memberships for a periodic review: those of one group mailbox,
// or of every group mailbox when groupAddr is empty. With overdue > 0 it lists only
// memberships neither added nor confirmed within that time before now. Memberships of
// unknown age that were never confirmed are always overdue.
func (s *Service) ReviewGroupMembers(ctx context.Context, groupAddr string,
	overdue time.Duration) ([]store.GroupMembershipReview, error) {
	var groupID int64
	if groupAddr != "" {
		g, err := s.GroupMailbox(ctx, groupAddr)
		if err != nil {
			return nil, err
		}
		groupID = g.ID
	}
	if overdue < 0 {
		return nil, inputErr("overdue", overdue.String(), "is negative; give a length of "+
			"time such as 90 days")
	}
	var before time.Time
	if overdue > 0 {
		before = time.Now().Add(-overdue)
	}
	return s.st.GroupMembershipReviews(ctx, groupID, before)
}
