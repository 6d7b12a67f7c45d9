package directory_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/identity"
	"github.com/cjsm/cjsm/internal/store"
)

func TestCreateHostedOrganisationAddsHostedDomain(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		o, err := d.CreateOrganisation(t.Context(), operator, directory.OrgInput{
			Name: "  St. Mary's Victim Support (North) ", Kind: "hosted"})
		if err != nil {
			t.Fatalf("CreateOrganisation: %v", err)
		}
		if o.Slug != "st-marys-victim-support-north" || o.Status != store.StatusApplied ||
			o.Name != "St. Mary's Victim Support (North)" {
			t.Errorf("organisation = slug %q status %q name %q", o.Slug, o.Status, o.Name)
		}
		dom, err := d.Store().DomainByName(t.Context(), "st-marys-victim-support-north."+suffix)
		if err != nil {
			t.Fatalf("hosted domain: %v", err)
		}
		if dom.OrgID != o.ID || dom.Kind != store.DomainHosted ||
			dom.VerificationState != store.VerificationVerified {
			t.Errorf("hosted domain = %+v", dom)
		}
		entries, _ := d.Store().AuditEntries(t.Context(), store.AuditFilter{})
		if len(entries) != 1 {
			t.Fatalf("audit rows = %d, want 1", len(entries))
		}
		e := entries[0]
		if e.Action != "organisation.create" || e.Actor != "operator:test" ||
			e.Source != "cli" || e.Target != "org:st-marys-victim-support-north" {
			t.Errorf("audit row = %+v", e)
		}
	})
}

func TestCreateOrganisationRejectsInput(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		mustOrg(t, d, directory.OrgInput{Name: "Kent Police", Slug: "kent-police", Kind: "hosted"})
		cases := []struct {
			name string
			in   directory.OrgInput
			want []string
		}{
			{"empty name", directory.OrgInput{Name: "  ", Kind: "hosted"},
				[]string{"name", "is missing"}},
			{"unknown kind", directory.OrgInput{Name: "X", Kind: "cloud"},
				[]string{`kind "cloud"`, "use gateway", "or hosted"}},
			{"unknown status", directory.OrgInput{Name: "X", Kind: "hosted", Status: "dormant"},
				[]string{`status "dormant"`, "applied, active, suspended or closed"}},
			{"slug not a label", directory.OrgInput{Name: "X", Slug: "Bad Slug", Kind: "hosted"},
				[]string{`slug "Bad Slug"`, `"bad-slug"`}},
			{"unknown parent", directory.OrgInput{Name: "X", Kind: "hosted", Parent: "nobody"},
				[]string{`parent "nobody"`, "no organisation has this slug"}},
			{"duplicate slug", directory.OrgInput{Name: "Kent Police", Kind: "gateway"},
				[]string{`slug "kent-police"`, "already used", "--slug"}},
			{"bad signatory email", directory.OrgInput{Name: "X", Kind: "hosted",
				SignatoryEmail: "chief@@kent.example"},
				[]string{"signatory email", "chief@@kent.example"}},
		}
		for _, c := range cases {
			_, err := d.CreateOrganisation(t.Context(), operator, c.in)
			t.Run(c.name, func(t *testing.T) { wantInputError(t, err, c.want...) })
		}
		if got := auditActions(t, d); len(got) != 1 {
			t.Errorf("rejected changes wrote audit rows: %v", got)
		}
	})
}

func TestUpdateOrganisationRejectsCycle(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		for _, o := range []directory.OrgInput{
			{Name: "A", Slug: "a", Kind: "hosted"},
			{Name: "B", Slug: "b", Kind: "hosted", Parent: "a"},
			{Name: "C", Slug: "c", Kind: "hosted", Parent: "b"},
		} {
			mustOrg(t, d, o)
		}
		cases := []struct{ org, parent string }{
			{"a", "a"}, // A under itself
			{"a", "b"}, // A→B→A
			{"a", "c"}, // A→B→C→A
			{"b", "c"},
		}
		for _, c := range cases {
			_, err := d.UpdateOrganisation(t.Context(), operator, c.org,
				directory.OrgChange{Parent: ptr(c.parent)})
			wantInputError(t, err, fmt.Sprintf("parent %q", c.parent), "cycle", c.org)
		}

		// Moving C to the top and then A under C is no cycle.
		if _, err := d.UpdateOrganisation(t.Context(), operator, "c",
			directory.OrgChange{Parent: ptr("")}); err != nil {
			t.Fatalf("move c to the top level: %v", err)
		}
		o, err := d.UpdateOrganisation(t.Context(), operator, "a",
			directory.OrgChange{Parent: ptr("c")})
		if err != nil {
			t.Fatalf("move a under c: %v", err)
		}
		c, _ := d.Organisation(t.Context(), "c")
		if o.ParentID != c.ID || c.ParentID != 0 {
			t.Errorf("a's parent %d (want c, %d); c's parent %d (want 0)", o.ParentID, c.ID,
				c.ParentID)
		}
		b, _ := d.Organisation(t.Context(), "b")
		for _, check := range []struct {
			org, anc int64
			want     bool
		}{{b.ID, c.ID, true}, {b.ID, o.ID, true}, {c.ID, b.ID, false}, {o.ID, o.ID, true}} {
			got, err := d.IsWithin(t.Context(), check.org, check.anc)
			if err != nil || got != check.want {
				t.Errorf("IsWithin(%d, %d) = %t, %v; want %t", check.org, check.anc, got, err,
					check.want)
			}
		}
	})
}

func TestUpdateOrganisationFields(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		mustOrg(t, d, directory.OrgInput{Name: "Kent Police", Slug: "kent-police", Kind: "hosted"})
		o, err := d.UpdateOrganisation(t.Context(), operator, "kent-police", directory.OrgChange{
			Name: ptr("Kent Police Service"), Status: ptr("suspended"), Postcode: ptr("ME15 9BZ"),
			SignatoryEmail: ptr("chief@kent.example")})
		if err != nil {
			t.Fatalf("UpdateOrganisation: %v", err)
		}
		if o.Name != "Kent Police Service" || o.Status != "suspended" || o.Postcode != "ME15 9BZ" ||
			o.SignatoryEmail != "chief@kent.example" {
			t.Errorf("after update: %+v", o)
		}
		entries, _ := d.Store().AuditEntries(t.Context(), store.AuditFilter{Target: "org:kent-police"})
		last := entries[len(entries)-1]
		if last.Action != "organisation.update" || !strings.Contains(last.Detail, "status=suspended") {
			t.Errorf("audit row = %+v", last)
		}
		_, err = d.UpdateOrganisation(t.Context(), operator, "kent-police", directory.OrgChange{})
		wantInputError(t, err, "nothing to change")
		_, err = d.UpdateOrganisation(t.Context(), operator, "kent-police",
			directory.OrgChange{Status: ptr("gone")})
		wantInputError(t, err, `status "gone"`)
		_, err = d.UpdateOrganisation(t.Context(), operator, "nobody",
			directory.OrgChange{Name: ptr("x")})
		wantInputError(t, err, `organisation "nobody"`, "not found")
	})
}

func TestRemoveOrganisationWithDependents(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		mustOrg(t, d, directory.OrgInput{Name: "Kent South", Slug: "kent-south", Kind: "hosted",
			Parent: "kent-police"})
		if _, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "kent-police",
			FirstName: "Sarah", LastName: "Okafor"}); err != nil {
			t.Fatal(err)
		}
		err := d.RemoveOrganisation(t.Context(), operator, "kent-police")
		wantInputError(t, err, `organisation "kent-police"`, "1 people", "1 sub-organisations",
			"remove or move them first")
		if _, err := d.Store().DomainByName(t.Context(), "kent-police."+suffix); err != nil {
			t.Errorf("refused removal still deleted the hosted domain: %v", err)
		}
		err = d.RemoveOrganisation(t.Context(), operator, "firm")
		wantInputError(t, err, "1 domains")

		if err := d.RemoveOrganisation(t.Context(), operator, "kent-south"); err != nil {
			t.Fatalf("remove empty hosted organisation: %v", err)
		}
		if _, err := d.Store().DomainByName(t.Context(), "kent-south."+suffix); !errors.Is(err,
			store.ErrNotFound) {
			t.Errorf("hosted domain after removal: %v, want ErrNotFound", err)
		}
		err = d.RemoveOrganisation(t.Context(), operator, "kent-south")
		wantInputError(t, err, `organisation "kent-south"`, "not found")
	})
}

func TestAddDomainRules(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		if _, err := d.CreateTrustedDomain(t.Context(), operator,
			directory.TrustedInput{Name: "kent.police.uk"}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name, org, domain string
			want              []string
		}{
			{"empty label", "firm", "bad..domain", []string{"bad..domain"}},
			{"leading hyphen", "firm", "-x.example", []string{"-x.example"}},
			{"single label", "firm", "localhost", []string{"localhost"}},
			{"under the suffix", "firm", "firm." + suffix, []string{"firm." + suffix,
				"community suffix"}},
			{"the suffix itself", "firm", suffix, []string{`"` + suffix + `"`,
				"community suffix"}},
			{"hosted organisation", "kent-police", "kent.example", []string{"kent-police",
				"is hosted"}},
			{"unknown organisation", "nobody", "x.example", []string{`"nobody"`, "not found"}},
			{"already registered", "other", "FIRM.example", []string{`"firm.example"`,
				"already registered"}},
			{"trusted domain", "firm", "kent.police.uk", []string{"kent.police.uk",
				"trusted secure domain"}},
		}
		for _, c := range cases {
			_, err := d.AddDomain(t.Context(), operator, c.org, c.domain)
			t.Run(c.name, func(t *testing.T) { wantInputError(t, err, c.want...) })
		}

		dom, err := d.AddDomain(t.Context(), operator, "firm", "Firm-Two.Example.")
		if err != nil {
			t.Fatalf("AddDomain: %v", err)
		}
		if dom.Name != "firm-two.example" || dom.VerificationState != store.VerificationPending ||
			!strings.HasPrefix(dom.VerificationToken, "cjsm-verify=") {
			t.Errorf("AddDomain = %+v", dom)
		}
		dom, err = d.MarkDomainVerified(t.Context(), operator, "firm-two.example", "verified")
		if err != nil || dom.VerificationState != store.VerificationVerified {
			t.Errorf("MarkDomainVerified = %+v, %v", dom, err)
		}
		_, err = d.MarkDomainVerified(t.Context(), operator, "firm-two.example", "maybe")
		wantInputError(t, err, `state "maybe"`)
		err = d.RemoveDomain(t.Context(), operator, "kent-police."+suffix)
		wantInputError(t, err, "hosted domain")
		if err := d.RemoveDomain(t.Context(), operator, "firm-two.example"); err != nil {
			t.Errorf("RemoveDomain: %v", err)
		}
	})
}

func TestRemoveDomainInUse(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		if _, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "firm",
			FirstName: "Amelia", LastName: "Hart", Address: "amelia@firm.example"}); err != nil {
			t.Fatal(err)
		}
		err := d.RemoveDomain(t.Context(), operator, "firm.example")
		wantInputError(t, err, `"firm.example"`, "1 people")
	})
}

func TestTrustedDomainRules(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		fp := strings.Repeat("AB:", 31) + "AB"
		td, err := d.CreateTrustedDomain(t.Context(), operator, directory.TrustedInput{
			Name: "Kent.Police.UK", TLSPolicy: "pinned", PinnedNames: "mx1.kent.police.uk, *.kent.police.uk",
			PinnedFingerprints: fp, SourceNetworks: "192.0.2.7 198.51.100.0/24 2001:db8::1",
			Route: "192.0.2.10:25"})
		if err != nil {
			t.Fatalf("CreateTrustedDomain: %v", err)
		}
		want := store.TrustedDomain{ID: td.ID, Name: "kent.police.uk", TLSPolicy: "pinned",
			PinnedNames: "mx1.kent.police.uk *.kent.police.uk", PinnedFingerprints: strings.Repeat("ab", 32),
			SourceNetworks: "192.0.2.7/32 198.51.100.0/24 2001:db8::1/128", Route: "192.0.2.10:25",
			Status: "active", CreatedAt: td.CreatedAt, UpdatedAt: td.UpdatedAt}
		if !reflect.DeepEqual(td, want) {
			t.Errorf("CreateTrustedDomain\n got %+v\nwant %+v", td, want)
		}

		cases := []struct {
			name string
			in   directory.TrustedInput
			want []string
		}{
			{"malformed", directory.TrustedInput{Name: "bad..domain"}, []string{"bad..domain"}},
			{"inside the community", directory.TrustedInput{Name: "x." + suffix},
				[]string{"inside the community suffix"}},
			{"the community suffix", directory.TrustedInput{Name: "CJSM.test"},
				[]string{`"` + suffix + `"`, "community suffix"}},
			{"gateway domain", directory.TrustedInput{Name: "firm.example"},
				[]string{"gateway domain"}},
			{"duplicate", directory.TrustedInput{Name: "kent.police.uk"},
				[]string{"already a trusted domain"}},
			{"unknown policy", directory.TrustedInput{Name: "a.example", TLSPolicy: "none"},
				[]string{`tls policy "none"`, "mx, mta-sts, pinned or dane"}},
			{"pinned without pins", directory.TrustedInput{Name: "a.example", TLSPolicy: "pinned"},
				[]string{"pinned name or fingerprint"}},
			{"short fingerprint", directory.TrustedInput{Name: "a.example",
				PinnedFingerprints: "abcd"}, []string{`"abcd"`, "64 hex digits"}},
			{"bad network", directory.TrustedInput{Name: "a.example",
				SourceNetworks: "192.0.2.0/33"}, []string{`"192.0.2.0/33"`, "CIDR"}},
			{"route without port", directory.TrustedInput{Name: "a.example", Route: "mx.a.example"},
				[]string{`route "mx.a.example"`, "host:port"}},
			{"bad status", directory.TrustedInput{Name: "a.example", Status: "closed"},
				[]string{`status "closed"`, "active or suspended"}},
		}
		for _, c := range cases {
			_, err := d.CreateTrustedDomain(t.Context(), operator, c.in)
			t.Run(c.name, func(t *testing.T) { wantInputError(t, err, c.want...) })
		}

		td, err = d.UpdateTrustedDomain(t.Context(), operator, directory.TrustedInput{
			Name: "kent.police.uk", Status: "suspended", Route: ""},
			map[string]bool{"status": true, "route": true})
		if err != nil {
			t.Fatalf("UpdateTrustedDomain: %v", err)
		}
		if td.Status != "suspended" || td.Route != "" || td.PinnedNames == "" {
			t.Errorf("after update: %+v (pins must stay, route must clear)", td)
		}
		_, err = d.UpdateTrustedDomain(t.Context(), operator, directory.TrustedInput{
			Name: "kent.police.uk", PinnedNames: "", PinnedFingerprints: ""},
			map[string]bool{"pinned-names": true, "pinned-fingerprints": true})
		wantInputError(t, err, "pinned name or fingerprint")
		if err := d.RemoveTrustedDomain(t.Context(), operator, "kent.police.uk"); err != nil {
			t.Errorf("RemoveTrustedDomain: %v", err)
		}
		err = d.RemoveTrustedDomain(t.Context(), operator, "kent.police.uk")
		wantInputError(t, err, "is not a trusted domain")
	})
}

func TestCreateHostedPerson(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		in := directory.PersonInput{Org: "kent-police", FirstName: " Sarah ", LastName: "O'Kafor",
			Roles: "org-admin, user,org-admin", Password: "harbour reed lantern"}
		p, err := d.CreatePerson(t.Context(), operator, in)
		if err != nil {
			t.Fatalf("CreatePerson: %v", err)
		}
		if p.Address != "sarah.okafor@kent-police."+suffix || p.Roles != "user org-admin" ||
			p.Status != "active" || p.FirstName != "Sarah" {
			t.Errorf("person = address %q roles %q status %q first %q", p.Address, p.Roles,
				p.Status, p.FirstName)
		}
		if err := identity.VerifyPassword(p.PasswordHash, "harbour reed lantern"); err != nil {
			t.Errorf("stored password hash does not verify: %v", err)
		}
		second, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{
			Org: "kent-police", FirstName: "Sarah", LastName: "Okafor"})
		if err != nil {
			t.Fatalf("second Sarah Okafor: %v", err)
		}
		if second.Address != "sarah.okafor2@kent-police."+suffix {
			t.Errorf("second Sarah Okafor got %q, want sarah.okafor2@…", second.Address)
		}
		if second.PasswordHash != "" {
			t.Errorf("person created without a password has hash %q", second.PasswordHash)
		}
		_, err = d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "kent-police",
			FirstName: "Tom", LastName: "Hughes", Address: "tom@kent.example"})
		wantInputError(t, err, `address "tom@kent.example"`, "hosted organisations", "leave it out")
	})
}

func TestCreateGatewayPerson(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		p, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "firm",
			FirstName: "Amelia", LastName: "Hart", Address: "Amelia.Hart@FIRM.example"})
		if err != nil {
			t.Fatalf("CreatePerson: %v", err)
		}
		if p.PlainAddress != "Amelia.Hart@firm.example" ||
			p.Address != "Amelia.Hart@firm.example."+suffix {
			t.Errorf("plain %q community %q", p.PlainAddress, p.Address)
		}
		for _, form := range []string{"amelia.hart@firm.example", "AMELIA.HART@firm.example." + suffix} {
			got, err := d.Person(t.Context(), form)
			if err != nil || got.ID != p.ID {
				t.Errorf("Person(%q) = %d, %v; want %d", form, got.ID, err, p.ID)
			}
		}
		// The community form given as input means the same person.
		_, err = d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "firm",
			FirstName: "A", LastName: "H", Address: "amelia.hart@firm.example." + suffix})
		wantInputError(t, err, "amelia.hart@firm.example."+suffix, "already used")

		cases := []struct {
			name, addr string
			want       []string
		}{
			{"missing", "", []string{"address", "is missing", "jane@firm.example"}},
			{"outside the organisation's domains", "ben@elsewhere.example",
				[]string{`"ben@elsewhere.example"`, "not in a domain of firm",
					"cjsm admin domain add --org firm elsewhere.example"}},
			{"another organisation's domain", "ben@other.example",
				[]string{`"ben@other.example"`, "not in a domain of firm"}},
			{"a hosted domain", "ben@kent-police." + suffix,
				[]string{"not in a domain of firm"}},
			{"malformed", "ben@@firm.example", []string{"ben@@firm.example"}},
		}
		for _, c := range cases {
			_, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "firm",
				FirstName: "Ben", LastName: "Cole", Address: c.addr})
			t.Run(c.name, func(t *testing.T) { wantInputError(t, err, c.want...) })
		}
	})
}

func TestCreatePersonRejectsInput(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		base := directory.PersonInput{Org: "kent-police", FirstName: "Tom", LastName: "Hughes"}
		cases := []struct {
			name string
			edit func(*directory.PersonInput)
			want []string
		}{
			{"unknown organisation", func(p *directory.PersonInput) { p.Org = "nobody" },
				[]string{`organisation "nobody"`, "not found"}},
			{"unknown role", func(p *directory.PersonInput) { p.Roles = "user,superuser" },
				[]string{`role "superuser"`, "org-admin"}},
			{"bad status", func(p *directory.PersonInput) { p.Status = "asleep" },
				[]string{`status "asleep"`, "active, suspended, locked or closed"}},
			{"short password", func(p *directory.PersonInput) { p.Password = "short" },
				[]string{"password", "too short (5 characters)", "at least 12"}},
			{"common password", func(p *directory.PersonInput) { p.Password = "password1234" },
				[]string{"password", "commonly used"}},
			{"missing first name", func(p *directory.PersonInput) { p.FirstName = " " },
				[]string{"first name", "is missing"}},
			{"name with @", func(p *directory.PersonInput) { p.LastName = "a@b" },
				[]string{`last name "a@b"`, "plain name"}},
			{"contact inside community", func(p *directory.PersonInput) {
				p.ContactAddress = "tom@kent-police." + suffix
			}, []string{"contact address", "inside the community"}},
			{"malformed contact", func(p *directory.PersonInput) { p.ContactAddress = "tom" },
				[]string{`contact address "tom"`}},
		}
		for _, c := range cases {
			in := base
			c.edit(&in)
			_, err := d.CreatePerson(t.Context(), operator, in)
			t.Run(c.name, func(t *testing.T) { wantInputError(t, err, c.want...) })
		}
		if people, _ := d.People(t.Context(), "", "", 0); len(people) != 0 {
			t.Errorf("rejected people were stored: %d", len(people))
		}
	})
}

func TestUpdateAndRemovePerson(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		p, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "kent-police",
			FirstName: "Tom", LastName: "Hughes"})
		if err != nil {
			t.Fatal(err)
		}
		up, err := d.UpdatePerson(t.Context(), operator, p.Address, directory.PersonChange{
			Status: ptr("suspended"), Roles: ptr("auditor"), ExDirectory: ptr(true),
			Password: ptr("harbour reed lantern"), JobTitle: ptr("Sergeant")})
		if err != nil {
			t.Fatalf("UpdatePerson: %v", err)
		}
		if up.Status != "suspended" || up.Roles != "user auditor" || !up.ExDirectory ||
			up.JobTitle != "Sergeant" {
			t.Errorf("after update: %+v", up)
		}
		if err := identity.VerifyPassword(up.PasswordHash, "harbour reed lantern"); err != nil {
			t.Errorf("new password does not verify: %v", err)
		}
		entries, _ := d.Store().AuditEntries(t.Context(), store.AuditFilter{
			Target: "person:" + p.AddressKey})
		last := entries[len(entries)-1]
		if !strings.Contains(last.Detail, "password=(changed)") ||
			strings.Contains(last.Detail, "lantern") {
			t.Errorf("audit detail %q must note the change without the password", last.Detail)
		}
		_, err = d.UpdatePerson(t.Context(), operator, p.Address, directory.PersonChange{})
		wantInputError(t, err, "nothing to change")
		_, err = d.UpdatePerson(t.Context(), operator, p.Address,
			directory.PersonChange{Password: ptr("short")})
		wantInputError(t, err, "too short")
		_, err = d.UpdatePerson(t.Context(), operator, "nobody@kent-police."+suffix,
			directory.PersonChange{Status: ptr("active")})
		wantInputError(t, err, "nobody@kent-police."+suffix, "not found")

		if err := d.RemovePerson(t.Context(), operator, p.Address); err != nil {
			t.Fatalf("RemovePerson: %v", err)
		}
		_, err = d.Person(t.Context(), p.Address)
		wantInputError(t, err, "not found")
	})
}

func TestGroupMailboxMembers(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		tom, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{
			Org: "kent-police", FirstName: "Tom", LastName: "Hughes"})
		if err != nil {
			t.Fatal(err)
		}
		g, err := d.CreateGroupMailbox(t.Context(), operator, "kent-police", "Witness Care Unit",
			" Witness-Care ")
		if err != nil {
			t.Fatalf("CreateGroupMailbox: %v", err)
		}
		if g.Address != "witness-care@kent-police."+suffix {
			t.Errorf("group address %q", g.Address)
		}
		_, err = d.CreateGroupMailbox(t.Context(), operator, "kent-police", "Clash", "tom.hughes")
		wantInputError(t, err, "tom.hughes@kent-police."+suffix, "already used")
		_, err = d.CreateGroupMailbox(t.Context(), operator, "kent-police", "", "x")
		wantInputError(t, err, "name", "is missing")
		_, err = d.CreateGroupMailbox(t.Context(), operator, "nobody", "X", "x")
		wantInputError(t, err, `"nobody"`, "not found")

		err = d.SetGroupMember(t.Context(), operator, g.Address, tom.Address, false, false, false)
		wantInputError(t, err, "grant at least one of read, write and send")
		err = d.SetGroupMember(t.Context(), operator, g.Address, "ghost@kent-police."+suffix,
			true, false, false)
		wantInputError(t, err, "ghost@kent-police."+suffix, "not found")
		if err := d.SetGroupMember(t.Context(), operator, g.Address, tom.Address, true, false,
			true); err != nil {
			t.Fatalf("SetGroupMember: %v", err)
		}
		m, err := d.Store().GroupMembership(t.Context(), g.ID, tom.ID)
		if err != nil || !m.Read || m.Write || !m.Send {
			t.Errorf("membership = %+v, %v; want read and send", m, err)
		}
		if _, err := d.RenameGroupMailbox(t.Context(), operator, g.Address, "WCU"); err != nil {
			t.Errorf("RenameGroupMailbox: %v", err)
		}
		if err := d.RemoveGroupMember(t.Context(), operator, g.Address, tom.Address); err != nil {
			t.Errorf("RemoveGroupMember: %v", err)
		}
		err = d.RemoveGroupMember(t.Context(), operator, g.Address, tom.Address)
		wantInputError(t, err, tom.Address, "is not a member")
		if err := d.RemoveGroupMailbox(t.Context(), operator, g.Address); err != nil {
			t.Errorf("RemoveGroupMailbox: %v", err)
		}
		_, err = d.GroupMailbox(t.Context(), g.Address)
		wantInputError(t, err, "not found")
	})
}

func TestListMembers(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		amelia, err := d.CreatePerson(t.Context(), operator, directory.PersonInput{Org: "firm",
			FirstName: "Amelia", LastName: "Hart", Address: "amelia@firm.example"})
		if err != nil {
			t.Fatal(err)
		}
		l, err := d.CreateList(t.Context(), operator, "kent-police", "Youth court", "youth-court")
		if err != nil {
			t.Fatalf("CreateList: %v", err)
		}
		other, err := d.CreateList(t.Context(), operator, "kent-police", "Other", "other-list")
		if err != nil {
			t.Fatal(err)
		}
		// A gateway person can be named by the plain address; a list can hold another list.
		for _, m := range []string{"amelia@firm.example", other.Address} {
			if err := d.AddListMember(t.Context(), operator, l.Address, m); err != nil {
				t.Errorf("AddListMember(%s): %v", m, err)
			}
		}
		members, _ := d.Store().ListMembers(t.Context(), l.ID)
		want := []string{amelia.AddressKey, other.AddressKey}
		if !reflect.DeepEqual(members, want) {
			t.Errorf("ListMembers = %v, want %v", members, want)
		}
		err = d.AddListMember(t.Context(), operator, l.Address, "ghost@kent-police."+suffix)
		wantInputError(t, err, `member "ghost@kent-police.`+suffix+`"`, "not a community address")
		err = d.AddListMember(t.Context(), operator, l.Address, "someone@outside.example")
		wantInputError(t, err, "someone@outside.example", "not a community address")
		err = d.AddListMember(t.Context(), operator, l.Address, l.Address)
		wantInputError(t, err, "is the list itself")
		err = d.AddListMember(t.Context(), operator, "nolist@kent-police."+suffix, amelia.Address)
		wantInputError(t, err, "nolist@kent-police."+suffix, "not found")
		if err := d.RemoveListMember(t.Context(), operator, l.Address, amelia.Address); err != nil {
			t.Errorf("RemoveListMember: %v", err)
		}
		err = d.RemoveListMember(t.Context(), operator, l.Address, amelia.Address)
		wantInputError(t, err, "is not on")
		if err := d.RemoveList(t.Context(), operator, l.Address); err != nil {
			t.Errorf("RemoveList: %v", err)
		}
	})
}

func TestCreateConnector(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		community(t, d)
		c, err := d.CreateConnector(t.Context(), operator, directory.ConnectorInput{Org: "firm",
			Name: "firm-m365", InboundNetworks: "192.0.2.0/24, 2001:db8::/32",
			InboundCertNames: "mail.firm.example", InboundUsername: "firm",
			InboundPassword: "connector secret", OutboundHost: "mail.firm.example",
			OutboundTLSFingerprint: "AB"})
		if err != nil {
			t.Fatalf("CreateConnector: %v", err)
		}
		if c.OutboundPort != 25 || c.InboundNetworks != "192.0.2.0/24 2001:db8::/32" ||
			c.OutboundTLSFingerprint != "ab" {
			t.Errorf("connector = %+v", c)
		}
		if err := identity.VerifyPassword(c.InboundPasswordHash, "connector secret"); err != nil {
			t.Errorf("inbound password hash: %v", err)
		}
		cases := []struct {
			name string
			in   directory.ConnectorInput
			want []string
		}{
			{"duplicate name", directory.ConnectorInput{Org: "firm", Name: "firm-m365"},
				[]string{`name "firm-m365"`, "already used"}},
			{"hosted organisation", directory.ConnectorInput{Org: "kent-police", Name: "k"},
				[]string{`"kent-police"`, "is hosted"}},
			{"name with space", directory.ConnectorInput{Org: "firm", Name: "firm m365"},
				[]string{`name "firm m365"`, "without spaces"}},
			{"port out of range", directory.ConnectorInput{Org: "firm", Name: "p",
				OutboundPort: 70000}, []string{`outbound port "70000"`, "between 1 and 65535"}},
			{"bad network", directory.ConnectorInput{Org: "firm", Name: "n",
				InboundNetworks: "192.0.2.1"}, []string{`"192.0.2.1"`, "CIDR"}},
			{"bad host", directory.ConnectorInput{Org: "firm", Name: "h",
				OutboundHost: "mail..firm.example"}, []string{"mail..firm.example"}},
		}
		for _, c := range cases {
			_, err := d.CreateConnector(t.Context(), operator, c.in)
			t.Run(c.name, func(t *testing.T) { wantInputError(t, err, c.want...) })
		}
	})
}

// Every accepted change writes one audit row in the same transaction, and the chain verifies.
func TestEveryChangeIsAudited(t *testing.T) {
	eachService(t, func(t *testing.T, d *directory.Service) {
		ctx := t.Context()
		steps := []struct {
			action string
			do     func() error
		}{
			{"organisation.create", func() error {
				_, err := d.CreateOrganisation(ctx, operator, directory.OrgInput{Name: "Firm",
					Slug: "firm", Kind: "gateway"})
				return err
			}},
			{"organisation.update", func() error {
				_, err := d.UpdateOrganisation(ctx, operator, "firm",
					directory.OrgChange{Status: ptr("active")})
				return err
			}},
			{"domain.add", func() error {
				_, err := d.AddDomain(ctx, operator, "firm", "firm.example")
				return err
			}},
			{"domain.verify", func() error {
				_, err := d.MarkDomainVerified(ctx, operator, "firm.example", "verified")
				return err
			}},
			{"trusted.create", func() error {
				_, err := d.CreateTrustedDomain(ctx, operator, directory.TrustedInput{Name: "t.example"})
				return err
			}},
			{"trusted.update", func() error {
				_, err := d.UpdateTrustedDomain(ctx, operator, directory.TrustedInput{
					Name: "t.example", Description: "T"}, map[string]bool{"description": true})
				return err
			}},
			{"trusted.remove", func() error { return d.RemoveTrustedDomain(ctx, operator, "t.example") }},
			{"person.create", func() error {
				_, err := d.CreatePerson(ctx, operator, directory.PersonInput{Org: "firm",
					FirstName: "A", LastName: "B", Address: "a@firm.example"})
				return err
			}},
			{"person.update", func() error {
				_, err := d.UpdatePerson(ctx, operator, "a@firm.example",
					directory.PersonChange{Phone: ptr("01")})
				return err
			}},
			{"group.create", func() error {
				_, err := d.CreateGroupMailbox(ctx, operator, "firm", "G", "g")
				return err
			}},
			{"group.update", func() error {
				_, err := d.RenameGroupMailbox(ctx, operator, "g@firm."+suffix, "G2")
				return err
			}},
			{"group.member.set", func() error {
				return d.SetGroupMember(ctx, operator, "g@firm."+suffix, "a@firm.example", true,
					false, false)
			}},
			{"group.member.remove", func() error {
				return d.RemoveGroupMember(ctx, operator, "g@firm."+suffix, "a@firm.example")
			}},
			{"group.remove", func() error { return d.RemoveGroupMailbox(ctx, operator, "g@firm."+suffix) }},
			{"list.create", func() error {
				_, err := d.CreateList(ctx, operator, "firm", "L", "l")
				return err
			}},
			{"list.update", func() error {
				_, err := d.RenameList(ctx, operator, "l@firm."+suffix, "L2")
				return err
			}},
			{"list.member.add", func() error {
				return d.AddListMember(ctx, operator, "l@firm."+suffix, "a@firm.example")
			}},
			{"list.member.remove", func() error {
				return d.RemoveListMember(ctx, operator, "l@firm."+suffix, "a@firm.example")
			}},
			{"list.remove", func() error { return d.RemoveList(ctx, operator, "l@firm."+suffix) }},
			{"connector.create", func() error {
				_, err := d.CreateConnector(ctx, operator, directory.ConnectorInput{Org: "firm",
					Name: "c"})
				return err
			}},
			{"person.remove", func() error { return d.RemovePerson(ctx, operator, "a@firm.example") }},
			{"domain.remove", func() error { return d.RemoveDomain(ctx, operator, "firm.example") }},
		}
		var want []string
		for _, s := range steps {
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.action, err)
			}
			want = append(want, s.action)
		}
		if got := auditActions(t, d); !reflect.DeepEqual(got, want) {
			t.Errorf("audit actions\n got %v\nwant %v", got, want)
		}
		checked, _, problems, err := d.Store().VerifyAudit(ctx)
		if err != nil || len(problems) != 0 || checked != int64(len(want)) {
			t.Errorf("VerifyAudit = %d rows, %v, %v", checked, problems, err)
		}
	})
}
