package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cjsm/cjsm/internal/store"
)

// maxGrantReason bounds the reason of a mailbox grant, which is shown to the mailbox's owner
// in the notice of the grant and stored in the audit trail.
const maxGrantReason = 500

// GrantMailboxAccess gives the grantee read access to the owner's hosted mailbox until the
// time until, for the stated reason (absence, departure). Both people are named by any form
// of their address. The owner is notified at their next sign-in by a notice that shows the
// grantee, the period and the reason.
func (s *Service) GrantMailboxAccess(ctx context.Context, a Actor, granteeAddr, ownerAddr,
	reason string, until time.Time) (store.MailboxGrant, error) {
	var g store.MailboxGrant
	reason = strings.TrimSpace(reason)
	if err := checkGrantReason(reason); err != nil {
		return g, err
	}
	if !until.After(time.Now()) {
		return g, inputErr("expiry", until.UTC().Format(time.RFC3339),
			"is not in the future (access ends at this time); give a later date")
	}
	owner, err := s.Person(ctx, ownerAddr)
	if err != nil {
		return g, err
	}
	grantee, err := s.Person(ctx, granteeAddr)
	if err != nil {
		return g, err
	}
	if owner.ID == grantee.ID {
		return g, inputErr("grantee", granteeAddr, "is the mailbox's owner; name another person")
	}
	o, err := s.st.Organisation(ctx, owner.OrgID)
	if err != nil {
		return g, err
	}
	if o.Kind != store.KindHosted {
		return g, inputErr("mailbox owner", ownerAddr, "belongs to %s, whose mail is kept by its "+
			"own mail system, not by cjsm; ask that organisation to grant access there", o.Slug)
	}
	// Cover for absence or departure comes from the owner's own organisation, or one of
	// the same group of organisations (the same top-level organisation), never from a
	// party on the other side of a case.
	ownerRoot, err := s.topOrganisation(ctx, owner.OrgID)
	if err != nil {
		return g, err
	}
	granteeRoot, err := s.topOrganisation(ctx, grantee.OrgID)
	if err != nil {
		return g, err
	}
	if ownerRoot.ID != granteeRoot.ID {
		return g, inputErr("grantee", granteeAddr, "belongs to %s, outside %s, to which the "+
			"mailbox's owner belongs; name someone in %s or the organisations under it",
			granteeRoot.Slug, ownerRoot.Slug, ownerRoot.Slug)
	}
	g = store.MailboxGrant{OwnerID: owner.ID, OwnerAddress: owner.Address,
		GranteeID: grantee.ID, GranteeAddress: grantee.Address, Reason: reason,
		GrantedBy: actorName(a), ExpiresAt: until.UTC()}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.CreateMailboxGrant(ctx, &g); err != nil {
			return err
		}
		return audit(ctx, tx, a, "mailbox.grant", "person:"+owner.AddressKey,
			fmt.Sprintf("grant=%d grantee=%s right=read until=%s reason=%q", g.ID,
				grantee.AddressKey, g.ExpiresAt.Format(time.RFC3339), reason))
	})
	return g, err
}

// RevokeMailboxAccess ends a mailbox grant at once.
func (s *Service) RevokeMailboxAccess(ctx context.Context, a Actor, id int64) error {
	g, err := s.st.MailboxGrant(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return inputErr("grant", fmt.Sprint(id), "not found; list grants with "+
			"`cjsm admin mailbox grants`")
	} else if err != nil {
		return err
	}
	owner, err := s.st.Person(ctx, g.OwnerID)
	if err != nil {
		return err
	}
	grantee, err := s.st.Person(ctx, g.GranteeID)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		err := tx.RevokeMailboxGrant(ctx, id, time.Now())
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("grant", fmt.Sprint(id), "is revoked already")
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, a, "mailbox.revoke", "person:"+owner.AddressKey,
			fmt.Sprintf("grant=%d grantee=%s", id, grantee.AddressKey))
	})
}

func checkGrantReason(reason string) error {
	if reason == "" {
		return inputErr("reason", "", "is missing; say why access is needed, such as "+
			"\"on long-term sick leave, cases reassigned\"")
	}
	if n := utf8.RuneCountInString(reason); n > maxGrantReason {
		return inputErr("reason", "", "is %d characters long; the limit is %d", n,
			maxGrantReason)
	}
	for _, r := range reason {
		if unicode.IsControl(r) {
			return inputErr("reason", reason, "contains a control character; write it on "+
				"one line")
		}
	}
	return nil
}

func actorName(a Actor) string {
	if a.Name == "" {
		return "system"
	}
	return a.Name
}

// topOrganisation returns the organisation at the top of id's chain of parents.
func (s *Service) topOrganisation(ctx context.Context, id int64) (store.Organisation, error) {
	seen := map[int64]bool{}
	for {
		o, err := s.st.Organisation(ctx, id)
		if err != nil {
			return o, err
		}
		if o.ParentID == 0 || seen[o.ParentID] {
			return o, nil
		}
		seen[o.ID] = true
		id = o.ParentID
	}
}
