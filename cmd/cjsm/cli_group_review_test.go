package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
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

func TestAdminGroupHandlingLists(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Tom", "--last-name", "Hughes")
	c.ok("group", "create", "--org", "kent-police", "--name", "Witness Care Unit", "witness-care")
	const tom = "tom.hughes@kent-police.cjsm.test"
	const group = "witness-care@kent-police.cjsm.test"
	c.ok("group", "member-set", group, tom, "--read", "--write")

	ctx := context.Background()
	st, err := store.Open(ctx, c.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g, err := st.GroupMailboxByAddress(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	err = st.InTx(ctx, func(tx *store.Tx) error {
		for _, h := range []store.GroupHandling{
			{Action: "answered", Folder: "INBOX", At: time.Now().Add(-48 * time.Hour)},
			{Action: "moved", Folder: "INBOX", Detail: "Done", At: time.Now()},
		} {
			h.GroupID, h.MessageID, h.PersonAddress = g.ID, 1, tom
			if err := tx.RecordGroupHandling(ctx, &h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	out := c.ok("group", "handling", group)
	for _, want := range []string{"MEMBER", tom, "answered", "INBOX -> Done"} {
		if !strings.Contains(out, want) {
			t.Errorf("group handling lacks %q:\n%s", want, out)
		}
	}
	if out := c.ok("group", "handling", "--since", "1d", group); strings.Contains(out, "answered") {
		t.Errorf("--since 1d lists an action from two days ago:\n%s", out)
	}
	c.rejects([]string{"group", "handling", "--since", "soon", group}, `--since "soon"`)
	c.rejects([]string{"group", "handling"}, "give exactly one group mailbox address")
}
