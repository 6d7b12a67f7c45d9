package dataset

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/cjsm/cjsm/internal/address"
	"github.com/cjsm/cjsm/internal/store"
)

// People generates the people of organisation i (an index into Organisations). Each
// organisation has its own random sequence, so People(i) returns the same people whatever
// the order of calls. The first person is the organisation's administrator and, at the
// top level, its signatory.
func (d *Dataset) People(i int) ([]store.Person, error) {
	if i < 0 || i >= len(d.plans) {
		return nil, fmt.Errorf("%w: %d of %d", errNoPeople, i, len(d.plans))
	}
	p := d.plans[i]
	r := rand.New(rand.NewPCG(d.opts.Seed^peopleStream, uint64(i)))
	taken := make([]map[string]bool, len(p.domains))
	for k := range taken {
		taken[k] = map[string]bool{}
	}

	out := make([]store.Person, 0, p.people)
	for k := 0; k < p.people; k++ {
		first, last := p.signatoryFirst, p.signatoryLast
		if k > 0 {
			first, last = pickName(r, p.town.nation)
		}
		domain := 0
		if k > 0 && len(p.domains) > 1 && r.IntN(100) < 15 {
			domain = 1 + r.IntN(len(p.domains)-1)
		}

		person := store.Person{OrgID: d.orgID(i), FirstName: first, LastName: last}
		if err := d.assignAddress(&person, p, p.domains[domain], taken[domain]); err != nil {
			return nil, err
		}
		taken[domain][person.AddressKey] = true
		d.fillPerson(r, p, k, &person)
		out = append(out, person)
	}
	return out, nil
}

// firstAddress returns the community address of an organisation's first person, who is
// always first to claim an address in the primary domain.
func (d *Dataset) firstAddress(p *orgPlan) (string, error) {
	person := store.Person{FirstName: p.signatoryFirst, LastName: p.signatoryLast}
	if err := d.assignAddress(&person, p, p.domains[0], nil); err != nil {
		return "", err
	}
	return person.Address, nil
}

// assignAddress sets the person's addresses the way the directory assigns them. In a
// hosted organisation the address is first.last@<slug>.<suffix>, with first.last2,
// first.last3 … when taken. In a gateway organisation the person's own address is
// first.last@<domain>, numbered the same way, and the community address is its community
// form, first.last@<domain>.<suffix>.
func (d *Dataset) assignAddress(person *store.Person, p *orgPlan, domain string,
	taken map[string]bool) error {
	if p.kind == store.KindHosted {
		a, err := address.HostedAddress(person.FirstName, person.LastName, p.slug,
			d.opts.Suffix, func(candidate string) bool { return taken[candidate] })
		if err != nil {
			return fmt.Errorf("dataset: hosted address for %s %s in %s: %w",
				person.FirstName, person.LastName, p.slug, err)
		}
		person.Address, person.AddressKey = a.String(), address.Key(a)
		return nil
	}

	base := address.HostedLocalPart(person.FirstName, person.LastName)
	if base == "" {
		return fmt.Errorf("dataset: name %q %q has no letters for an address",
			person.FirstName, person.LastName)
	}
	for n := 1; n <= address.MaxHostedCandidates; n++ {
		local := base
		if n > 1 {
			number := strconv.Itoa(n)
			local = cutLabel(base, address.MaxLocalLength-len(number)) + number
		}
		plain, err := address.Parse(local + "@" + domain)
		if err != nil {
			return fmt.Errorf("dataset: gateway address %s@%s: %w", local, domain, err)
		}
		community, err := address.CommunityForm(plain, d.opts.Suffix)
		if err != nil {
			return fmt.Errorf("dataset: community form of %s: %w", plain, err)
		}
		key := address.Key(community)
		if taken[key] {
			continue
		}
		person.PlainAddress = plain.String()
		person.Address, person.AddressKey = community.String(), key
		return nil
	}
	return fmt.Errorf("dataset: %s@%s and %d numbered variants are all taken",
		base, domain, address.MaxHostedCandidates-1)
}

// fillPerson sets everything but the names and addresses of the k-th person of p.
func (d *Dataset) fillPerson(r *rand.Rand, p *orgPlan, k int, person *store.Person) {
	const day = 24 * time.Hour
	now := d.opts.Now
	s := p.sector

	person.JobTitle = pickWeighted(r, s.jobs)
	person.Roles = store.RoleUser
	if k == 0 {
		person.JobTitle = s.leads[p.depth-1]
		person.Roles = store.RoleUser + " " + store.RoleOrgAdmin
		if p.parent == nil {
			person.Roles += " " + store.RoleSignatory
		}
	} else if r.IntN(75) == 0 {
		person.Roles = store.RoleUser + " " + store.RoleOrgAdmin
	}

	if r.IntN(100) < 55 {
		person.Phone = mobile(r)
	} else {
		person.Phone = landline(r, p.town)
	}
	person.ExDirectory = k > 0 && r.Float64() < s.exDirectory

	switch x := r.IntN(1000); {
	case p.status == store.StatusClosed:
		person.Status = store.StatusClosed
	case k == 0 || x < 940:
		person.Status = store.StatusActive
	case x < 970:
		person.Status = store.StatusSuspended
	case x < 975:
		person.Status = store.StatusLocked
	default:
		person.Status = store.StatusClosed
	}

	person.CreatedAt = between(r, p.createdAt, now.Add(-day))
	person.UpdatedAt = between(r, person.CreatedAt, now)
	switch {
	case person.Status == store.StatusActive && r.IntN(100) < 85:
		// Signed in within the last 90 days.
		person.LastSignIn = between(r, now.Add(-90*day), now)
	case person.Status == store.StatusSuspended || person.Status == store.StatusLocked:
		person.LastSignIn = between(r, now.Add(-400*day), now.Add(-90*day))
	}
	if !person.LastSignIn.IsZero() && person.LastSignIn.Before(person.CreatedAt) {
		person.LastSignIn = person.CreatedAt
	}
}
