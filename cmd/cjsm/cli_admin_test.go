package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// step is one admin command, what its output must contain, and the audit action it must
// write: "" for a command that changes nothing.
type step struct {
	args   []string
	output []string
	action string
}

// runSteps runs each step and checks its output and that it wrote exactly one audit row with
// its action, by operator:<user> from the CLI, or none when it changes nothing.
func runSteps(t *testing.T, c *cli, steps []step) {
	t.Helper()
	rows := len(c.audit())
	for _, s := range steps {
		name := strings.Join(s.args, " ")
		out := c.ok(s.args...)
		contains(t, name, out, s.output...)
		entries := c.audit()
		if s.action == "" {
			if len(entries) != rows {
				t.Errorf("%s wrote %d audit rows, want none", name, len(entries)-rows)
			}
			continue
		}
		if len(entries) != rows+1 {
			t.Errorf("%s wrote %d audit rows, want 1", name, len(entries)-rows)
			rows = len(entries)
			continue
		}
		rows = len(entries)
		last := entries[len(entries)-1]
		if last.Action != s.action {
			t.Errorf("%s wrote audit action %q, want %q", name, last.Action, s.action)
		}
		if !strings.HasPrefix(last.Actor, "operator:") || last.Source != "cli" {
			t.Errorf("%s audit row by %q from %q, want operator:<user> from cli", name,
				last.Actor, last.Source)
		}
	}
}

func TestAdminOrgAndDomain(t *testing.T) {
	c := newCLI(t, "")
	runSteps(t, c, []step{
		{[]string{"org", "create", "--kind", "hosted", "--status", "active", "Kent Police"},
			[]string{"created organisation kent-police (Kent Police, hosted, active)",
				"hosted domain: kent-police.cjsm.test"}, "organisation.create"},
		{[]string{"org", "create", "--kind", "hosted", "--parent", "kent-police",
			"--slug", "kent-south", "Kent Police South"},
			[]string{"created organisation kent-south (Kent Police South, hosted, applied)"},
			"organisation.create"},
		{[]string{"org", "create", "--kind", "gateway", "--sector", "defence",
			"Harbour & Reed Solicitors LLP"},
			[]string{"created organisation harbour-and-reed-solicitors-llp"},
			"organisation.create"},
		{[]string{"org", "list"}, []string{"SLUG", "kent-police", "kent-south",
			"harbour-and-reed-solicitors-llp"}, ""},
		{[]string{"org", "list", "--parent", "kent-police"}, []string{"kent-south"}, ""},
		{[]string{"org", "show", "kent-police"}, []string{"slug:             kent-police",
			"status:           active", "sub-organisations: kent-south",
			"domain:           kent-police.cjsm.test (hosted, verified)"}, ""},
		{[]string{"org", "update", "kent-south", "--status", "suspended", "--name", "Kent South"},
			[]string{"updated organisation kent-south (Kent South, suspended)"},
			"organisation.update"},
		{[]string{"domain", "add", "--org", "harbour-and-reed-solicitors-llp", "harbourreed.example"},
			[]string{"added domain harbourreed.example to harbour-and-reed-solicitors-llp",
				"_cjsm-verify.harbourreed.example TXT", "NAME@harbourreed.example.cjsm.test"},
			"domain.add"},
		{[]string{"domain", "list"}, []string{"harbourreed.example", "pending"}, ""},
		{[]string{"domain", "verify", "harbourreed.example"},
			[]string{"domain harbourreed.example is now verified"}, "domain.verify"},
		{[]string{"domain", "remove", "harbourreed.example"},
			[]string{"removed domain harbourreed.example"}, "domain.remove"},
		{[]string{"org", "remove", "kent-south"}, []string{"removed organisation kent-south"},
			"organisation.remove"},
	})
	out := c.ok("org", "show", "--json", "kent-police")
	var decoded map[string]any
	if err := json.Unmarshal([]byte(out), &decoded); err != nil {
		t.Errorf("org show --json is not JSON: %v\n%s", err, out)
	}
}

func TestAdminPerson(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("org", "create", "--kind", "gateway", "--slug", "firm", "Harbour & Reed")
	c.ok("domain", "add", "--org", "firm", "firm.example")
	t.Setenv("CJSM_TEST_PASSWORD", "harbour reed lantern")
	runSteps(t, c, []step{
		{[]string{"person", "create", "--org", "kent-police", "--first-name", "Sarah",
			"--last-name", "Okafor", "--roles", "user,org-admin", "--password-env",
			"CJSM_TEST_PASSWORD"},
			[]string{"created person sarah.okafor@kent-police.cjsm.test (Sarah Okafor, active, roles user,org-admin)"},
			"person.create"},
		{[]string{"person", "create", "--org", "firm", "--first-name", "Amelia", "--last-name",
			"Hart", "--address", "amelia.hart@firm.example"},
			[]string{"created person amelia.hart@firm.example.cjsm.test"}, "person.create"},
		{[]string{"person", "list"}, []string{"ADDRESS", "sarah.okafor@kent-police.cjsm.test",
			"amelia.hart@firm.example.cjsm.test"}, ""},
		{[]string{"person", "list", "--org", "firm"}, []string{"amelia.hart"}, ""},
		{[]string{"person", "show", "amelia.hart@firm.example"},
			[]string{"address:          amelia.hart@firm.example.cjsm.test",
				"own address:      amelia.hart@firm.example", "organisation:     firm",
				"password set:     false"}, ""},
		{[]string{"person", "show", "sarah.okafor@kent-police.cjsm.test"},
			[]string{"password set:     true", "roles:            user,org-admin"}, ""},
		{[]string{"person", "update", "sarah.okafor@kent-police.cjsm.test", "--status",
			"suspended", "--ex-directory", "true"},
			[]string{"updated person sarah.okafor@kent-police.cjsm.test (suspended)"},
			"person.update"},
		{[]string{"person", "remove", "amelia.hart@firm.example"},
			[]string{"removed person amelia.hart@firm.example"}, "person.remove"},
	})
	for _, args := range [][]string{{"person", "list", "--json"},
		{"person", "show", "--json", "sarah.okafor@kent-police.cjsm.test"}} {
		out := c.ok(args...)
		if strings.Contains(out, "$argon2id$") {
			t.Errorf("%s prints the password hash:\n%s", strings.Join(args, " "), out)
		}
	}
}

func TestAdminGroupAndList(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Tom", "--last-name", "Hughes")
	const tom = "tom.hughes@kent-police.cjsm.test"
	const group = "witness-care@kent-police.cjsm.test"
	const list = "youth-court@kent-police.cjsm.test"
	runSteps(t, c, []step{
		{[]string{"group", "create", "--org", "kent-police", "--name", "Witness Care Unit",
			"witness-care"}, []string{"created group mailbox " + group + " (Witness Care Unit)"},
			"group.create"},
		{[]string{"group", "member-set", group, tom, "--read", "--send"},
			[]string{tom + " on " + group + ": read=true write=false send=true"},
			"group.member.set"},
		{[]string{"group", "list"}, []string{group, "Witness Care Unit", "1"}, ""},
		{[]string{"group", "show", group}, []string{"name:    Witness Care Unit", tom,
			"read,send"}, ""},
		{[]string{"group", "update", group, "--name", "WCU"},
			[]string{"updated group mailbox " + group + " (WCU)"}, "group.update"},
		{[]string{"group", "member-remove", group, tom},
			[]string{"removed " + tom + " from " + group}, "group.member.remove"},
		{[]string{"group", "remove", group}, []string{"removed group mailbox " + group},
			"group.remove"},
		{[]string{"list", "create", "--org", "kent-police", "--name", "Youth court",
			"youth-court"}, []string{"created distribution list " + list + " (Youth court)"},
			"list.create"},
		{[]string{"list", "member-add", list, tom}, []string{"added " + tom + " to " + list},
			"list.member.add"},
		{[]string{"list", "list"}, []string{list, "Youth court"}, ""},
		{[]string{"list", "show", list}, []string{"members:", "  " + tom}, ""},
		{[]string{"list", "update", list, "--name", "Youth court listings"},
			[]string{"updated distribution list " + list + " (Youth court listings)"},
			"list.update"},
		{[]string{"list", "member-remove", list, tom},
			[]string{"removed " + tom + " from " + list}, "list.member.remove"},
		{[]string{"list", "remove", list}, []string{"removed distribution list " + list},
			"list.remove"},
	})
}

func TestAdminTrustedAndConnector(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "gateway", "--slug", "firm", "Harbour & Reed")
	t.Setenv("CJSM_TEST_CONNECTOR_PASSWORD", "connector secret value")
	runSteps(t, c, []step{
		{[]string{"trusted", "create", "--description", "Kent Police", "--source-networks",
			"192.0.2.0/24", "kent.police.uk"},
			[]string{"created trusted domain kent.police.uk (TLS policy mx, active)"},
			"trusted.create"},
		{[]string{"trusted", "list"}, []string{"kent.police.uk", "mx", "Kent Police"}, ""},
		{[]string{"trusted", "show", "kent.police.uk"},
			[]string{"source networks:     192.0.2.0/24"}, ""},
		{[]string{"trusted", "update", "kent.police.uk", "--tls-policy", "pinned",
			"--pinned-names", "mx1.kent.police.uk"},
			[]string{"updated trusted domain kent.police.uk (TLS policy pinned, active)"},
			"trusted.update"},
		{[]string{"trusted", "remove", "kent.police.uk"},
			[]string{"removed trusted domain kent.police.uk"}, "trusted.remove"},
		{[]string{"connector", "create", "--org", "firm", "--inbound-networks", "192.0.2.0/24",
			"--inbound-username", "firm", "--inbound-password-env", "CJSM_TEST_CONNECTOR_PASSWORD",
			"--outbound-host", "mail.firm.example", "--outbound-port", "2525", "firm-m365"},
			[]string{"created connector firm-m365 for firm (outbound mail.firm.example:2525)"},
			"connector.create"},
		{[]string{"connector", "list"}, []string{"firm-m365", "firm", "mail.firm.example:2525",
			"192.0.2.0/24"}, ""},
	})
	out := c.ok("connector", "list", "--json")
	if strings.Contains(out, "$argon2id$") {
		t.Errorf("connector list --json prints the password hash:\n%s", out)
	}
}

func TestAdminAuditAndBlobs(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	runSteps(t, c, []step{
		{[]string{"audit", "list"}, []string{"organisation.create", "org:kent-police", "cli"}, ""},
		{[]string{"audit", "list", "--target", "org:nobody"}, []string{"SEQ"}, ""},
		{[]string{"audit", "verify"}, []string{"audit trail intact: 1 rows, head hash "}, ""},
		{[]string{"blobs", "check"}, []string{"blobs: 0 on disk, 0 referenced"}, ""},
	})
	out := c.ok("audit", "list", "--json")
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 1 {
		t.Errorf("audit list --json = %d rows, %v:\n%s", len(rows), err, out)
	}
}

// Invalid input exits with status 2 and a message that names the value and the fix.
func TestAdminRejectsInvalidInput(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-police", "Kent Police")
	c.ok("org", "create", "--kind", "hosted", "--slug", "kent-south", "--parent", "kent-police",
		"Kent South")
	c.ok("org", "create", "--kind", "gateway", "--slug", "firm", "Harbour & Reed")
	c.ok("domain", "add", "--org", "firm", "firm.example")
	c.ok("person", "create", "--org", "firm", "--first-name", "Amelia", "--last-name", "Hart",
		"--address", "amelia@firm.example")
	c.ok("person", "create", "--org", "kent-police", "--first-name", "Tom", "--last-name",
		"Hughes")
	c.ok("list", "create", "--org", "kent-police", "--name", "Youth court", "youth-court")
	before := len(c.audit())
	t.Setenv("CJSM_TEST_SHORT_PASSWORD", "short")

	cases := []struct {
		name  string
		args  []string
		parts []string
	}{
		{"duplicate address", []string{"person", "create", "--org", "firm", "--first-name", "A",
			"--last-name", "H", "--address", "amelia@firm.example"},
			[]string{`"amelia@firm.example"`, "already used"}},
		{"unknown organisation", []string{"person", "create", "--org", "nobody",
			"--first-name", "A", "--last-name", "B"},
			[]string{`organisation "nobody"`, "not found", "cjsm admin org list"}},
		{"domain with empty label", []string{"domain", "add", "--org", "firm", "bad..domain"},
			[]string{`"bad..domain"`}},
		{"domain with leading hyphen", []string{"domain", "add", "--org", "firm", "--",
			"-x.example"}, []string{`"-x.example"`, `starts or ends with "-"`}},
		{"domain with leading hyphen as a flag", []string{"domain", "add", "--org", "firm",
			"-x.example"}, []string{"-x.example"}},
		{"organisation under itself", []string{"org", "update", "kent-police", "--parent",
			"kent-police"}, []string{`parent "kent-police"`, "cycle"}},
		{"organisation under its child", []string{"org", "update", "kent-police", "--parent",
			"kent-south"}, []string{`parent "kent-south"`, "cycle", "outside kent-police's tree"}},
		{"unknown role", []string{"person", "create", "--org", "kent-police", "--first-name",
			"Priya", "--last-name", "Shah", "--roles", "user,superuser"},
			[]string{`role "superuser"`, "use user, org-admin"}},
		{"bad organisation status", []string{"org", "create", "--kind", "hosted", "--status",
			"dormant", "Dormant Org"}, []string{`status "dormant"`, "applied, active"}},
		{"bad person status", []string{"person", "update", "tom.hughes@kent-police.cjsm.test",
			"--status", "asleep"}, []string{`status "asleep"`, "active, suspended, locked or closed"}},
		{"password too short", []string{"person", "create", "--org", "kent-police",
			"--first-name", "Priya", "--last-name", "Shah", "--password-env",
			"CJSM_TEST_SHORT_PASSWORD"}, []string{"password", "too short (5 characters)",
			"at least 12"}},
		{"password variable unset", []string{"person", "create", "--org", "kent-police",
			"--first-name", "Priya", "--last-name", "Shah", "--password-env",
			"CJSM_TEST_NO_SUCH_VARIABLE"}, []string{"CJSM_TEST_NO_SUCH_VARIABLE", "not set"}},
		{"gateway address outside the domains", []string{"person", "create", "--org", "firm",
			"--first-name", "Ben", "--last-name", "Cole", "--address", "ben@elsewhere.example"},
			[]string{`"ben@elsewhere.example"`, "not in a domain of firm",
				"cjsm admin domain add --org firm elsewhere.example"}},
		{"hosted person given an address", []string{"person", "create", "--org", "kent-police",
			"--first-name", "Priya", "--last-name", "Shah", "--address", "priya@kent.example"},
			[]string{`"priya@kent.example"`, "leave it out"}},
		{"list member that does not exist", []string{"list", "member-add",
			"youth-court@kent-police.cjsm.test", "ghost@kent-police.cjsm.test"},
			[]string{`"ghost@kent-police.cjsm.test"`, "not a community address"}},
		{"organisation that still has people", []string{"org", "remove", "firm"},
			[]string{`organisation "firm"`, "1 people", "remove or move them first"}},
		{"organisation with a sub-organisation", []string{"org", "remove", "kent-police"},
			[]string{`organisation "kent-police"`, "1 sub-organisations"}},
		{"unknown noun", []string{"mailboxes", "list"}, []string{`unknown noun "mailboxes"`}},
		{"unknown verb", []string{"org", "destroy"}, []string{`unknown verb "destroy"`,
			"create, list, show, update, remove"}},
		{"missing argument", []string{"org", "show"}, []string{"give exactly one"}},
		{"unknown flag", []string{"org", "list", "--colour"}, []string{"-colour"}},
		{"unknown trusted domain", []string{"trusted", "show", "nobody.example"},
			[]string{`"nobody.example"`, "not found", "cjsm admin trusted list"}},
		{"connector password variable unset", []string{"connector", "create", "--org", "firm",
			"--inbound-password-env", "CJSM_TEST_NO_SUCH_VARIABLE", "firm-m365"},
			[]string{"CJSM_TEST_NO_SUCH_VARIABLE", "not set"}},
		{"bad ex-directory value", []string{"person", "update",
			"tom.hughes@kent-police.cjsm.test", "--ex-directory", "maybe"},
			[]string{`"maybe"`, "true or false"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			defer func() { c.t = nil }()
			c.rejects(tc.args, tc.parts...)
		})
	}
	c.t = t
	if after := len(c.audit()); after != before {
		t.Errorf("rejected commands wrote %d audit rows", after-before)
	}
}

func TestTopLevelCommands(t *testing.T) {
	var out, errOut strings.Builder
	if code := run([]string{"version"}, &out, &errOut); code != 0 ||
		!strings.HasPrefix(out.String(), "cjsm ") {
		t.Errorf("cjsm version: exit %d, output %q", code, out.String())
	}
	out.Reset()
	if code := run([]string{"launch"}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), `unknown command "launch"`) {
		t.Errorf("cjsm launch: exit %d, stderr %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(nil, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "Usage") {
		t.Errorf("cjsm without arguments: exit %d, stderr %q", code, errOut.String())
	}
}

// A message quotes the rejected value once, not once for each layer that passed it on.
func TestAdminMessageQuotesValueOnce(t *testing.T) {
	c := newCLI(t, "")
	c.ok("org", "create", "--kind", "gateway", "--slug", "firm", "Harbour & Reed")
	for _, args := range [][]string{
		{"domain", "add", "--org", "firm", "bad..domain"},
		{"trusted", "create", "bad..domain"},
		{"person", "show", "jane@@firm.example"},
	} {
		msg := c.rejects(args)
		value := `"` + args[len(args)-1] + `"`
		if n := strings.Count(msg, value); n != 1 {
			t.Errorf("cjsm admin %s: message quotes %s %d times: %s", strings.Join(args, " "),
				value, n, msg)
		}
	}
}
