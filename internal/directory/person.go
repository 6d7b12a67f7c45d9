package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/store"
)

// PersonInput holds the fields of a person to create.
type PersonInput struct {
	Org            string // slug
	FirstName      string
	LastName       string
	JobTitle       string
	Phone          string
	Address        string // a gateway person's own address; ignored for hosted organisations
	ContactAddress string // outside the community, for notifications
	Roles          string // comma- or space-separated; "user" is always included
	ExDirectory    bool
	Password       string // empty: the person cannot sign in until one is set
	Status         string // active by default
}

// PersonChange holds the fields of a person to change; nil leaves a field as it is.
type PersonChange struct {
	FirstName      *string
	LastName       *string
	JobTitle       *string
	Phone          *string
	ContactAddress *string
	Roles          *string
	ExDirectory    *bool
	Password       *string
	Status         *string
}

func normaliseRoles(s string) (string, error) {
	roles := []string{store.RoleUser}
	seen := map[string]bool{store.RoleUser: true}
	for _, r := range splitList(strings.ToLower(s)) {
		if !oneOf(r, store.AllRoles...) {
			return "", inputErr("role", r, "unknown role; use %s", strings.Join(store.AllRoles, ", "))
		}
		if !seen[r] {
			seen[r] = true
			roles = append(roles, r)
		}
	}
	return strings.Join(roles, " "), nil
}

func validatePersonStatus(v string) error {
	if !oneOf(v, store.StatusActive, store.StatusSuspended, store.StatusLocked, store.StatusClosed) {
		return inputErr("status", v, "unknown person status; use active, suspended, locked or closed")
	}
	return nil
}

func validateName(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return inputErr(field, "", "is missing")
	}
	if len(v) > 100 || strings.ContainsAny(v, "<>@\r\n\t") {
		return inputErr(field, v, "is not a plain name; use at most 100 characters without <, >, @ or line breaks")
	}
	return nil
}

func checkContact(v string, suffix string) error {
	if v == "" {
		return nil
	}
	a, err := address.Parse(v)
	if err != nil {
		return syntaxErr("contact address", v, err)
	}
	if address.IsUnderSuffix(a.Domain, suffix) {
		return inputErr("contact address", v, "is inside the community; give an address outside it, used for notifications")
	}
	return nil
}

// CreatePerson adds a person. In a hosted organisation the address is derived from the name
// (first.last@<slug>.<suffix>, numbered on collision); in a gateway organisation Address must
// be in one of the organisation's domains and the community form is derived from it.
func (s *Service) CreatePerson(ctx context.Context, a Actor, in PersonInput) (store.Person, error) {
	p := store.Person{FirstName: strings.TrimSpace(in.FirstName), LastName: strings.TrimSpace(in.LastName),
		JobTitle: in.JobTitle, Phone: in.Phone, ContactAddress: in.ContactAddress,
		ExDirectory: in.ExDirectory, Status: in.Status}
	if err := validateName("first name", p.FirstName); err != nil {
		return p, err
	}
	if err := validateName("last name", p.LastName); err != nil {
		return p, err
	}
	if p.Status == "" {
		p.Status = store.StatusActive
	}
	if err := validatePersonStatus(p.Status); err != nil {
		return p, err
	}
	roles, err := normaliseRoles(in.Roles)
	if err != nil {
		return p, err
	}
	p.Roles = roles
	if err := checkContact(p.ContactAddress, s.suffix); err != nil {
		return p, err
	}
	if in.Password != "" {
		if err := identity.CheckNewPassword(in.Password); err != nil {
			return p, inputErr("password", "", "%s", strings.TrimPrefix(err.Error(), "password "))
		}
		if p.PasswordHash, err = identity.HashPassword(in.Password); err != nil {
			return p, err
		}
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganisationBySlug(ctx, in.Org)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("organisation", in.Org, "not found; list organisations with `cjsm admin org list`")
		} else if err != nil {
			return err
		}
		p.OrgID = o.ID
		if err := s.assignAddress(ctx, tx, o, &p, in.Address); err != nil {
			return err
		}
		if err := tx.CreatePerson(ctx, &p); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return inputErr("address", p.Address, "is already used by another person; each person needs their own address")
			}
			return err
		}
		return audit(ctx, tx, a, "person.create", "person:"+p.AddressKey,
			fmt.Sprintf("org=%s roles=%q status=%s", o.Slug, p.Roles, p.Status))
	})
	return p, err
}

func (s *Service) assignAddress(ctx context.Context, tx *store.Tx, o store.Organisation, p *store.Person, given string) error {
	if o.Kind == store.KindHosted {
		if given != "" {
			return inputErr("address", given, "is not used for hosted organisations: their addresses are made from the name; leave it out")
		}
		var lookupErr error
		addr, err := address.HostedAddress(p.FirstName, p.LastName, o.Slug, s.suffix, func(candidate string) bool {
			taken, err := tx.AddressTaken(ctx, address.Key(mustParse(candidate)))
			if err != nil {
				lookupErr = err
				return true
			}
			return taken
		})
		if lookupErr != nil {
			return lookupErr
		}
		if err != nil {
			return syntaxErr("name", p.FirstName+" "+p.LastName, err)
		}
		p.Address, p.AddressKey = addr.String(), address.Key(addr)
		return nil
	}
	if given == "" {
		return inputErr("address", "", "is missing: a person in gateway organisation %s needs their own address, such as jane@firm.example", o.Slug)
	}
	plain, _, err := addressKey("address", given)
	if err != nil {
		return err
	}
	if pl, ok := address.PlainForm(plain, s.suffix); ok {
		plain = pl
	}
	d, err := tx.DomainByName(ctx, plain.Domain)
	if errors.Is(err, store.ErrNotFound) || err == nil && d.OrgID != o.ID {
		return inputErr("address", given, "is not in a domain of %s; add the domain first with `cjsm admin domain add --org %s %s`", o.Slug, o.Slug, plain.Domain)
	} else if err != nil {
		return err
	}
	community, err := address.CommunityForm(plain, s.suffix)
	if err != nil {
		return syntaxErr("address", given, err)
	}
	p.PlainAddress = plain.String()
	p.Address, p.AddressKey = community.String(), address.Key(community)
	if taken, err := tx.AddressTaken(ctx, p.AddressKey); err != nil {
		return err
	} else if taken {
		return inputErr("address", given, "is already used; each person, group mailbox and list needs its own address")
	}
	return nil
}

func mustParse(s string) address.Address {
	a, err := address.Parse(s)
	if err != nil {
		return address.Address{Local: s}
	}
	return a
}

// Person returns a person by any form of their address.
func (s *Service) Person(ctx context.Context, addr string) (store.Person, error) {
	_, key, err := s.communityKey("address", addr)
	if err != nil {
		return store.Person{}, err
	}
	p, err := s.st.PersonByAddress(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return p, inputErr("person", addr, "not found; search with `cjsm admin person list --search NAME`")
	}
	return p, err
}

// communityKey parses an address and returns the lookup key of its community form: a gateway
// person's plain address and its community form find the same person.
func (s *Service) communityKey(field, addr string) (address.Address, string, error) {
	a, _, err := addressKey(field, addr)
	if err != nil {
		return a, "", err
	}
	if !address.IsUnderSuffix(a.Domain, s.suffix) {
		if c, err := address.CommunityForm(a, s.suffix); err == nil {
			a = c
		}
	}
	return a, address.Key(a), nil
}

// UpdatePerson changes a person. Suspending or closing a person takes effect at once for
// mail and group mailbox access, because both look the status up on every use.
func (s *Service) UpdatePerson(ctx context.Context, a Actor, addr string, ch PersonChange) (store.Person, error) {
	_, key, err := s.communityKey("address", addr)
	if err != nil {
		return store.Person{}, err
	}
	var p store.Person
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		p, err = tx.PersonByAddress(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("person", addr, "not found")
		} else if err != nil {
			return err
		}
		changed, err := s.applyPersonChange(&p, ch)
		if err != nil {
			return err
		}
		if len(changed) == 0 {
			return inputErr("change", "", "nothing to change; give at least one field to set")
		}
		if err := tx.UpdatePerson(ctx, &p); err != nil {
			return err
		}
		return audit(ctx, tx, a, "person.update", "person:"+p.AddressKey, strings.Join(changed, " "))
	})
	return p, err
}

func (s *Service) applyPersonChange(p *store.Person, ch PersonChange) ([]string, error) {
	var changed []string
	if ch.FirstName != nil {
		if err := validateName("first name", *ch.FirstName); err != nil {
			return nil, err
		}
		p.FirstName = strings.TrimSpace(*ch.FirstName)
		changed = append(changed, fmt.Sprintf("first_name=%q", p.FirstName))
	}
	if ch.LastName != nil {
		if err := validateName("last name", *ch.LastName); err != nil {
			return nil, err
		}
		p.LastName = strings.TrimSpace(*ch.LastName)
		changed = append(changed, fmt.Sprintf("last_name=%q", p.LastName))
	}
	if ch.JobTitle != nil {
		p.JobTitle = *ch.JobTitle
		changed = append(changed, fmt.Sprintf("job_title=%q", p.JobTitle))
	}
	if ch.Phone != nil {
		p.Phone = *ch.Phone
		changed = append(changed, fmt.Sprintf("phone=%q", p.Phone))
	}
	if ch.ContactAddress != nil {
		if err := checkContact(*ch.ContactAddress, s.suffix); err != nil {
			return nil, err
		}
		p.ContactAddress = *ch.ContactAddress
		changed = append(changed, fmt.Sprintf("contact_address=%q", p.ContactAddress))
	}
	if ch.Roles != nil {
		roles, err := normaliseRoles(*ch.Roles)
		if err != nil {
			return nil, err
		}
		p.Roles = roles
		changed = append(changed, fmt.Sprintf("roles=%q", p.Roles))
	}
	if ch.ExDirectory != nil {
		p.ExDirectory = *ch.ExDirectory
		changed = append(changed, fmt.Sprintf("ex_directory=%t", p.ExDirectory))
	}
	if ch.Status != nil {
		if err := validatePersonStatus(*ch.Status); err != nil {
			return nil, err
		}
		p.Status = *ch.Status
		changed = append(changed, "status="+p.Status)
	}
	if ch.Password != nil {
		if err := identity.CheckNewPassword(*ch.Password); err != nil {
			return nil, inputErr("password", "", "%s", strings.TrimPrefix(err.Error(), "password "))
		}
		h, err := identity.HashPassword(*ch.Password)
		if err != nil {
			return nil, err
		}
		p.PasswordHash = h
		changed = append(changed, "password=(changed)")
	}
	return changed, nil
}

// RemovePerson deletes a person with an empty mailbox, with their group memberships and
// list memberships, so that a later person with the same address inherits none of them. A
// person who has mail must be closed instead, so that the mail stays retrievable.
func (s *Service) RemovePerson(ctx context.Context, a Actor, addr string) error {
	_, key, err := s.communityKey("address", addr)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		p, err := tx.PersonByAddress(ctx, key)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("person", addr, "not found")
		} else if err != nil {
			return err
		}
		n, err := tx.PersonMessageCount(ctx, p.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			return inputErr("person", addr, "still has %d messages in their mailbox; set their status to closed instead, so the mail stays retrievable (`cjsm admin person update %s --status closed`)", n, addr)
		}
		lists, err := tx.RemoveFromAllLists(ctx, p.AddressKey)
		if err != nil {
			return err
		}
		if err := tx.DeletePerson(ctx, p.ID); err != nil {
			return err
		}
		return audit(ctx, tx, a, "person.remove", "person:"+p.AddressKey, fmt.Sprintf("removed_from_lists=%d", lists))
	})
}

// People lists people, optionally in one organisation and matching a search text.
func (s *Service) People(ctx context.Context, org, search string, limit int) ([]store.Person, error) {
	f := store.PersonFilter{Search: search, Limit: limit}
	if org != "" {
		o, err := s.Organisation(ctx, org)
		if err != nil {
			return nil, err
		}
		f.OrgID = o.ID
	}
	return s.st.People(ctx, f)
}
