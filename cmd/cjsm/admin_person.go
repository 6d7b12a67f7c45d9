package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/cjsm/cjsm/internal/directory"
	"github.com/cjsm/cjsm/internal/store"
)

func init() {
	register("person", "create", personCreate)
	register("person", "list", personList)
	register("person", "show", personShow)
	register("person", "update", personUpdate)
	register("person", "remove", personRemove)
}

// passwordFromEnv reads a password from the environment variable named by a flag, so that it
// does not appear in the process list or shell history.
func passwordFromEnv(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", usagef("--password-env %s: that environment variable is not set", name)
	}
	return v, nil
}

func personCreate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("person create", flag.ContinueOnError)
	var in directory.PersonInput
	fs.StringVar(&in.Org, "org", "", "organisation slug; required")
	fs.StringVar(&in.FirstName, "first-name", "", "first name; required")
	fs.StringVar(&in.LastName, "last-name", "", "last name; required")
	fs.StringVar(&in.JobTitle, "job-title", "", "job title")
	fs.StringVar(&in.Phone, "phone", "", "telephone number")
	fs.StringVar(&in.Address, "address", "", "the person's own address (gateway organisations only)")
	fs.StringVar(&in.ContactAddress, "contact", "", "address outside the community for notifications")
	fs.StringVar(&in.Roles, "roles", "user", "comma-separated roles: "+strings.Join(store.AllRoles, ", "))
	fs.StringVar(&in.Status, "status", "active", "active, suspended, locked or closed")
	fs.BoolVar(&in.ExDirectory, "ex-directory", false, "hide the person from the directory")
	pwEnv := fs.String("password-env", "", "name of an environment variable holding the initial password")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	var err error
	if in.Password, err = passwordFromEnv(*pwEnv); err != nil {
		return err
	}
	p, err := env.dir.CreatePerson(env.ctx, env.actor, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "created person %s (%s %s, %s, roles %s)\n", p.Address, p.FirstName,
		p.LastName, p.Status, strings.ReplaceAll(p.Roles, " ", ","))
	return nil
}

func personList(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("person list", flag.ContinueOnError)
	org := fs.String("org", "", "list only this organisation's people")
	search := fs.String("search", "", "match names and addresses containing this text")
	limit := fs.Int("limit", 100, "most rows to print")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	people, err := env.dir.People(env.ctx, *org, *search, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		for i := range people {
			people[i].PasswordHash = ""
		}
		return printJSON(env.stdout, people)
	}
	var rows [][]string
	for _, p := range people {
		rows = append(rows, []string{p.Address, p.FirstName + " " + p.LastName, p.JobTitle, p.Status,
			strings.ReplaceAll(p.Roles, " ", ",")})
	}
	table(env.stdout, []string{"ADDRESS", "NAME", "JOB TITLE", "STATUS", "ROLES"}, rows)
	return nil
}

func personShow(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("person show", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	addr, err := oneArg("person show", pos, "address")
	if err != nil {
		return err
	}
	p, err := env.dir.Person(env.ctx, addr)
	if err != nil {
		return err
	}
	p.PasswordHash = strconv.FormatBool(p.PasswordHash != "")
	o, _ := env.st.Organisation(env.ctx, p.OrgID)
	if *asJSON {
		return printJSON(env.stdout, map[string]any{"person": p, "organisation": o.Slug})
	}
	w := env.stdout
	fmt.Fprintf(w, "address:          %s\n", p.Address)
	if p.PlainAddress != "" {
		fmt.Fprintf(w, "own address:      %s\n", p.PlainAddress)
	}
	fmt.Fprintf(w, "name:             %s %s\njob title:        %s\nphone:            %s\n", p.FirstName, p.LastName, p.JobTitle, p.Phone)
	fmt.Fprintf(w, "organisation:     %s\nstatus:           %s\nroles:            %s\n", o.Slug, p.Status, strings.ReplaceAll(p.Roles, " ", ","))
	fmt.Fprintf(w, "contact address:  %s\nex-directory:     %t\npassword set:     %s\n", p.ContactAddress, p.ExDirectory, p.PasswordHash)
	last := "never"
	if !p.LastSignIn.IsZero() {
		last = p.LastSignIn.Format("2006-01-02 15:04:05Z")
	}
	fmt.Fprintf(w, "last sign-in:     %s\n", last)
	return nil
}

func personUpdate(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("person update", flag.ContinueOnError)
	var first, last, job, phone, contact, roles, status, exdir stringFlag
	fs.Var(&first, "first-name", "first name")
	fs.Var(&last, "last-name", "last name")
	fs.Var(&job, "job-title", "job title")
	fs.Var(&phone, "phone", "telephone number")
	fs.Var(&contact, "contact", "address outside the community for notifications")
	fs.Var(&roles, "roles", "comma-separated roles, replacing the current ones")
	fs.Var(&status, "status", "active, suspended, locked or closed")
	fs.Var(&exdir, "ex-directory", "true or false")
	pwEnv := fs.String("password-env", "", "name of an environment variable holding a new password")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	addr, err := oneArg("person update", pos, "address")
	if err != nil {
		return err
	}
	ch := directory.PersonChange{FirstName: first.ptr(), LastName: last.ptr(), JobTitle: job.ptr(),
		Phone: phone.ptr(), ContactAddress: contact.ptr(), Roles: roles.ptr(), Status: status.ptr()}
	if exdir.set {
		v, err := strconv.ParseBool(exdir.value)
		if err != nil {
			return usagef("person update: --ex-directory %q: use true or false", exdir.value)
		}
		ch.ExDirectory = &v
	}
	if *pwEnv != "" {
		pw, err := passwordFromEnv(*pwEnv)
		if err != nil {
			return err
		}
		ch.Password = &pw
	}
	p, err := env.dir.UpdatePerson(env.ctx, env.actor, addr, ch)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "updated person %s (%s)\n", p.Address, p.Status)
	return nil
}

func personRemove(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("person remove", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	addr, err := oneArg("person remove", pos, "address")
	if err != nil {
		return err
	}
	if err := env.dir.RemovePerson(env.ctx, env.actor, addr); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "removed person %s\n", addr)
	return nil
}
