package directory

import (
	"context"
	"errors"
	"fmt"

	"github.com/cjsm/cjsm/internal/store"
)

// AddListOwner makes a person, named by any form of their address, an owner of a
// distribution list. Owners receive the mail that others send to a moderated list.
func (s *Service) AddListOwner(ctx context.Context, a Actor, listAddr, personAddr string) error {
	l, err := s.List(ctx, listAddr)
	if err != nil {
		return err
	}
	p, err := s.Person(ctx, personAddr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.AddListOwner(ctx, l.ID, p.ID); err != nil {
			return err
		}
		return audit(ctx, tx, a, "list.owner.add", "list:"+l.AddressKey, "person="+p.AddressKey)
	})
}

// RemoveListOwner takes a person off a list's owners. The last owner of a moderated list
// cannot be removed, because mail to the list from non-owners would have nowhere to go.
func (s *Service) RemoveListOwner(ctx context.Context, a Actor, listAddr, personAddr string) error {
	l, err := s.List(ctx, listAddr)
	if err != nil {
		return err
	}
	p, err := s.Person(ctx, personAddr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		err := tx.RemoveListOwner(ctx, l.ID, p.ID)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("owner", personAddr, "is not an owner of %s", l.Address)
		} else if err != nil {
			return err
		}
		moderated, err := tx.ListModerated(ctx, l.ID)
		if err != nil {
			return err
		}
		owners, err := tx.ListOwners(ctx, l.ID)
		if err != nil {
			return err
		}
		if moderated && len(owners) == 0 {
			return inputErr("owner", personAddr, "is the last owner of the moderated list %s; "+
				"add another owner first, or turn moderation off", l.Address)
		}
		return audit(ctx, tx, a, "list.owner.remove", "list:"+l.AddressKey,
			"person="+p.AddressKey)
	})
}

// SetListModerated turns moderation of a list on or off. A list needs at least one owner
// before it can be moderated.
func (s *Service) SetListModerated(ctx context.Context, a Actor, listAddr string,
	moderated bool) error {
	l, err := s.List(ctx, listAddr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		owners, err := tx.ListOwners(ctx, l.ID)
		if err != nil {
			return err
		}
		if moderated && len(owners) == 0 {
			return inputErr("list", l.Address, "has no owners; add one with "+
				"`cjsm admin list owner-add LIST PERSON` before turning moderation on")
		}
		if err := tx.SetListModerated(ctx, l.ID, moderated); err != nil {
			return err
		}
		return audit(ctx, tx, a, "list.update", "list:"+l.AddressKey,
			fmt.Sprintf("moderated=%t", moderated))
	})
}
