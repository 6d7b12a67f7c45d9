package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/cjsm/cjsm/internal/store"
)

// QuotaOwner names whose storage limit a quota command reads or sets: a person or group
// mailbox by address, or an organisation by slug. Exactly one field is set.
type QuotaOwner struct {
	Person, Group, Org string
}

// QuotaUsage is an owner's storage limit and use, in bytes. A limit of 0 means none.
type QuotaUsage struct {
	Kind  string // store.OwnerPerson, store.OwnerGroup or store.OwnerOrg
	Name  string // the address or slug
	Limit int64
	Used  int64
}

func (s *Service) resolveQuotaOwner(ctx context.Context, q QuotaOwner) (kind string, id int64,
	name string, err error) {
	var named []string
	for _, v := range []string{q.Person, q.Group, q.Org} {
		if v != "" {
			named = append(named, v)
		}
	}
	if len(named) != 1 {
		value := "none"
		if len(named) > 1 {
			value = strings.Join(named, " and ")
		}
		return "", 0, "", inputErr("owner", value, "give exactly one of a person (--person), "+
			"a group mailbox (--group) and an organisation (--org)")
	}
	switch {
	case q.Person != "":
		p, err := s.Person(ctx, q.Person)
		return store.OwnerPerson, p.ID, p.AddressKey, err
	case q.Group != "":
		g, err := s.GroupMailbox(ctx, q.Group)
		return store.OwnerGroup, g.ID, g.AddressKey, err
	default:
		o, err := s.Organisation(ctx, q.Org)
		return store.OwnerOrg, o.ID, o.Slug, err
	}
}

// SetQuota sets the storage limit of a person, group mailbox or organisation, in bytes; 0
// removes it. Mail over the limit is refused with 452 4.2.2, and the owner is warned at 90%.
func (s *Service) SetQuota(ctx context.Context, a Actor, q QuotaOwner, maxBytes int64) error {
	if maxBytes < 0 {
		return inputErr("max", fmt.Sprint(maxBytes), "is negative; give a size such as 5GB, or 0 for no limit")
	}
	kind, id, name, err := s.resolveQuotaOwner(ctx, q)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetQuota(ctx, kind, id, maxBytes); err != nil {
			return err
		}
		return audit(ctx, tx, a, "quota.set", kind+":"+name, fmt.Sprintf("max_bytes=%d", maxBytes))
	})
}

// Quota returns the storage limit and use of a person, group mailbox or organisation.
func (s *Service) Quota(ctx context.Context, q QuotaOwner) (QuotaUsage, error) {
	kind, id, name, err := s.resolveQuotaOwner(ctx, q)
	if err != nil {
		return QuotaUsage{}, err
	}
	u := QuotaUsage{Kind: kind, Name: name}
	if u.Limit, err = s.st.Quota(ctx, kind, id); err != nil {
		return u, err
	}
	if kind == store.OwnerOrg {
		u.Used, err = s.st.OrgStorageUsed(ctx, id)
	} else {
		u.Used, err = s.st.StorageUsed(ctx, kind, id)
	}
	return u, err
}
