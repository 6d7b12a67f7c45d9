package imapserver_test

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/cjsm/cjsm/internal/store"
)

func TestCloseByReadOnlyMemberDeselects(t *testing.T) {
	h := newHarness(t)
	ann := h.person(t, "ann")
	ben := h.person(t, "ben")
	g := h.group(t, "casework",
		store.GroupMember{PersonID: ann.ID, Read: true, Write: true},
		store.GroupMember{PersonID: ben.ID, Read: true})
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("one", "x"))
	h.deliver(t, store.OwnerGroup, g.ID, sampleMessage("two", "y"))
	h.python(t, `
box = ARGS[2]
a = connect(ARGS[1])
a.select(box)
typ, data = a.uid("STORE", "1", "+FLAGS", "(\\Deleted)")
check(typ == "OK", "writer STORE \\Deleted: %s %r" % (typ, data))

b = connect(ARGS[0])
typ, data = b.select(box)
check(typ == "OK", "reader SELECT: %s %r" % (typ, data))
typ, data = b.close()
check(typ == "OK", "reader CLOSE: %s %r" % (typ, data))
check(b.state == "AUTH", "imaplib state after CLOSE: %s" % b.state)
try:
    typ, data = b.uid("FETCH", "1", "(FLAGS)")
    check(False, "FETCH after CLOSE answered %s %r; want BAD, no folder selected" % (typ, data))
except imaplib.IMAP4.error as e:
    check("BAD" in str(e) or "state" in str(e), "FETCH after CLOSE: %s" % e)

a.select(box, readonly=True)
typ, data = a.close()
check(typ == "OK", "writer CLOSE after EXAMINE: %s %r" % (typ, data))
typ, data = a.status(box, "(MESSAGES)")
check(b"MESSAGES 2" in data[0], "CLOSE of a read-only folder expunged: %r" % data)

a.select(box)
typ, data = a.close()
check(typ == "OK", "writer CLOSE: %s %r" % (typ, data))
typ, data = a.status(box, "(MESSAGES)")
check(b"MESSAGES 1" in data[0], "writer CLOSE did not expunge: %r" % data)
`, ben.Address, ann.Address, "Shared/"+g.Address+"/INBOX")
}

func TestDeleteRefusesDefaultFolders(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	g := h.group(t, "casework", store.GroupMember{PersonID: jane.ID, Read: true, Write: true})
	out := h.python(t, `
m = connect(ARGS[0])
m.list()
shared = "Shared/" + ARGS[1] + "/"
names = ["INBOX", "inbox", "Sent", "Drafts", "Trash", "Archive"]
for name in names + [shared + "Sent", shared + "INBOX"]:
    typ, data = m.delete(name)
    check(typ == "NO", "DELETE %s: %s %r" % (name, typ, data))
    check(b"cannot be deleted" in data[0], "DELETE %s reply %r" % (name, data))
    print("REPLY", name, data[0].decode())
typ, data = m.list()
for name in [b'"Sent"', b'"Trash"', b'"Archive"', b'"Drafts"']:
    check(any(l.endswith(name) for l in data), "%s gone after refused DELETE: %r" % (name, data))
m.create("Cases")
typ, data = m.delete("Cases")
check(typ == "OK", "DELETE of an own folder: %s %r" % (typ, data))
`, jane.Address, g.Address)
	if !strings.Contains(out, `REPLY Sent [CANNOT] Sent is a default folder (\Sent)`) {
		t.Errorf("DELETE Sent reply lacks the folder and its attribute:\n%s", out)
	}
}

func TestLongFolderNameCutInErrors(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	out := h.python(t, `
m = connect(ARGS[0])
long = "x" * 5000
for cmd in ("create", "rename"):
    args = (long,) if cmd == "create" else ("INBOX/none", long)
    typ, data = getattr(m, cmd)(*args)
    check(typ == "NO", "%s of a 5000-byte name: %s" % (cmd, typ))
    print("REPLY", cmd, len(data[0]), data[0].decode())
`, jane.Address)
	lines := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "REPLY ") {
			continue
		}
		lines++
		if len(line) > 300 {
			t.Errorf("reply repeats the long name (%d bytes):\n%.400s", len(line), line)
		}
		if !strings.Contains(line, `xxx..."`) {
			t.Errorf("reply does not show the cut name as \"xxx...\":\n%.400s", line)
		}
	}
	if lines != 2 {
		t.Errorf("got %d replies, want 2:\n%.2000s", lines, out)
	}
}

// TestUnfinishedCommandGetsBYE sends commands that go-imap can never finish before sign-in
// and checks that the connection ends with BYE once its 30-second command deadline passes.
func TestUnfinishedCommandGetsBYE(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for go-imap's 30-second command read deadline")
	}
	h := newHarness(t)
	for _, tc := range []struct{ name, command string }{
		{"synchronizing literal over the limit", "A1 LOGIN {100000000}\r\n"},
		{"quoted string without closing quote", "A1 LOGIN \"unterminated\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			conn, r := h.dialTLS(t)
			if _, err := io.WriteString(conn, tc.command); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			conn.SetReadDeadline(start.Add(45 * time.Second))
			replies := readUntilClosed(r)
			if !strings.HasPrefix(replies, "* BYE ") {
				t.Errorf("after %q the server sent %q, want * BYE first", tc.command, replies)
			}
			if strings.Contains(replies, "SERVERBUG") {
				t.Errorf("after %q the server sent %q, want no SERVERBUG", tc.command, replies)
			}
			if elapsed := time.Since(start); elapsed > 40*time.Second {
				t.Errorf("connection closed after %v, want soon after 30 s", elapsed)
			}
		})
	}
}

// readUntilClosed returns what the server writes until it closes the connection or the
// read deadline passes.
func readUntilClosed(r *bufio.Reader) string {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return b.String()
		}
	}
}

func TestLibraryLogCarriesConnID(t *testing.T) {
	h := newHarness(t)
	jane := h.person(t, "jane")
	h.deliver(t, store.OwnerPerson, jane.ID, sampleMessage("one", "x"))
	w := h.wire(t)
	w.send(t, "A1 LOGIN "+jane.Address+` "`+password+`"`)
	w.send(t, "A2 SELECT INBOX")
	// RFC 3501 section 9: a sequence number is nz-number, so 0 is a syntax error.
	if out := w.send(t, "A3 FETCH 0 (FLAGS)"); !strings.Contains(out, "A3 BAD ") {
		t.Errorf("FETCH 0 got %q, want A3 BAD", out)
	}
	if out := w.send(t, "A4 SEARCH NOSUCHKEY"); !strings.Contains(out, "A4 BAD ") {
		t.Errorf("SEARCH with an unknown key got %q, want A4 BAD", out)
	}
	// A line without a tag makes go-imap drop the connection and log why, which gives a
	// library log line to check.
	io.WriteString(w.w, "(((\r\n")
	w.readFor(t, 5*time.Second)
	recs := h.logs.records(t, "IMAP library")
	if len(recs) == 0 {
		t.Fatal("no log line from the IMAP library after a line without a tag")
	}
	for _, rec := range recs {
		if id, _ := rec["conn_id"].(string); !strings.HasPrefix(id, "imap-") {
			t.Errorf("library log line lacks conn_id: %v", rec)
		}
		if ip, _ := rec["remote_ip"].(string); ip != "127.0.0.1" {
			t.Errorf("library log line has remote_ip %q, want 127.0.0.1: %v", ip, rec)
		}
	}
}
