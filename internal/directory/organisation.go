package directory

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

// OrgInput holds the fields of an organisation to create. Parent is a slug.
type OrgInput struct {
	Name           string
	Slug           string // derived from Name when empty
	Kind           string // gateway or hosted
	Status         string // applied by default
	Parent         string
	Sector         string
	PostalAddress  string
	Postcode       string
	SignatoryName  string
	SignatoryEmail string
}

// OrgChange holds the fields of an organisation to change; nil leaves a field as it is.
type OrgChange struct {
	Name           *string
	Status         *string
	Parent         *string // slug, or "" for top level
	Sector         *string
	PostalAddress  *string
	Postcode       *string
	SignatoryName  *string
	SignatoryEmail *string
}

func validateOrgStatus(v string) error {
	if !oneOf(v, store.StatusApplied, store.StatusActive, store.StatusSuspended, store.StatusClosed) {
		return inputErr("status", v, "unknown organisation status; use applied, active, suspended or closed")
	}
	return nil
}

// CreateOrganisation adds an organisation. A hosted organisation also gets its hosted domain,
// <slug>.<community suffix>.
func (s *Service) CreateOrganisation(ctx context.Context, a Actor, in OrgInput) (store.Organisation, error) {
	o := store.Organisation{Name: strings.TrimSpace(in.Name), Kind: in.Kind, Status: in.Status,
		Sector: in.Sector, PostalAddress: in.PostalAddress, Postcode: in.Postcode,
		SignatoryName: in.SignatoryName, SignatoryEmail: in.SignatoryEmail}
	if err := validateOrgName(o.Name); err != nil {
		return o, err
	}
	if err := validateSector(o.Sector); err != nil {
		return o, err
	}
	if o.Status == "" {
		o.Status = store.StatusApplied
	}
	if err := validateOrgStatus(o.Status); err != nil {
		return o, err
	}
	if o.Kind == "" {
		return o, inputErr("kind", "", "is missing; give --kind gateway (own mail system) or --kind hosted (cjsm mailboxes)")
	}
	if !oneOf(o.Kind, store.KindGateway, store.KindHosted) {
		return o, inputErr("kind", o.Kind, "unknown kind; use gateway (own mail system) or hosted (cjsm mailboxes)")
	}
	o.Slug = in.Slug
	if o.Slug == "" {
		o.Slug = address.Slug(o.Name)
	} else if address.Slug(o.Slug) != o.Slug {
		return o, inputErr("slug", o.Slug, "is not a DNS label; use lower-case letters, digits and hyphens, such as %q", address.Slug(o.Slug))
	}
	if o.SignatoryEmail != "" {
		if _, err := address.Parse(o.SignatoryEmail); err != nil {
			return o, syntaxErr("signatory email", o.SignatoryEmail, err)
		}
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if in.Parent != "" {
			p, err := tx.OrganisationBySlug(ctx, in.Parent)
			if errors.Is(err, store.ErrNotFound) {
				return inputErr("parent", in.Parent, "no organisation has this slug; list them with `cjsm admin org list`")
			} else if err != nil {
				return err
			}
			o.ParentID = p.ID
		}
		if err := tx.CreateOrganisation(ctx, &o); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return inputErr("slug", o.Slug, "is already used by another organisation; choose another with --slug")
			}
			return err
		}
		if o.Kind == store.KindHosted {
			d := store.Domain{OrgID: o.ID, Name: o.Slug + "." + s.suffix, Kind: store.DomainHosted,
				VerificationState: store.VerificationVerified}
			if err := tx.CreateDomain(ctx, &d); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return inputErr("slug", o.Slug, "its hosted domain %s already exists; choose another slug", d.Name)
				}
				return err
			}
		}
		return audit(ctx, tx, a, "organisation.create", "org:"+o.Slug,
			fmt.Sprintf("name=%q kind=%s status=%s parent=%q", o.Name, o.Kind, o.Status, in.Parent))
	})
	return o, err
}

// Organisation returns an organisation by slug.
func (s *Service) Organisation(ctx context.Context, slug string) (store.Organisation, error) {
	o, err := s.st.OrganisationBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return o, inputErr("organisation", slug, "not found; list organisations with `cjsm admin org list`")
	}
	return o, err
}

// UpdateOrganisation changes an organisation. Moving it under one of its own descendants is
// rejected, because the tree would become a cycle.
func (s *Service) UpdateOrganisation(ctx context.Context, a Actor, slug string, ch OrgChange) (store.Organisation, error) {
	var o store.Organisation
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		o, err = tx.OrganisationBySlug(ctx, slug)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("organisation", slug, "not found; list organisations with `cjsm admin org list`")
		} else if err != nil {
			return err
		}
		var changed []string
		if ch.Name != nil {
			if err := validateOrgName(strings.TrimSpace(*ch.Name)); err != nil {
				return err
			}
			o.Name = strings.TrimSpace(*ch.Name)
			changed = append(changed, fmt.Sprintf("name=%q", o.Name))
		}
		if ch.Status != nil {
			if err := validateOrgStatus(*ch.Status); err != nil {
				return err
			}
			o.Status = *ch.Status
			changed = append(changed, "status="+o.Status)
		}
		if ch.Parent != nil {
			parentID, err := s.checkParent(ctx, tx, o, *ch.Parent)
			if err != nil {
				return err
			}
			o.ParentID = parentID
			changed = append(changed, fmt.Sprintf("parent=%q", *ch.Parent))
		}
		set := func(field string, dst *string, v *string) {
			if v != nil {
				*dst = *v
				changed = append(changed, fmt.Sprintf("%s=%q", field, *v))
			}
		}
		if ch.Sector != nil {
			if err := validateSector(*ch.Sector); err != nil {
				return err
			}
		}
		set("sector", &o.Sector, ch.Sector)
		set("postal_address", &o.PostalAddress, ch.PostalAddress)
		set("postcode", &o.Postcode, ch.Postcode)
		set("signatory_name", &o.SignatoryName, ch.SignatoryName)
		if ch.SignatoryEmail != nil && *ch.SignatoryEmail != "" {
			if _, err := address.Parse(*ch.SignatoryEmail); err != nil {
				return syntaxErr("signatory email", *ch.SignatoryEmail, err)
			}
		}
		set("signatory_email", &o.SignatoryEmail, ch.SignatoryEmail)
		if len(changed) == 0 {
			return inputErr("change", "", "nothing to change; give at least one field to set")
		}
		if err := tx.UpdateOrganisation(ctx, &o); err != nil {
			return err
		}
		return audit(ctx, tx, a, "organisation.update", "org:"+o.Slug, strings.Join(changed, " "))
	})
	return o, err
}

// checkParent resolves a new parent slug for o and rejects a cycle.
func (s *Service) checkParent(ctx context.Context, tx *store.Tx, o store.Organisation, parent string) (int64, error) {
	if parent == "" {
		return 0, nil
	}
	p, err := tx.OrganisationBySlug(ctx, parent)
	if errors.Is(err, store.ErrNotFound) {
		return 0, inputErr("parent", parent, "no organisation has this slug")
	} else if err != nil {
		return 0, err
	}
	// Walk up from the new parent: meeting o means o would become its own ancestor.
	seen := map[int64]bool{}
	for id := p.ID; id != 0; {
		if id == o.ID {
			return 0, inputErr("parent", parent, "is %s or one of its sub-organisations, which would make a cycle; choose an organisation outside %s's tree", o.Slug, o.Slug)
		}
		if seen[id] {
			return 0, fmt.Errorf("organisation tree already contains a cycle at id %d", id)
		}
		seen[id] = true
		anc, err := tx.Organisation(ctx, id)
		if err != nil {
			return 0, err
		}
		id = anc.ParentID
	}
	return p.ID, nil
}

// RemoveOrganisation deletes an organisation that nothing refers to any more. Its hosted
// domain goes with it.
func (s *Service) RemoveOrganisation(ctx context.Context, a Actor, slug string) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		o, err := tx.OrganisationBySlug(ctx, slug)
		if errors.Is(err, store.ErrNotFound) {
			return inputErr("organisation", slug, "not found")
		} else if err != nil {
			return err
		}
		if o.Kind == store.KindHosted {
			if d, err := tx.DomainByName(ctx, o.Slug+"."+s.suffix); err == nil {
				if err := tx.DeleteDomain(ctx, d.ID); err != nil {
					return err
				}
			}
		}
		deps, err := tx.OrganisationDependents(ctx, o.ID)
		if err != nil {
			return err
		}
		if len(deps) > 0 {
			labels := map[string]string{"organisations": "sub-organisations",
				"domains": "domains", "people": "people", "group_mailboxes": "group mailboxes",
				"distribution_lists": "distribution lists", "connectors": "connectors"}
			var parts []string
			for k, n := range deps {
				parts = append(parts, fmt.Sprintf("%d %s", n, labels[k]))
			}
			sort.Strings(parts)
			return inputErr("organisation", slug, "still has %s; remove or move them first, or set its status to closed", strings.Join(parts, ", "))
		}
		if err := tx.DeleteOrganisation(ctx, o.ID); err != nil {
			return err
		}
		return audit(ctx, tx, a, "organisation.remove", "org:"+slug, fmt.Sprintf("name=%q", o.Name))
	})
}

// Organisations lists organisations; a non-empty parent lists only its direct children.
func (s *Service) Organisations(ctx context.Context, parent string) ([]store.Organisation, error) {
	var parentID int64
	if parent != "" {
		p, err := s.Organisation(ctx, parent)
		if err != nil {
			return nil, err
		}
		parentID = p.ID
	}
	return s.st.Organisations(ctx, parentID)
}

// IsWithin reports whether org is ancestor itself or one of its descendants; organisation
// administrators act only within their own tree.
func (s *Service) IsWithin(ctx context.Context, orgID, ancestorID int64) (bool, error) {
	seen := map[int64]bool{}
	for id := orgID; id != 0 && !seen[id]; {
		if id == ancestorID {
			return true, nil
		}
		seen[id] = true
		o, err := s.st.Organisation(ctx, id)
		if err != nil {
			return false, err
		}
		id = o.ParentID
	}
	return false, nil
}

// Sectors lists the kinds of organisation the community serves.
var Sectors = []string{"police", "cps", "court", "probation", "prison", "youth-justice",
	"victim-support", "barristers", "defence", "government", "other"}

func validateSector(v string) error {
	if v != "" && !oneOf(v, Sectors...) {
		return inputErr("sector", v, "unknown sector; use one of %s", strings.Join(Sectors, ", "))
	}
	return nil
}

// validateOrgName accepts a legal name of 1 to 200 characters without control characters,
// which would break listings and mail headers.
func validateOrgName(v string) error {
	if v == "" {
		return inputErr("name", "", "is missing; give the organisation's legal name")
	}
	if n := len([]rune(v)); n > 200 {
		return inputErr("name", string([]rune(v)[:40])+"…", "is %d characters long; use at most 200", n)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return inputErr("name", v, "contains a control character such as a line break; give the name on one line")
		}
	}
	return nil
}
