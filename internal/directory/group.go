package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

// sharedAddress builds the address of a group mailbox or list: local@<org slug>.<suffix>.
func (s *Service) sharedAddress(ctx context.Context, tx *store.Tx, o store.Organisation, local string) (address.Address, string, error) {
	local = strings.ToLower(strings.TrimSpace(local))
	a, err := address.Parse(local + "@" + o.Slug + "." + s.suffix)
	if err != nil {
		return a, "", syntaxErr("local part", local, err)
	}
	key := address.Key(a)
	taken, err := tx.AddressTaken(ctx, key)
	if err != nil {
		return a, "", err
	}
	if taken {
		return a, "", inputErr("address", a.String(), "is already used by a person, group mailbox or list; choose another local part")
	}
	return a, key, nil
}

// CreateGroupMailbox adds a group mailbox local@<org slug>.<suffix>.
func (s *Service) CreateGroupMailbox(ctx context.Context, a Actor, org, name, local string) (store.GroupMailbox, error) {
	var g store.GroupMailbox
	if strings.TrimSpace(name) == "" {
		return g, inputErr("name", "", "is missing; give the team's name, such as \"Witness Care Unit\"")
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganisationBySlug(ctx, org)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("organisation", org, "not found")
		} else if err != nil {
			return err
		}
		addr, key, err := s.sharedAddress(ctx, tx, o, local)
		if err != nil {
			return err
		}
		g = store.GroupMailbox{OrgID: o.ID, Name: strings.TrimSpace(name), Address: addr.String(), AddressKey: key}
		if err := tx.CreateGroupMailbox(ctx, &g); err != nil {
			return err
		}
		return audit(ctx, tx, a, "group.create", "group:"+key, fmt.Sprintf("org=%s name=%q", org, g.Name))
	})
	return g, err
}

// GroupMailbox returns a group mailbox by address.
func (s *Service) GroupMailbox(ctx context.Context, addr string) (store.GroupMailbox, error) {
	_, key, err := addressKey("group mailbox", addr)
	if err != nil {
		return store.GroupMailbox{}, err
	}
	g, err := s.st.GroupMailboxByAddress(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return g, inputErr("group mailbox", addr, "not found; list them with `cjsm admin group list`")
	}
	return g, err
}

// RenameGroupMailbox changes a group mailbox's display name.
func (s *Service) RenameGroupMailbox(ctx context.Context, a Actor, addr, name string) (store.GroupMailbox, error) {
	g, err := s.GroupMailbox(ctx, addr)
	if err != nil {
		return g, err
	}
	if strings.TrimSpace(name) == "" {
		return g, inputErr("name", "", "is empty")
	}
	g.Name = strings.TrimSpace(name)
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateGroupMailbox(ctx, &g); err != nil {
			return err
		}
		return audit(ctx, tx, a, "group.update", "group:"+g.AddressKey, fmt.Sprintf("name=%q", g.Name))
	})
	return g, err
}

// RemoveGroupMailbox deletes a group mailbox and its memberships.
func (s *Service) RemoveGroupMailbox(ctx context.Context, a Actor, addr string) error {
	g, err := s.GroupMailbox(ctx, addr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteGroupMailbox(ctx, g.ID); err != nil {
			return err
		}
		return audit(ctx, tx, a, "group.remove", "group:"+g.AddressKey, "")
	})
}

// SetGroupMember grants a person read, write and send permissions on a group mailbox,
// replacing earlier ones. At least one permission must be given. The first call for a
// person records when the membership was added, which the membership review reads.
func (s *Service) SetGroupMember(ctx context.Context, a Actor, groupAddr, personAddr string, read, write, send bool) error {
	if !read && !write && !send {
		return inputErr("permissions", "", "none given; grant at least one of read, write and send, or remove the member")
	}
	g, err := s.GroupMailbox(ctx, groupAddr)
	if err != nil {
		return err
	}
	p, err := s.Person(ctx, personAddr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetGroupMember(ctx, store.GroupMember{GroupID: g.ID, PersonID: p.ID,
			Read: read, Write: write, Send: send}); err != nil {
			return err
		}
		if err := tx.MarkGroupMemberAdded(ctx, g.ID, p.ID, time.Now()); err != nil {
			return err
		}
		return audit(ctx, tx, a, "group.member.set", "group:"+g.AddressKey,
			fmt.Sprintf("person=%s read=%t write=%t send=%t", p.AddressKey, read, write, send))
	})
}

// RemoveGroupMember takes a person out of a group mailbox.
func (s *Service) RemoveGroupMember(ctx context.Context, a Actor, groupAddr, personAddr string) error {
	g, err := s.GroupMailbox(ctx, groupAddr)
	if err != nil {
		return err
	}
	p, err := s.Person(ctx, personAddr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveGroupMember(ctx, g.ID, p.ID); errors.Is(err, store.ErrNotFound) {
			return inputErr("member", personAddr, "is not a member of %s", g.Address)
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, a, "group.member.remove", "group:"+g.AddressKey, "person="+p.AddressKey)
	})
}

// CreateList adds a distribution list local@<org slug>.<suffix>.
func (s *Service) CreateList(ctx context.Context, a Actor, org, name, local string) (store.List, error) {
	var l store.List
	if strings.TrimSpace(name) == "" {
		return l, inputErr("name", "", "is missing; give the list's name, such as \"Youth court listings\"")
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganisationBySlug(ctx, org)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("organisation", org, "not found")
		} else if err != nil {
			return err
		}
		addr, key, err := s.sharedAddress(ctx, tx, o, local)
		if err != nil {
			return err
		}
		l = store.List{OrgID: o.ID, Name: strings.TrimSpace(name), Address: addr.String(), AddressKey: key}
		if err := tx.CreateList(ctx, &l); err != nil {
			return err
		}
		return audit(ctx, tx, a, "list.create", "list:"+key, fmt.Sprintf("org=%s name=%q", org, l.Name))
	})
	return l, err
}

// List returns a distribution list by address.
func (s *Service) List(ctx context.Context, addr string) (store.List, error) {
	_, key, err := addressKey("list", addr)
	if err != nil {
		return store.List{}, err
	}
	l, err := s.st.ListByAddress(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return l, inputErr("list", addr, "not found; list them with `cjsm admin list list`")
	}
	return l, err
}

// RenameList changes a distribution list's display name.
func (s *Service) RenameList(ctx context.Context, a Actor, addr, name string) (store.List, error) {
	l, err := s.List(ctx, addr)
	if err != nil {
		return l, err
	}
	if strings.TrimSpace(name) == "" {
		return l, inputErr("name", "", "is empty")
	}
	l.Name = strings.TrimSpace(name)
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateList(ctx, &l); err != nil {
			return err
		}
		return audit(ctx, tx, a, "list.update", "list:"+l.AddressKey, fmt.Sprintf("name=%q", l.Name))
	})
	return l, err
}

// RemoveList deletes a distribution list.
func (s *Service) RemoveList(ctx context.Context, a Actor, addr string) error {
	l, err := s.List(ctx, addr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.DeleteList(ctx, l.ID); err != nil {
			return err
		}
		return audit(ctx, tx, a, "list.remove", "list:"+l.AddressKey, "")
	})
}

// AddListMember adds a member to a list: a person, group mailbox or another list of any
// organisation, named by any form of its address.
func (s *Service) AddListMember(ctx context.Context, a Actor, listAddr, member string) error {
	l, err := s.List(ctx, listAddr)
	if err != nil {
		return err
	}
	_, key, err := s.communityKey("member", member)
	if err != nil {
		return err
	}
	if key == l.AddressKey {
		return inputErr("member", member, "is the list itself")
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		taken, err := tx.AddressTaken(ctx, key)
		if err != nil {
			return err
		}
		if !taken {
			return inputErr("member", member, "is not a community address; add people, group mailboxes or lists that exist")
		}
		if err := tx.AddListMember(ctx, l.ID, key); err != nil {
			return err
		}
		return audit(ctx, tx, a, "list.member.add", "list:"+l.AddressKey, "member="+key)
	})
}

// RemoveListMember takes a member off a list.
func (s *Service) RemoveListMember(ctx context.Context, a Actor, listAddr, member string) error {
	l, err := s.List(ctx, listAddr)
	if err != nil {
		return err
	}
	_, key, err := s.communityKey("member", member)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RemoveListMember(ctx, l.ID, key); errors.Is(err, store.ErrNotFound) {
			return inputErr("member", member, "is not on %s", l.Address)
		} else if err != nil {
			return err
		}
		return audit(ctx, tx, a, "list.member.remove", "list:"+l.AddressKey, "member="+key)
	})
}
