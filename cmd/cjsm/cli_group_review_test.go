package main

import (
	"strings"
	"testing"
	"time"
)

func TestAdminGroupReview(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Tom", "--last-name", "Hughes")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Sue", "--last-name", "Ward")
	c.ok("group", "create", "--org", "kent-police", "--name", "Witness Care Unit", "witness-care")
	const tom = "tom.hughes@kent-police.cjsm.test"
	const sue = "sue.ward@kent-police.cjsm.test"
	const group = "witness-care@kent-police.cjsm.test"
	c.ok("group", "member-set", group, tom, "--read", "--send")
	c.ok("group", "member-set", group, sue, "--read")
	today := time.Now().UTC().Format(time.DateOnly)

	c.rejects([]string{"group", "review", "--overdue", "ninety"},
		`--overdue "ninety" is not a positive length of time`)
	c.rejects([]string{"group", "review", group, tom}, "at most one group mailbox address")
	c.rejects([]string{"group", "confirm", group}, "give GROUP-ADDRESS PERSON-ADDRESS")
	runSteps(t, c, []step{
		{[]string{"group", "review", group}, []string{"GROUP", "LAST CONFIRMED", tom,
			"read,send", today, "never"}, ""},
		{[]string{"group", "confirm", group, tom}, []string{"confirmed " + tom + " on " + group},
			"group.member.confirm"},
		{[]string{"group", "review", group}, []string{today + " by operator:"}, ""},
	})

	// Both memberships were added today, so none is overdue after 90 days; after 1ns every
	// one is.
	if out := c.ok("group", "review", "--overdue", "90d"); strings.Contains(out, tom) ||
		strings.Contains(out, sue) {
		t.Errorf("group review --overdue 90d lists a membership added today:\n%s", out)
	}
	out := c.ok("group", "review", "--overdue", "1ns")
	if !strings.Contains(out, tom) || !strings.Contains(out, sue) {
		t.Errorf("group review --overdue 1ns misses a membership:\n%s", out)
	}
}
