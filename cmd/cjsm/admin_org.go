package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/store"
)

func init() {
	register("org", "create", orgCreate)
	register("org", "list", orgList)
	register("org", "show", orgShow)
	register("org", "update", orgUpdate)
	register("org", "remove", orgRemove)
	register("domain", "add", domainAdd)
	register("domain", "list", domainList)
	register("domain", "verify", domainVerify)
	register("domain", "remove", domainRemove)
}

func orgCreate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("org create", flag.ContinueOnError)
	var in directory.OrgInput
	fs.StringVar(&in.Slug, "slug", "", "short DNS label for the organisation (default: made from the name)")
	fs.StringVar(&in.Kind, "kind", "", "gateway (own mail system) or hosted (cjsm mailboxes); required")
	fs.StringVar(&in.Status, "status", "applied", "applied, active, suspended or closed")
	fs.StringVar(&in.Parent, "parent", "", "slug of the parent organisation, for a sub-organisation")
	fs.StringVar(&in.Sector, "sector", "", "police, cps, court, probation, prison, defence, victim-support, …")
	fs.StringVar(&in.PostalAddress, "postal-address", "", "postal address")
	fs.StringVar(&in.Postcode, "postcode", "", "postcode")
	fs.StringVar(&in.SignatoryName, "signatory-name", "", "name of the person who signs the terms")
	fs.StringVar(&in.SignatoryEmail, "signatory-email", "", "address of the signatory")
	fs.Usage = func() {
		fmt.Println("Usage: cjsm admin org create --kind gateway|hosted [flags] NAME")
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if in.Name, err = oneArg("org create", pos, "organisation name (quote it)"); err != nil {
		return err
	}
	o, err := env.dir.CreateOrganisation(env.ctx, env.actor, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created organisation %s (%s, %s, %s)\n", o.Slug, o.Name, o.Kind, o.Status)
	if o.Kind == store.KindHosted {
		fmt.Fprintf(env.stdout, "hosted domain: %s.%s\n", o.Slug, env.dir.Suffix())
	}
	return nil
}

func orgRows(env *adminEnv, orgs []store.Organisation) [][]string {
	parents := map[int64]string{}
	all, _ := env.st.Organisations(env.ctx, 0)
	for _, o := range all {
		parents[o.ID] = o.Slug
	}
	var rows [][]string
	for _, o := range orgs {
		rows = append(rows, []string{o.Slug, o.Name, o.Kind, o.Status, parents[o.ParentID], o.Sector})
	}
	return rows
}

func orgList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("org list", flag.ContinueOnError)
	parent := fs.String("parent", "", "list only the direct sub-organisations of this slug")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	orgs, err := env.dir.Organisations(env.ctx, *parent)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, orgs)
	}
	table(env.stdout, []string{"SLUG", "NAME", "KIND", "STATUS", "PARENT", "SECTOR"}, orgRows(env, orgs))
	return nil
}

func orgShow(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("org show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	slug, err := oneArg("org show", pos, "organisation slug")
	if err != nil {
		return err
	}
	o, err := env.dir.Organisation(env.ctx, slug)
	if err != nil {
		return err
	}
	domains, err := env.st.Domains(env.ctx, o.ID)
	if err != nil {
		return err
	}
	children, err := env.st.Organisations(env.ctx, o.ID)
	if err != nil {
		return err
	}
	people, err := env.st.People(env.ctx, store.PersonFilter{OrgID: o.ID, Limit: 1 << 30})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, map[string]any{"organisation": o, "domains": domains,
			"sub_organisations": children, "people": len(people)})
	}
	w := env.stdout
	fmt.Fprintf(w, "slug:             %s\nname:             %s\nkind:             %s\nstatus:           %s\n", o.Slug, o.Name, o.Kind, o.Status)
	fmt.Fprintf(w, "sector:           %s\npostal address:   %s\npostcode:         %s\n", o.Sector, o.PostalAddress, o.Postcode)
	fmt.Fprintf(w, "signatory:        %s\n", joinNonEmpty(" ", o.SignatoryName, angle(o.SignatoryEmail)))
	if o.ParentID != 0 {
		p, _ := env.st.Organisation(env.ctx, o.ParentID)
		fmt.Fprintf(w, "parent:           %s\n", p.Slug)
	}
	var names []string
	for _, c := range children {
		names = append(names, c.Slug)
	}
	fmt.Fprintf(w, "sub-organisations: %s\n", strings.Join(names, ", "))
	for _, d := range domains {
		fmt.Fprintf(w, "domain:           %s (%s, %s)\n", d.Name, d.Kind, d.VerificationState)
	}
	fmt.Fprintf(w, "people:           %d\ncreated:          %s\n", len(people), o.CreatedAt.Format("2006-01-02 15:04:05Z"))
	return nil
}

func angle(s string) string {
	if s == "" {
		return ""
	}
	return "<" + s + ">"
}

func orgUpdate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("org update", flag.ContinueOnError)
	var name, status, parent, sector, postal, postcode, signName, signEmail stringFlag
	fs.Var(&name, "name", "new legal name")
	fs.Var(&status, "status", "applied, active, suspended or closed")
	fs.Var(&parent, "parent", "new parent slug, or \"\" to make it top level")
	fs.Var(&sector, "sector", "sector")
	fs.Var(&postal, "postal-address", "postal address")
	fs.Var(&postcode, "postcode", "postcode")
	fs.Var(&signName, "signatory-name", "signatory's name")
	fs.Var(&signEmail, "signatory-email", "signatory's address")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	slug, err := oneArg("org update", pos, "organisation slug")
	if err != nil {
		return err
	}
	o, err := env.dir.UpdateOrganisation(env.ctx, env.actor, slug, directory.OrgChange{
		Name: name.ptr(), Status: status.ptr(), Parent: parent.ptr(), Sector: sector.ptr(),
		PostalAddress: postal.ptr(), Postcode: postcode.ptr(), SignatoryName: signName.ptr(),
		SignatoryEmail: signEmail.ptr()})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "updated organisation %s (%s, %s)\n", o.Slug, o.Name, o.Status)
	return nil
}

func orgRemove(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("org remove", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	slug, err := oneArg("org remove", pos, "organisation slug")
	if err != nil {
		return err
	}
	if err := env.dir.RemoveOrganisation(env.ctx, env.actor, slug); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "removed organisation %s\n", slug)
	return nil
}

func domainAdd(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("domain add", flag.ContinueOnError)
	org := fs.String("org", "", "slug of the gateway organisation that owns the domain; required")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneArg("domain add", pos, "domain name")
	if err != nil {
		return err
	}
	if *org == "" {
		return usagef("domain add: --org is required")
	}
	d, err := env.dir.AddDomain(env.ctx, env.actor, *org, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "added domain %s to %s, pending verification\n", d.Name, *org)
	fmt.Fprintf(env.stdout, "the organisation publishes: _cjsm-verify.%s TXT %q\n", d.Name, d.VerificationToken)
	fmt.Fprintf(env.stdout, "community addresses: NAME@%s.%s\n", d.Name, env.dir.Suffix())
	return nil
}

func domainList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("domain list", flag.ContinueOnError)
	org := fs.String("org", "", "list only this organisation's domains")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	var orgID int64
	if *org != "" {
		o, err := env.dir.Organisation(env.ctx, *org)
		if err != nil {
			return err
		}
		orgID = o.ID
	}
	domains, err := env.st.Domains(env.ctx, orgID)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(env.stdout, domains)
	}
	slugs := map[int64]string{}
	var rows [][]string
	for _, d := range domains {
		if _, ok := slugs[d.OrgID]; !ok {
			o, _ := env.st.Organisation(env.ctx, d.OrgID)
			slugs[d.OrgID] = o.Slug
		}
		rows = append(rows, []string{d.Name, d.Kind, d.VerificationState, slugs[d.OrgID]})
	}
	table(env.stdout, []string{"DOMAIN", "KIND", "VERIFICATION", "ORGANISATION"}, rows)
	return nil
}

func domainVerify(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("domain verify", flag.ContinueOnError)
	state := fs.String("state", "verified", "verified, failed or pending")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	name, err := oneArg("domain verify", pos, "domain name")
	if err != nil {
		return err
	}
	d, err := env.dir.MarkDomainVerified(env.ctx, env.actor, name, *state)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "domain %s is now %s\n", d.Name, d.VerificationState)
	return nil
}

func domainRemove(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("domain remove", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	name, err := oneArg("domain remove", pos, "domain name")
	if err != nil {
		return err
	}
	if err := env.dir.RemoveDomain(env.ctx, env.actor, name); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "removed domain %s\n", name)
	return nil
}
