package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestAdminMailboxGrant(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Tom", "--last-name", "Hughes")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Sue", "--last-name", "Ward")
	const tom = "tom.hughes@kent-police.cjsm.test"
	const sue = "sue.ward@kent-police.cjsm.test"

	c.rejects([]string{"mailbox", "grant", "--to", sue, "--of", tom, "--for", "7d"},
		"give --to PERSON, --of PERSON and --reason TEXT")
	c.rejects([]string{"mailbox", "grant", "--to", sue, "--of", tom, "--reason", "leave"},
		"exactly one of --until DATE and --for SPAN")
	c.rejects([]string{"mailbox", "grant", "--to", sue, "--of", tom, "--reason", "leave",
		"--for", "7d", "--until", "2099-01-01"}, "exactly one of --until DATE and --for SPAN")
	c.rejects([]string{"mailbox", "grant", "--to", sue, "--of", tom, "--reason", "leave",
		"--for", "soon"}, `--for "soon" is not a positive length of time`)
	c.rejects([]string{"mailbox", "grant", "--to", sue, "--of", tom, "--reason", "leave",
		"--until", "31/12/2026"}, `--until "31/12/2026" is not a date`)
	c.rejects([]string{"mailbox", "grant", "--to", sue, "--of", tom, "--reason", "leave",
		"--until", "2020-01-01"}, `--until "2020-01-01" is in the past`)
	c.rejects([]string{"mailbox", "revoke", "x"}, `"x" is not a grant id`)

	runSteps(t, c, []step{
		{[]string{"mailbox", "grant", "--to", sue, "--of", tom, "--reason", "sick leave",
			"--until", "2099-12-31"},
			[]string{"grant 1: " + sue + " may read the mailbox of " + tom +
				" until 2100-01-01T00:00:00Z"}, "mailbox.grant"},
		{[]string{"mailbox", "grant", "--to", tom, "--of", sue, "--reason", "handover",
			"--for", "7d"}, []string{"grant 2: " + tom + " may read the mailbox of " + sue},
			"mailbox.grant"},
		{[]string{"mailbox", "grants", "--of", tom}, []string{"ID", "MAILBOX OF", "1", tom, sue,
			"active", "sick leave"}, ""},
		{[]string{"mailbox", "revoke", "1"}, []string{"revoked grant 1"}, "mailbox.revoke"},
		{[]string{"mailbox", "grants", "--of", tom}, []string{"revoked"}, ""},
	})
	if out := c.ok("mailbox", "grants", "--active"); strings.Contains(out, "sick leave") ||
		!strings.Contains(out, "handover") {
		t.Errorf("mailbox grants --active lists the revoked grant or misses the active one:\n%s",
			out)
	}
	c.rejects([]string{"mailbox", "revoke", "1"}, "revoked already")

	st := c.store()
	g, err := st.MailboxGrant(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(g.ExpiresAt); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour {
		t.Errorf("--for 7d grant expires in %v, want 7 days", d)
	}
	if !g.ActiveAt(time.Now()) || !strings.HasPrefix(g.GrantedBy, "operator:") {
		t.Errorf("grant 2 = %+v", g)
	}
}
