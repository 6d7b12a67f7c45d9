package mailbox

import (
	"context"
	"fmt"

	"github.com/cjsm/cjsm/internal/store"
)

// WarnPercent is the share of a quota at which people are warned that their mailbox is
// nearly full.
const WarnPercent = 90

// Usage is the storage an owner and its organisation use, in bytes, with their limits. A
// limit of 0 means none.
type Usage struct {
	Used, Limit       int64
	OrgUsed, OrgLimit int64
}

// Over reports whether adding extra bytes would exceed the owner's or the organisation's
// limit.
func (u Usage) Over(extra int64) bool {
	return (u.Limit > 0 && u.Used+extra > u.Limit) ||
		(u.OrgLimit > 0 && u.OrgUsed+extra > u.OrgLimit)
}

// NearlyFull reports whether the owner or the organisation uses WarnPercent or more of its
// limit.
func (u Usage) NearlyFull() bool {
	return (u.Limit > 0 && u.Used*100 >= u.Limit*WarnPercent) ||
		(u.OrgLimit > 0 && u.OrgUsed*100 >= u.OrgLimit*WarnPercent)
}

// Usage returns the storage use of a person or group mailbox and of its organisation.
func (s *Service) Usage(ctx context.Context, o Owner) (Usage, error) {
	var u Usage
	orgID, err := s.orgOf(ctx, o)
	if err != nil {
		return u, err
	}
	if u.Used, err = s.st.StorageUsed(ctx, o.Kind, o.ID); err != nil {
		return u, err
	}
	if u.Limit, err = s.st.Quota(ctx, o.Kind, o.ID); err != nil {
		return u, err
	}
	if u.OrgLimit, err = s.st.Quota(ctx, store.OwnerOrg, orgID); err != nil {
		return u, err
	}
	if u.OrgLimit > 0 {
		if u.OrgUsed, err = s.st.OrgStorageUsed(ctx, orgID); err != nil {
			return u, err
		}
	}
	return u, nil
}

// CheckQuota returns the owner's usage, and an error wrapping ErrOverQuota when extra more
// bytes would exceed the owner's or the organisation's limit. SMTP calls it at RCPT TO and
// replies 452 4.2.2 on ErrOverQuota (RFC 3463 section 3.3: mailbox full); IMAP APPEND,
// COPY and MOVE call it through the service.
func (s *Service) CheckQuota(ctx context.Context, o Owner, extra int64) (Usage, error) {
	u, err := s.Usage(ctx, o)
	if err != nil {
		return u, err
	}
	if (u.Limit > 0 && extra > u.Limit) || (u.OrgLimit > 0 && extra > u.OrgLimit) {
		return u, fmt.Errorf("%w: %s, %d bytes, limit %d", ErrLargerThanQuota, o, extra, u.Limit)
	}
	if u.Over(extra) {
		if u.Limit > 0 && u.Used+extra > u.Limit {
			return u, fmt.Errorf("%w: %s uses %d of %d bytes", ErrOverQuota, o, u.Used, u.Limit)
		}
		return u, fmt.Errorf("%w: the organisation of %s uses %d of %d bytes", ErrOverQuota, o,
			u.OrgUsed, u.OrgLimit)
	}
	return u, nil
}

// SetQuota sets the limit in bytes of a person, group mailbox or organisation (kind
// store.OwnerPerson, store.OwnerGroup or store.OwnerOrg); 0 removes it.
func (s *Service) SetQuota(ctx context.Context, kind string, id, maxBytes int64) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error { return tx.SetQuota(ctx, kind, id, maxBytes) })
}

func (s *Service) orgOf(ctx context.Context, o Owner) (int64, error) {
	switch o.Kind {
	case store.OwnerPerson:
		p, err := s.st.Person(ctx, o.ID)
		return p.OrgID, err
	case store.OwnerGroup:
		g, err := s.st.GroupMailboxByID(ctx, o.ID)
		return g.OrgID, err
	}
	return 0, fmt.Errorf("mailbox: unknown owner kind %q", o.Kind)
}

// QuotaRoot is one limit that applies to an owner's folders: the owner's own (Kind
// store.OwnerPerson or store.OwnerGroup) or its organisation's (Kind store.OwnerOrg).
// Used and Limit are in bytes.
type QuotaRoot struct {
	Kind    string
	ID      int64
	OrgSlug string // the organisation's slug, for Kind store.OwnerOrg
	Used    int64
	Limit   int64
}

// QuotaRoots returns the limits that apply to the owner's folders, the owner's own first,
// leaving out those that are not set. It needs Read, so a person learns the usage only of
// mailboxes they may open (IMAP GETQUOTAROOT, RFC 9208 section 4.1.2).
func (s *Service) QuotaRoots(ctx context.Context, personID int64, o Owner) ([]QuotaRoot, error) {
	if err := s.Authorize(ctx, personID, o, Read); err != nil {
		return nil, err
	}
	u, err := s.Usage(ctx, o)
	if err != nil {
		return nil, err
	}
	var roots []QuotaRoot
	if u.Limit > 0 {
		roots = append(roots, QuotaRoot{Kind: o.Kind, ID: o.ID, Used: u.Used, Limit: u.Limit})
	}
	if u.OrgLimit > 0 {
		orgID, err := s.orgOf(ctx, o)
		if err != nil {
			return nil, err
		}
		org, err := s.st.Organisation(ctx, orgID)
		if err != nil {
			return nil, fmt.Errorf("mailbox: read organisation %d: %w", orgID, err)
		}
		roots = append(roots, QuotaRoot{Kind: store.OwnerOrg, ID: orgID, OrgSlug: org.Slug,
			Used: u.OrgUsed, Limit: u.OrgLimit})
	}
	return roots, nil
}
