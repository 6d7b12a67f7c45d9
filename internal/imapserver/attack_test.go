package imapserver_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/mailbox"
	"github.com/cjsm/cjsm/internal/store"
)

// TestLiteralBytesNeverRunAsCommands sends commands whose non-synchronizing literal
// (RFC 7888) the server refuses or never reads, with command lines hidden in the literal
// data. RFC 3501 section 4.3: a literal is data, so none of them may run.
func TestLiteralBytesNeverRunAsCommands(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("one", "text"))
	hidden := "Z9 CREATE Injected\r\nZ8 CAPABILITY\r\n"
	tooBig := hidden + strings.Repeat(" ", 70<<10) // above the 64 KiB limit outside APPEND
	tests := []struct{ name, command string }{
		{"SEARCH literal over the limit", fmt.Sprintf("s1 SEARCH TEXT {%d+}\r\n%s\r\n", len(tooBig), tooBig)},
		{"SETQUOTA literal", fmt.Sprintf("s2 SETQUOTA \"\" {%d+}\r\n%s\r\n", len(hidden), hidden)},
		{"APPEND over the size limit", fmt.Sprintf("s3 APPEND INBOX {%d+}\r\n%s\r\n",
			60<<20, hidden)},
		{"unknown command with a literal", fmt.Sprintf("s4 NOSUCH {%d+}\r\n%s\r\n", len(hidden), hidden)},
		// The rest of the line after a literal that fails to decode is still the same
		// command.
		{"mailbox name not in modified UTF-7", "s5 SELECT {4+}\r\n&JjoZ9 CREATE Injected\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := h.wire(t)
			w.send(t, "a LOGIN "+jane.Address+` "`+password+`"`)
			w.send(t, "b SELECT INBOX")
			if _, err := io.WriteString(w.w, tt.command); err != nil {
				t.Fatal(err)
			}
			// The APPEND announces 60 MiB and sends a few bytes: the server waits for
			// the rest, so the connection is closed from this side after a pause.
			out := w.readFor(t, 2*time.Second)
			if strings.Contains(out, "Z9 ") || strings.Contains(out, "Z8 ") {
				t.Errorf("literal data ran as commands:\n%s", out)
			}
		})
	}
	if _, err := h.svc.Folder(context.Background(), jane.ID,
		mailbox.Ref{Owner: mailbox.Owner{Kind: store.OwnerPerson, ID: jane.ID}, Name: "Injected"},
		mailbox.Read); err == nil {
		t.Error(`the folder "Injected" was created from literal data`)
	}
}

// TestOverlongLineClosesConnection checks that a command longer than the server's limit
// gets BAD and BYE, and that the rest of the line does not run as a command.
func TestOverlongLineClosesConnection(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	w := h.wire(t)
	w.send(t, "a LOGIN "+jane.Address+` "`+password+`"`)
	w.send(t, "b SELECT INBOX")
	line := `L1 SEARCH TEXT "` + strings.Repeat("a", 60<<10) + "X2 CAPABILITY\r\n"
	if _, err := io.WriteString(w.w, line); err != nil {
		t.Fatal(err)
	}
	out := w.readFor(t, 2*time.Second)
	if !strings.Contains(out, "L1 BAD") || !strings.Contains(out, "* BYE") {
		t.Errorf("want L1 BAD and BYE, got:\n%.500s", out)
	}
	if strings.Contains(out, "X2 ") {
		t.Errorf("the rest of the line ran as a command:\n%.500s", out)
	}
}

// TestMalformedArgumentsGetBAD checks that bad arguments of the CONDSTORE, SORT, QUOTA and
// SEARCH syntax get BAD (RFC 3501 section 7.1.3), not NO or OK.
func TestMalformedArgumentsGetBAD(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("one", "text"))
	w := h.wire(t)
	w.send(t, "a LOGIN "+jane.Address+` "`+password+`"`)
	w.send(t, "b SELECT INBOX")
	for i, command := range []string{
		"SEARCH MODSEQ 9223372036854775808",
		"FETCH 1 (FLAGS) (CHANGEDSINCE 18446744073709551615)",
		"STORE 1 (UNCHANGEDSINCE 9223372036854775808) +FLAGS (\\Flagged)",
		"SEARCH SINCE 1-Foo-2024",
		"SEARCH BEFORE \"\"",
		"SORT (SIZE) UTF-8 SINCE x",
		"SORT () UTF-8 ALL",
		"FETCH 1 (FLAGS) ()",
		"STORE 1 () +FLAGS (\\Seen)",
		"SEARCH MODSEQ \"/foo/bar\" all 1",
		"SETQUOTA",
		"SETQUOTA \"\" ((((",
		"SEARCH " + strings.Repeat("(", 2000) + "ALL" + strings.Repeat(")", 2000),
		`SELECT "&Jjo"`,
		`STATUS "&Jjo" (MESSAGES)`,
		`APPEND INBOX "99-Foo-2024 00:00:00 +0000" {3+}` + "\r\nabc",
	} {
		tag := fmt.Sprintf("t%d", i)
		if out := w.send(t, tag+" "+command); !strings.Contains(out, tag+" BAD ") {
			t.Errorf("%s: want BAD, got\n%.300s", command, out)
		}
	}
	if out := w.send(t, "z NOOP"); !strings.Contains(out, "z OK") {
		t.Errorf("session lost after malformed commands:\n%s", out)
	}
}

// TestFetchEnablingCondStoreAnnounces checks RFC 7162 section 3.1: a command
// other than SELECT that enables CONDSTORE while a mailbox is selected makes the server send
// HIGHESTMODSEQ, and later flag changes carry UID and MODSEQ. A STORE that changes nothing
// leaves HIGHESTMODSEQ alone.
func TestFetchEnablingCondStoreAnnounces(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("one", "text"))
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("two", "text"))
	w := h.wire(t)
	w.send(t, "a LOGIN "+jane.Address+` "`+password+`"`)
	w.send(t, "b SELECT INBOX")

	if out := w.send(t, "c FETCH 1 (MODSEQ)"); !strings.Contains(out, "* OK [HIGHESTMODSEQ ") {
		t.Errorf("FETCH MODSEQ enabling CONDSTORE did not announce HIGHESTMODSEQ:\n%s", out)
	}
	if out := w.send(t, "d FETCH 2 (MODSEQ)"); strings.Contains(out, "HIGHESTMODSEQ") {
		t.Errorf("HIGHESTMODSEQ announced twice:\n%s", out)
	}
	if out := w.send(t, "e STORE 1 +FLAGS (\\Flagged)"); !strings.Contains(out, "* 1 FETCH (UID 1 FLAGS (\\Flagged) MODSEQ (") {
		t.Errorf("STORE response lacks UID or MODSEQ:\n%s", out)
	}

	before := w.send(t, "f STATUS INBOX (HIGHESTMODSEQ)")
	w.send(t, "g STORE 1 +FLAGS (\\Flagged)") // already set
	w.send(t, "h STORE 2 (UNCHANGEDSINCE 1) +FLAGS (\\Seen)")
	after := w.send(t, "i STATUS INBOX (HIGHESTMODSEQ)")
	if statusLine(before) != statusLine(after) {
		t.Errorf("STOREs that changed nothing raised HIGHESTMODSEQ: %q then %q",
			statusLine(before), statusLine(after))
	}

	out := w.send(t, "j SEARCH RETURN (MIN) MODSEQ 1")
	if !strings.Contains(out, "MIN 1 MODSEQ ") {
		t.Fatalf("ESEARCH MIN:\n%s", out)
	}
	min := w.send(t, "k FETCH 1 (MODSEQ)")
	modseq := min[strings.Index(min, "MODSEQ (")+len("MODSEQ (") : strings.Index(min, "))")]
	if !strings.Contains(out, "MIN 1 MODSEQ "+modseq+"\r\n") {
		t.Errorf("ESEARCH MIN reports the MODSEQ of another message: %q, message 1 has %s", out, modseq)
	}
}

func statusLine(out string) string {
	for _, line := range strings.Split(out, "\r\n") {
		if strings.HasPrefix(line, "* STATUS") {
			return line
		}
	}
	return ""
}

// TestGranteeCannotChangeSubscriptions checks that a person reading another's mailbox
// through a grant, or a group member with the read right only, cannot change subscriptions,
// which the folder's owner and other members share. The grantee also does not see the
// storage of the owner's organisation.
func TestGranteeCannotChangeSubscriptions(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	bob := h.person(t, "bob")
	g := h.group(t, "casework", store.GroupMember{PersonID: jane.ID, Read: true})
	grant := store.MailboxGrant{OwnerID: bob.ID, GranteeID: jane.ID, Reason: "absence",
		GrantedBy: "test", ExpiresAt: time.Now().Add(time.Hour)}
	h.inTx(t, func(tx *store.Tx) error { return tx.CreateMailboxGrant(context.Background(), &grant) })
	if err := h.svc.SetQuota(context.Background(), store.OwnerOrg, h.org.ID, 10<<20); err != nil {
		t.Fatal(err)
	}

	w := h.wire(t)
	w.send(t, "a LOGIN "+jane.Address+` "`+password+`"`)
	for _, command := range []string{
		`b UNSUBSCRIBE "Other Users/` + bob.Address + `/INBOX"`,
		`c SUBSCRIBE "Other Users/` + bob.Address + `/Sent"`,
		`d UNSUBSCRIBE "Shared/` + g.Address + `/INBOX"`,
		`h DELETE "Other Users/` + bob.Address + `/Archive"`,
		`i RENAME "Other Users/` + bob.Address + `/Archive" "Other Users/` + bob.Address + `/Old"`,
	} {
		tag, _, _ := strings.Cut(command, " ")
		if out := w.send(t, command); !strings.Contains(out, tag+" NO [NOPERM]") {
			t.Errorf("%s: want NO [NOPERM], got\n%s", command, out)
		}
	}

	out := w.send(t, `e GETQUOTAROOT "Other Users/`+bob.Address+`/INBOX"`)
	if strings.Contains(out, "Organisation/") {
		t.Errorf("a grantee sees the owner's organisation storage:\n%s", out)
	}
	if out := w.send(t, `f GETQUOTAROOT INBOX`); !strings.Contains(out, `"Organisation/org1"`) {
		t.Errorf("own GETQUOTAROOT lacks the organisation root:\n%s", out)
	}
	if out := w.send(t, `g CREATE "Other Users"`); !strings.Contains(out, "g NO") {
		t.Errorf(`CREATE "Other Users" was allowed:\n%s`, out)
	}
}

// TestRecreatedFolderGetsGreaterUIDValidity checks RFC 3501 section 2.3.1.1 for a folder
// deleted and created again within one second.
func TestRecreatedFolderGetsGreaterUIDValidity(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	w := h.wire(t)
	w.send(t, "a LOGIN "+jane.Address+` "`+password+`"`)
	var last string
	for i := 0; i < 3; i++ {
		w.send(t, fmt.Sprintf("c%d CREATE Tmp", i))
		out := w.send(t, fmt.Sprintf("s%d STATUS Tmp (UIDVALIDITY)", i))
		v := statusLine(out)
		if v == "" || v == last {
			t.Fatalf("round %d: UIDVALIDITY %q repeats %q", i, v, last)
		}
		if last != "" && v < last {
			t.Errorf("UIDVALIDITY went down: %q after %q", v, last)
		}
		last = v
		w.send(t, fmt.Sprintf("d%d DELETE Tmp", i))
	}
}

// readFor returns what the server sends within d, or until it closes the connection.
func (c *wireConn) readFor(t *testing.T, d time.Duration) string {
	t.Helper()
	type deadliner interface{ SetReadDeadline(time.Time) error }
	if dl, ok := c.w.(deadliner); ok {
		dl.SetReadDeadline(time.Now().Add(d))
		defer dl.SetReadDeadline(time.Now().Add(10 * time.Second))
	}
	var b strings.Builder
	for {
		line, err := c.r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String()
		}
	}
}
