package mailbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

// Right is one permission on a mailbox. Members of a group mailbox hold each separately.
type Right int

// The rights. Owners of personal mailboxes hold all three.
const (
	// Read lets a person list, select, fetch and search the folders, and set their own
	// \Seen state.
	Read Right = iota + 1
	// Write lets a person file, move and delete messages, change shared flags, and create,
	// rename and delete folders.
	Write
	// Send lets a person send as the mailbox's address.
	Send
)

func (r Right) String() string {
	switch r {
	case Read:
		return "read"
	case Write:
		return "write"
	case Send:
		return "send"
	}
	return fmt.Sprintf("right(%d)", int(r))
}

// Rights is the set of rights a person holds on one owner's folders.
type Rights struct {
	Read, Write, Send bool
}

// Has reports whether the set contains r.
func (rs Rights) Has(r Right) bool {
	switch r {
	case Read:
		return rs.Read
	case Write:
		return rs.Write
	case Send:
		return rs.Send
	}
	return false
}

// Authorize returns nil when the person may use right on the owner's folders, and an error
// wrapping ErrInactive, ErrNoMailbox or ErrPermission otherwise.
//
// It is the one permission check for IMAP, POP3, submission and webmail. It reads the
// person's and the organisation's status from the store on every call, with no cache, so a
// suspended or closed person loses access to their own and to group mail at their next
// command.
func (s *Service) Authorize(ctx context.Context, personID int64, o Owner, right Right) error {
	rights, err := s.RightsOn(ctx, personID, o)
	if err != nil {
		return err
	}
	if !rights.Has(right) {
		return fmt.Errorf("%w: %s right on %s is not granted to person %d", ErrPermission,
			right, o, personID)
	}
	return nil
}

// RightsOn returns the rights a person holds on the owner's folders after checking that the
// person, their organisation and (for a group) the group's organisation are active. A
// person who is not a member of a group gets ErrNoMailbox, so that the group's folders stay
// invisible to them. On another person's mailbox a person holds Read alone, and only while
// an operator's grant is neither expired nor revoked. The grant is honoured even when the
// mailbox's owner is suspended or closed, because departure is one reason for it.
func (s *Service) RightsOn(ctx context.Context, personID int64, o Owner) (Rights, error) {
	if err := s.checkActive(ctx, personID); err != nil {
		return Rights{}, err
	}
	switch o.Kind {
	case store.OwnerPerson:
		if o.ID == personID {
			return Rights{Read: true, Write: true, Send: true}, nil
		}
		// An operator may grant read access to another person's mailbox (absence,
		// departure). The expiry is compared with the clock on every call, so an expired
		// or revoked grant stops working at the next command.
		// IMAP shows such a mailbox in its "Other Users" namespace (RFC 2342).
		granted, err := s.st.HasActiveMailboxGrant(ctx, o.ID, personID, time.Now())
		if err != nil {
			return Rights{}, err
		}
		if !granted {
			return Rights{}, fmt.Errorf("%w: person %d may not open the folders of %s",
				ErrNoMailbox, personID, o)
		}
		return Rights{Read: true}, nil
	case store.OwnerGroup:
		m, err := s.st.GroupMembership(ctx, o.ID, personID)
		if errors.Is(err, store.ErrNotFound) {
			return Rights{}, fmt.Errorf("%w: person %d is not a member of %s", ErrNoMailbox,
				personID, o)
		} else if err != nil {
			return Rights{}, err
		}
		g, err := s.st.GroupMailboxByID(ctx, o.ID)
		if err != nil {
			return Rights{}, err
		}
		if err := s.checkOrgActive(ctx, g.OrgID); err != nil {
			return Rights{}, err
		}
		return Rights{Read: m.Read, Write: m.Write, Send: m.Send}, nil
	}
	return Rights{}, fmt.Errorf("%w: unknown owner kind %q", ErrNoMailbox, o.Kind)
}

// checkActive returns ErrInactive unless the person and their organisation are active.
func (s *Service) checkActive(ctx context.Context, personID int64) error {
	p, err := s.st.Person(ctx, personID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: person %d no longer exists", ErrInactive, personID)
	} else if err != nil {
		return err
	}
	if p.Status != store.StatusActive {
		return fmt.Errorf("%w: person %s is %s", ErrInactive, p.AddressKey, p.Status)
	}
	return s.checkOrgActive(ctx, p.OrgID)
}

func (s *Service) checkOrgActive(ctx context.Context, orgID int64) error {
	o, err := s.st.Organisation(ctx, orgID)
	if err != nil {
		return fmt.Errorf("mailbox: read organisation %d: %w", orgID, err)
	}
	if o.Status != store.StatusActive {
		return fmt.Errorf("%w: organisation %s is %s", ErrInactive, o.Slug, o.Status)
	}
	return nil
}

// SharedMailboxes lists the group mailboxes whose folders the person may read, after
// checking that the person is active.
func (s *Service) SharedMailboxes(ctx context.Context, personID int64) ([]store.GroupAccess,
	error) {
	if err := s.checkActive(ctx, personID); err != nil {
		return nil, err
	}
	all, err := s.st.GroupsOfPerson(ctx, personID)
	if err != nil {
		return nil, err
	}
	var out []store.GroupAccess
	for _, a := range all {
		if !a.Member.Read {
			continue
		}
		if err := s.checkOrgActive(ctx, a.Group.OrgID); err != nil {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// GrantedMailbox is another person's mailbox that a person may read through an operator's
// grant.
type GrantedMailbox struct {
	Owner     Owner
	Address   string // the owner's address
	ExpiresAt time.Time
}

// GrantedMailboxes lists the mailboxes of other people that the person may read now through
// an active grant, one entry per owner, after checking that the person is active.
func (s *Service) GrantedMailboxes(ctx context.Context, personID int64) ([]GrantedMailbox,
	error) {
	if err := s.checkActive(ctx, personID); err != nil {
		return nil, err
	}
	grants, err := s.st.MailboxGrants(ctx, store.MailboxGrantFilter{GranteeID: personID,
		ActiveAt: time.Now()})
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var out []GrantedMailbox
	for _, g := range grants {
		if seen[g.OwnerID] {
			continue
		}
		seen[g.OwnerID] = true
		out = append(out, GrantedMailbox{Owner: Owner{Kind: store.OwnerPerson, ID: g.OwnerID},
			Address: g.OwnerAddress, ExpiresAt: g.ExpiresAt})
	}
	return out, nil
}
