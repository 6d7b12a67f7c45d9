package imapserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/emersion/go-imap/v2"
	goimapserver "github.com/emersion/go-imap/v2/imapserver"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// orgRootPrefix starts the name of an organisation's quota root.
const orgRootPrefix = "Organisation/"

// quotaOwner is a mailbox owner whose quota roots the person may see, with the name of the
// owner's own root: "" for the person's own mailbox, the namespace prefix of a group or
// another person's mailbox otherwise.
type quotaOwner struct {
	owner mailbox.Owner
	name  string
	// ownOnly leaves out the organisation's root: a grant on one person's mailbox does not
	// show the storage of their whole organisation.
	ownOnly bool
}

// roots returns the quota roots of the owner that the person may see.
func (s *session) roots(ctx context.Context, o quotaOwner) ([]goimapserver.QuotaData, error) {
	roots, err := s.svc().QuotaRoots(ctx, s.personID, o.owner)
	if err != nil {
		return nil, err
	}
	if o.ownOnly {
		visible := roots[:0]
		for _, r := range roots {
			if r.Kind != store.OwnerOrg {
				visible = append(visible, r)
			}
		}
		roots = visible
	}
	return quotaData(o.name, roots), nil
}

// quotaOwners returns the person's own mailbox, every group mailbox they may read and every
// other person's mailbox granted to them.
func (s *session) quotaOwners(ctx context.Context) ([]quotaOwner, error) {
	out := []quotaOwner{{owner: s.personal()}}
	groups, err := s.svc().SharedMailboxes(ctx, s.personID)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		out = append(out, quotaOwner{owner: mailbox.Owner{Kind: store.OwnerGroup, ID: g.Group.ID},
			name: sharedPrefix + g.Group.Address})
	}
	others, err := s.otherUsers(ctx)
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		out = append(out, quotaOwner{owner: o.owner, name: otherUsersPrefix + o.address,
			ownOnly: true})
	}
	return out, nil
}

// quotaData turns the mailbox service's roots into QUOTA responses. STORAGE is in units
// of 1024 octets (RFC 9208 section 5.1), usage rounded up so that a nearly full mailbox
// never shows room it does not have.
func quotaData(ownerName string, roots []mailbox.QuotaRoot) []goimapserver.QuotaData {
	out := make([]goimapserver.QuotaData, 0, len(roots))
	for _, r := range roots {
		name := ownerName
		if r.Kind == store.OwnerOrg {
			name = orgRootPrefix + r.OrgSlug
		}
		out = append(out, goimapserver.QuotaData{Root: name, Resources: []goimapserver.QuotaResource{{
			Type:  imap.QuotaResourceStorage,
			Usage: (r.Used + 1023) / 1024,
			Limit: r.Limit / 1024,
		}}})
	}
	return out
}

// GetQuotaRoot handles GETQUOTAROOT (RFC 9208 section 4.1.2): the owner's own limit and
// its organisation's, each only when set.
func (s *session) GetQuotaRoot(name string) ([]goimapserver.QuotaData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	ref, err := s.resolve(ctx, name)
	if err != nil {
		return nil, s.mapErr(err)
	}
	if _, err := s.svc().Folder(ctx, s.personID, ref, mailbox.Read); err != nil {
		return nil, s.mapErr(err)
	}
	owners, err := s.quotaOwners(ctx)
	if err != nil {
		return nil, s.mapErr(err)
	}
	for _, o := range owners {
		if o.owner != ref.Owner {
			continue
		}
		roots, err := s.roots(ctx, o)
		if err != nil {
			return nil, s.mapErr(err)
		}
		return roots, nil
	}
	return nil, s.mapErr(mailbox.ErrNoMailbox)
}

// GetQuota handles GETQUOTA (RFC 9208 section 4.1.1) for a root that GETQUOTAROOT names.
func (s *session) GetQuota(root string) (*goimapserver.QuotaData, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	owners, err := s.quotaOwners(ctx)
	if err != nil {
		return nil, s.mapErr(err)
	}
	for _, o := range owners {
		isOrgRoot := len(root) >= len(orgRootPrefix) &&
			strings.EqualFold(root[:len(orgRootPrefix)], orgRootPrefix)
		if !strings.EqualFold(root, o.name) && !isOrgRoot {
			continue
		}
		roots, err := s.roots(ctx, o)
		if err != nil {
			return nil, s.mapErr(err)
		}
		for _, d := range roots {
			if strings.EqualFold(d.Root, root) {
				return &d, nil
			}
		}
	}
	return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
		Text: shortenQuoted(fmt.Sprintf("Quota root %q not found. GETQUOTAROOT lists the roots of a mailbox", root))}
}
