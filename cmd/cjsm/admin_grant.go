package main

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

func init() {
	register("mailbox", "grant", mailboxGrant)
	register("mailbox", "grants", mailboxGrants)
	register("mailbox", "revoke", mailboxRevoke)
}

func mailboxGrant(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("mailbox grant", flag.ContinueOnError)
	to := fs.String("to", "", "address of the person who gets read access; required")
	of := fs.String("of", "", "address of the person whose mailbox is opened; required")
	reason := fs.String("reason", "", "why access is needed, on one line; the mailbox's owner "+
		"sees it in the notice of the grant; required")
	until := fs.String("until", "", "last day of access (2026-12-31, access ends at midnight "+
		"UTC after it) or an RFC 3339 time")
	span := fs.String("for", "", "length of access from now, in days (7d) or hours (36h)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}

	if len(pos) != 0 {
		return usagef("mailbox grant: unexpected arguments %q; give everything as flags", pos)
	}
	if *to == "" || *of == "" || *reason == "" {
		return usagef("mailbox grant: give --to PERSON, --of PERSON and --reason TEXT")
	}
	if (*until == "") == (*span == "") {
		return usagef("mailbox grant: give exactly one of --until DATE and --for SPAN")
	}

	var expires time.Time
	if *until != "" {
		if expires, err = parseUntil(*until); err != nil {
			return usagef("mailbox grant: --until %v", err)
		}
		if !expires.After(time.Now()) {
			return usagef("mailbox grant: --until %q is in the past; give a later day or time",
				*until)
		}
	} else {
		d, err := parseSpan(*span)
		if err != nil {
			return usagef("mailbox grant: --for %v", err)
		}
		expires = time.Now().Add(d)
	}

	g, err := env.dir.GrantMailboxAccess(env.ctx, env.actor, *to, *of, *reason, expires)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "grant %d: %s may read the mailbox of %s until %s\n", g.ID,
		g.GranteeAddress, g.OwnerAddress, g.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintf(env.stdout, "IMAP shows it to %s, read-only, under \"Other Users/%s/\"; "+
		"they can copy messages into their own folders.\n", g.GranteeAddress, g.OwnerAddress)
	fmt.Fprintf(env.stdout, "%s gets a notice of the grant at their next sign-in.\n",
		g.OwnerAddress)
	return nil
}

func mailboxGrants(env *adminEnv, args []string) error {
	fs := flag.NewFlagSet("mailbox grants", flag.ContinueOnError)
	of := fs.String("of", "", "list only grants on this person's mailbox")
	to := fs.String("to", "", "list only grants to this person")
	active := fs.Bool("active", false, "list only grants that give access now")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}

	var f store.MailboxGrantFilter
	if *of != "" {
		p, err := env.dir.Person(env.ctx, *of)
		if err != nil {
			return err
		}
		f.OwnerID = p.ID
	}
	if *to != "" {
		p, err := env.dir.Person(env.ctx, *to)
		if err != nil {
			return err
		}
		f.GranteeID = p.ID
	}
	now := time.Now()
	if *active {
		f.ActiveAt = now
	}
	grants, err := env.st.MailboxGrants(env.ctx, f)
	if err != nil {
		return err
	}

	if *asJSON {
		return printJSON(env.stdout, grants)
	}
	var rows [][]string
	for _, g := range grants {
		state := "active"
		switch {
		case !g.RevokedAt.IsZero():
			state = "revoked"
		case !g.ActiveAt(now):
			state = "expired"
		}
		notified := "no"
		if !g.NotifiedAt.IsZero() {
			notified = g.NotifiedAt.Format(time.DateOnly)
		}
		rows = append(rows, []string{strconv.FormatInt(g.ID, 10), g.OwnerAddress,
			g.GranteeAddress, g.ExpiresAt.Format(time.RFC3339), state, notified, g.Reason})
	}
	table(env.stdout, []string{"ID", "MAILBOX OF", "READ BY", "UNTIL", "STATE", "OWNER TOLD",
		"REASON"}, rows)
	return nil
}

func mailboxRevoke(env *adminEnv, args []string) error {
	pos, err := parseFlags(flag.NewFlagSet("mailbox revoke", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	arg, err := oneArg("mailbox revoke", pos, "grant id from `cjsm admin mailbox grants`")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return usagef("mailbox revoke: %q is not a grant id; list them with "+
			"`cjsm admin mailbox grants`", arg)
	}
	if err := env.dir.RevokeMailboxAccess(env.ctx, env.actor, id); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "revoked grant %d\n", id)
	return nil
}
