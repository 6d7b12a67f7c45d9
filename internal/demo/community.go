package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/cjsm/cjsm/internal/directory"
)

type demoOrg struct {
	slug, name, kind, parent, sector, postal, postcode, signatory, domain string
}

var demoOrgs = []demoOrg{
	{"kent-police", "Kent Police", "hosted", "", "police", "Sutton Road, Maidstone", "ME15 9BZ", "Chief Constable", ""},
	{"crown-prosecution-service", "Crown Prosecution Service", "hosted", "", "cps", "102 Petty France, London", "SW1H 9EA", "Director of Public Prosecutions", ""},
	{"cps-south-east", "CPS South East", "hosted", "crown-prosecution-service", "cps", "Riverside House, Maidstone", "ME14 1XN", "Chief Crown Prosecutor", ""},
	{"harbour-reed-solicitors", "Harbour & Reed Solicitors LLP", "gateway", "", "defence", "14 High Street, Canterbury", "CT1 2JA", "Managing Partner", "harbourreed.test"},
	{"medway-victim-support", "Medway Victim Support", "hosted", "", "victim-support", "3 Chatham Road, Rochester", "ME1 1AA", "Chair of Trustees", ""},
}

type demoPerson struct {
	org, first, last, job, role string
}

// address is the person's community address, derived as the directory derives it.
func (p demoPerson) address() string {
	local := strings.ToLower(p.first + "." + p.last)
	for _, o := range demoOrgs {
		if o.slug == p.org && o.kind == "gateway" {
			return local + "@" + o.domain + "." + Suffix
		}
	}
	return local + "@" + p.org + "." + Suffix
}

// demoPeople lists the demo's people; those with a role get a password and appear in
// demo.json.
var demoPeople = []demoPerson{
	{"kent-police", "Sarah", "Okafor", "Detective Sergeant", "user"},
	{"kent-police", "Tom", "Hughes", "Witness Care Officer", "org-admin"},
	{"kent-police", "Priya", "Shah", "Police Constable", ""},
	{"cps-south-east", "Daniel", "Price", "Senior Crown Prosecutor", "user"},
	{"cps-south-east", "Helen", "Ward", "Paralegal Officer", "org-admin"},
	{"crown-prosecution-service", "Amir", "Rahman", "Information Security Lead", ""},
	{"harbour-reed-solicitors", "Amelia", "Hart", "Criminal Defence Solicitor", "user"},
	{"harbour-reed-solicitors", "Ben", "Cole", "Practice Manager", "org-admin"},
	{"medway-victim-support", "Grace", "Mensah", "Victim Caseworker", "user"},
	{"medway-victim-support", "Lucy", "Evans", "Service Manager", "org-admin"},
}

// populate creates the demo community through the directory service, so the demo data
// follows the same rules and audit trail as an operator's commands.
func populate(ctx context.Context, dir *directory.Service, accounts []Account) error {
	actor := directory.Actor{Name: "system:demo", Source: "cli"}
	passwords := map[string]string{}
	for _, a := range accounts {
		passwords[a.Address] = a.Password
	}
	if _, err := dir.CreateTrustedDomain(ctx, actor, directory.TrustedInput{
		Name: "kent.police.test", Description: "Kent Police secure domain",
		TLSPolicy: "mx", SourceNetworks: "127.0.0.0/8", SourceCertNames: "mx.kent.police.test",
	}); err != nil {
		return err
	}
	for _, o := range demoOrgs {
		if _, err := dir.CreateOrganisation(ctx, actor, directory.OrgInput{Name: o.name, Slug: o.slug,
			Kind: o.kind, Status: "active", Parent: o.parent, Sector: o.sector,
			PostalAddress: o.postal, Postcode: o.postcode, SignatoryName: o.signatory}); err != nil {
			return fmt.Errorf("organisation %s: %w", o.slug, err)
		}
		if o.domain != "" {
			if _, err := dir.AddDomain(ctx, actor, o.slug, o.domain); err != nil {
				return err
			}
			if _, err := dir.MarkDomainVerified(ctx, actor, o.domain, "verified"); err != nil {
				return err
			}
		}
	}
	if _, err := dir.CreateConnector(ctx, actor, directory.ConnectorInput{Org: "harbour-reed-solicitors",
		Name: "harbour-reed", InboundNetworks: "127.0.0.0/8", InboundCertNames: "mail.harbourreed.test",
		OutboundHost: "mail.harbourreed.test", OutboundPort: 25}); err != nil {
		return err
	}
	for _, p := range demoPeople {
		in := directory.PersonInput{Org: p.org, FirstName: p.first, LastName: p.last, JobTitle: p.job,
			Roles: p.role, Password: passwords[p.address()],
			ContactAddress: strings.ToLower(p.first) + "@home.example"}
		if strings.Contains(p.address(), "harbourreed") {
			in.Address = strings.TrimSuffix(p.address(), "."+Suffix)
		}
		if _, err := dir.CreatePerson(ctx, actor, in); err != nil {
			return fmt.Errorf("person %s: %w", p.address(), err)
		}
	}
	g, err := dir.CreateGroupMailbox(ctx, actor, "kent-police", "Witness Care Unit", "witness-care")
	if err != nil {
		return err
	}
	for _, m := range []struct {
		addr              string
		read, write, send bool
	}{
		{"tom.hughes@kent-police." + Suffix, true, true, true},
		{"sarah.okafor@kent-police." + Suffix, true, false, true},
		{"priya.shah@kent-police." + Suffix, true, false, false},
	} {
		if err := dir.SetGroupMember(ctx, actor, g.Address, m.addr, m.read, m.write, m.send); err != nil {
			return err
		}
	}
	l, err := dir.CreateList(ctx, actor, "cps-south-east", "Maidstone Youth Court listings", "youth-court")
	if err != nil {
		return err
	}
	for _, m := range []string{"daniel.price@cps-south-east." + Suffix, "sarah.okafor@kent-police." + Suffix,
		"amelia.hart@harbourreed.test", "grace.mensah@medway-victim-support." + Suffix, g.Address} {
		if err := dir.AddListMember(ctx, actor, l.Address, m); err != nil {
			return err
		}
	}
	return nil
}
